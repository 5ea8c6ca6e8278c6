//! The one entry point both shells call: [`Service`] owns the store, the keychain, the HTTP
//! client, the clock, the refresh engine, the app-only token cache, the secret-reminder
//! scheduler and the registries of running sign-ins and mailbox runs, with one method per use
//! case. The desktop commands and the CLI only translate input and output.
//!
//! One file per domain: [`registrations`] (add, edit, remove, probe, consent link, export),
//! [`sign_in`] (browser and device code: start, finish, cancel), [`connections`] (list,
//! disconnect, history, refresh, verify), [`mailboxes`] (application access), [`client_secrets`]
//! (reminders, end dates, rotation), [`system`] (health and the status bar), [`tokens`] (access
//! tokens and SASL responses for programs, their switch, aliases), [`settings`] (the app's
//! settings, applied without a restart; its folders), [`transfer`] (registrations exported and
//! imported without secrets, `mailconn://import` links). The background work
//! of the desktop app (scheduler, reminders, their events) is [`Service::run`].

mod attempts;
pub mod azure_cli;
pub mod bridge;
pub mod client_secrets;
pub mod connections;
pub mod create_app;
pub mod mail_programs;
pub mod mailboxes;
pub mod registrations;
pub mod settings;
pub mod sign_in;
pub mod storage;
pub mod system;
pub mod tokens;
pub mod transfer;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::application::AppTokenCache;
use crate::client_secret::reminders::{Reminder, Thresholds};
use crate::client_secret::watch::{ReminderEvent, ReminderWatch};
use crate::clock::{Clock, SystemClock};
use crate::connection::{Connection, StateKind};
use crate::engine::{Config, Engine, EngineEvent, Notice};
use crate::error::{Error, Result};
use crate::flow::deep_link::DeepLinks;
use crate::keychain::{Keychain, SealedKeychain};
use crate::paths::DataDir;
use crate::settings::NotificationKind;
use crate::store::Store;

/// What a page watching connections hears.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionEvent {
    /// A connection's state, schedule or tokens changed.
    Changed { connection: Box<Connection> },
    /// A new problem (also shown as a desktop notification).
    Notice { notice: Notice },
}

/// What the background work reports to the desktop shell.
#[derive(Debug, Clone)]
pub enum ServiceEvent {
    /// For pages watching connections.
    Connection(ConnectionEvent),
    /// The client-secret reminders as they stand now (banner, badges).
    Reminders(Vec<Reminder>),
    /// A desktop notification (each problem and each reminder stage once), of a kind whose
    /// setting is on.
    Notify {
        kind: NotificationKind,
        title: String,
        body: String,
    },
    /// A `mailconn://import` link arrived: the interface shows it and asks.
    ImportOffer(Box<transfer::ImportOffer>),
    /// The tray's attention state may have changed.
    Attention,
}

/// Where a `mailconn://` link went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeepLinkRoute {
    /// A sign-in redirect, handed to its sign-in.
    SignIn,
    /// An import link, shown to the person to confirm.
    Import,
}

/// What needs someone to act: the tray's icon and tooltip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attention {
    pub connections: u32,
    pub secrets: usize,
}

/// The whole application over one data directory.
#[derive(Debug)]
pub struct Service {
    data_dir: DataDir,
    store: Arc<Store>,
    /// Every secret goes through it: tokens where the storage mode says, the rest to the OS
    /// keychain.
    keychain: Arc<dyn Keychain>,
    sealed: Arc<SealedKeychain>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    engine: Arc<Engine>,
    app_tokens: Arc<AppTokenCache>,
    reminders: Arc<ReminderWatch>,
    /// Set in the desktop app, which receives `mailconn://auth` from the OS; the CLI has none.
    deep_links: Option<Arc<DeepLinks>>,
    sign_ins: sign_in::SignIns,
    admin_sign_ins: create_app::AdminSignIns,
    runs: mailboxes::Runs,
    bridge: crate::bridge::Bridge,
    events: broadcast::Sender<ServiceEvent>,
    /// Secrets needing attention, as last computed by the reminder scheduler.
    secrets_due: AtomicUsize,
    pending_import: transfer::PendingImport,
    shutdown: CancellationToken,
}

/// How a [`Service`] is put together; the defaults suit real use, tests change the clock.
#[derive(Debug)]
pub struct Options {
    pub clock: Arc<dyn Clock>,
    pub engine: Config,
    pub thresholds: Thresholds,
    pub deep_links: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            engine: Config::from_env(),
            thresholds: Thresholds::from_env(),
            deep_links: false,
        }
    }
}

impl Service {
    /// Opens the database of `data_dir` (migrating it) and wires everything with real parts.
    pub fn open(data_dir: DataDir, keychain: Arc<dyn Keychain>) -> Result<Self> {
        Self::with_options(data_dir, keychain, Options::default())
    }

    pub fn with_options(
        data_dir: DataDir,
        keychain: Arc<dyn Keychain>,
        options: Options,
    ) -> Result<Self> {
        let store = Arc::new(Store::open(&data_dir.database())?);
        let sealed = Arc::new(SealedKeychain::new(
            keychain,
            store.clone(),
            &data_dir.locks(),
        ));
        let keychain: Arc<dyn Keychain> = sealed.clone();
        let http = crate::http::client();
        let app_tokens = Arc::new(AppTokenCache::new());
        let engine = Arc::new(
            Engine::new(
                store.clone(),
                keychain.clone(),
                http.clone(),
                options.clock.clone(),
                data_dir.locks(),
                options.engine,
            )
            .with_app_tokens(app_tokens.clone()),
        );
        // The saved refresh margin and keep-alive apply from the start (`mailconn token` too).
        engine.init_settings()?;
        let reminders = Arc::new(ReminderWatch::new(
            store.clone(),
            options.clock.clone(),
            options.thresholds,
        ));
        Ok(Self {
            data_dir,
            store,
            keychain,
            sealed,
            http,
            clock: options.clock,
            engine,
            app_tokens,
            reminders,
            deep_links: options.deep_links.then(|| Arc::new(DeepLinks::new())),
            sign_ins: sign_in::SignIns::default(),
            admin_sign_ins: create_app::AdminSignIns::default(),
            runs: mailboxes::Runs::default(),
            bridge: crate::bridge::Bridge::default(),
            events: broadcast::channel(1024).0,
            secrets_due: AtomicUsize::new(0),
            pending_import: transfer::PendingImport::default(),
            shutdown: CancellationToken::new(),
        })
    }

    pub fn data_dir(&self) -> &DataDir {
        &self.data_dir
    }

    /// The refresh engine (tests and diagnostics; the shells use the use-case methods).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Every secret this service reads and writes, through the storage mode (tests and
    /// diagnostics; the shells use the use-case methods).
    pub fn secrets(&self) -> &Arc<dyn Keychain> {
        &self.keychain
    }

    /// Hands a `mailconn://` link from the OS to where it belongs: `mailconn://auth` to the
    /// sign-in waiting for it, `mailconn://import` to the interface as an [`transfer::ImportOffer`]
    /// (nothing saved until the person confirms). Untrusted input: core validates it.
    pub fn deliver_deep_link(&self, url: &str) -> Result<DeepLinkRoute> {
        let Some(links) = &self.deep_links else {
            return Err(Error::invalid(
                "url",
                "This program does not take mailconn:// links.",
            ));
        };
        if crate::flow::deep_link::is_import(url) {
            self.offer_import(url);
            return Ok(DeepLinkRoute::Import);
        }
        links.deliver(url).map(|()| DeepLinkRoute::SignIn)
    }

    /// Events of the background work ([`Service::run`]).
    pub fn subscribe(&self) -> broadcast::Receiver<ServiceEvent> {
        self.events.subscribe()
    }

    /// How many connections and client secrets need someone to act.
    pub fn attention(&self) -> Attention {
        Attention {
            connections: self.store.count_needing_attention().unwrap_or(0),
            secrets: self.secrets_due.load(Ordering::Relaxed),
        }
    }

    /// Stops the background work.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// The desktop app's background work until [`Service::shutdown`]: the refresh scheduler, the
    /// reminder scheduler, and their reports turned into [`ServiceEvent`]s.
    pub async fn run(self: Arc<Self>) {
        // Subscribed before either scheduler starts: the first pass reports at once.
        let engine_events = self.engine.subscribe();
        let reminder_events = self.reminders.subscribe();
        // A switch of the token storage that was interrupted is finished first.
        self.finish_storage_switch().await;
        let engine = self.engine.clone().run(self.shutdown.clone());
        let reminders = self.reminders.clone().run(self.shutdown.clone());
        tokio::join!(
            engine,
            reminders,
            self.forward_engine(engine_events),
            self.forward_reminders(reminder_events)
        );
    }

    async fn forward_engine(&self, mut events: broadcast::Receiver<EngineEvent>) {
        loop {
            let event = tokio::select! {
                e = events.recv() => e,
                () = self.shutdown.cancelled() => return,
            };
            match event {
                Ok(EngineEvent::Changed(connection)) => {
                    self.emit(ServiceEvent::Connection(ConnectionEvent::Changed {
                        connection,
                    }));
                }
                Ok(EngineEvent::Notice(notice)) => {
                    if notice.state == StateKind::SecretExpired {
                        // The registration is now listed as "secret refused" in the reminders.
                        self.reminders.wake();
                    }
                    tracing::info!(connection = %notice.connection_id, state = ?notice.state, "notifying");
                    self.emit(ServiceEvent::Notify {
                        kind: NotificationKind::Connections,
                        title: notice.title.clone(),
                        body: notice.body.clone(),
                    });
                    self.emit(ServiceEvent::Connection(ConnectionEvent::Notice { notice }));
                }
                Ok(EngineEvent::Resolved(id)) => {
                    tracing::info!(connection = %id, "problem resolved");
                }
                Ok(EngineEvent::SettingsChanged(settings)) => {
                    // Changed by another process (the CLI): the reminders and the log follow.
                    self.reminders.wake();
                    settings::apply_log_filter(&settings);
                    continue;
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(missed = n, "connection events lagged");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
            self.emit(ServiceEvent::Attention);
        }
    }

    async fn forward_reminders(&self, mut events: broadcast::Receiver<ReminderEvent>) {
        loop {
            let event = tokio::select! {
                e = events.recv() => e,
                () = self.shutdown.cancelled() => return,
            };
            match event {
                Ok(ReminderEvent::Changed(list)) => self.reminders_are(list),
                Ok(ReminderEvent::Notice(n)) => {
                    tracing::info!(registration = %n.registration_id, threshold = n.threshold, "notifying");
                    self.emit(ServiceEvent::Notify {
                        kind: NotificationKind::Secrets,
                        title: n.title,
                        body: n.body,
                    });
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    fn reminders_are(&self, list: Vec<Reminder>) {
        self.secrets_due.store(list.len(), Ordering::Relaxed);
        self.emit(ServiceEvent::Reminders(list));
        self.emit(ServiceEvent::Attention);
    }

    fn emit(&self, event: ServiceEvent) {
        if let ServiceEvent::Notify { kind, .. } = &event
            && !self.notifies(*kind)
        {
            tracing::info!(?kind, "notification not shown: turned off in the settings");
            return;
        }
        // Nobody listening (the CLI, or no page open) is fine.
        let _ = self.events.send(event);
    }

    /// Runs blocking work (`SQLite`, the keychain) off the async runtime's threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store, &dyn Keychain) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (store, keychain) = (self.store.clone(), self.keychain.clone());
        tokio::task::spawn_blocking(move || f(&store, keychain.as_ref()))
            .await
            .map_err(|e| Error::internal(format!("a background task failed: {e}")))?
    }
}
