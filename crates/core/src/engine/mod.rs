//! The refresh engine: keeps every connection alive and says how each one stands.
//!
//! - One access token per connection and audience (Graph, or Outlook for IMAP/POP/SMTP), in
//!   memory and in the keychain (so the CLI, a new process per `mailconn token`, and the app
//!   share it); refresh tokens in the keychain. A refresh names one resource's scopes.
//! - One refresh per connection at a time, in this process and across processes, whatever the
//!   audience: one rotation of the refresh token at a time (`flight.rs`).
//! - How a refresh works, and how a rotated refresh token is kept safe (`refresh.rs`).
//! - Failures are sorted ([`classify`]): transient ones are retried with exponential backoff and
//!   jitter, honouring `Retry-After`; permanent ones stop and set the state that says who must act.
//! - Application-access mailboxes have no refresh token; they are checked through Graph instead
//!   (`application.rs`).
//! - "Verify" proves a connection end to end with a Graph call (`verify.rs`).
//! - "Refresh all" and the scheduler's due refreshes run as one pipeline: bounded concurrency,
//!   secrets read and written many at a time, rows written in one transaction per batch, the
//!   same locks (`bulk.rs`).
//! - The scheduler sleeps until the earliest `next_refresh_at` (or until woken): a refresh before
//!   the access token expires for connections in use, a keep-alive for idle delegated ones
//!   (`scheduler.rs`; the times themselves come from [`schedule`]).
//! - The user hears about a problem once, and when it is gone (`notice.rs`).
//!
//! This file holds the [`Engine`] type, what it reports, and its wiring.

mod application;
mod bulk;
pub mod classify;
mod credentials;
mod flight;
mod lock;
mod notice;
mod refresh;
pub mod request;
pub mod schedule;
mod scheduler;
mod stored;
mod verify;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Notify, broadcast};
use ts_rs::TS;

use crate::Sensitive;
use crate::application::AppTokenCache;
use crate::clock::Clock;
use crate::connection::Connection;
use crate::error::Result;
use crate::keychain::Keychain;
use crate::resource::{Audience, Resource};
use crate::settings::{SettingKey, Settings};
use crate::store::Store;
pub use notice::{Notice, notice_for};
pub use schedule::Config;

fn seconds(secs: u64) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
}

/// An access token handed out, with the connection it belongs to.
#[derive(Debug)]
pub struct AccessToken {
    pub token: Sensitive<String>,
    pub expires_at: DateTime<Utc>,
    /// What it was asked for; its audience is `resource.audience()`.
    pub resource: Resource,
    /// The scopes Microsoft listed for it (its audience's, and the `OpenID` ones).
    pub scopes: Vec<String>,
    pub connection: Connection,
}

/// What the engine reports as it works.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// A connection's state or schedule changed.
    Changed(Box<Connection>),
    /// A new problem to tell the user about (never repeated while it stays the same).
    Notice(Notice),
    /// A problem the user was told about is gone.
    Resolved(String),
    /// The saved settings changed (here or in another process) and the engine applied its own.
    SettingsChanged(Box<Settings>),
}

/// What a refresh call ended with.
#[derive(Debug, Clone, Serialize, TS)]
pub struct RefreshReport {
    pub connection: Connection,
    /// Whether this call made the token request (false: shared one that had just finished).
    pub requested: bool,
    /// Whether Microsoft sent a new refresh token (stored).
    pub rotated: bool,
    pub error: Option<crate::ErrorBody>,
}

/// An access token this process holds (or read from the keychain).
#[derive(Debug, Clone)]
struct Cached {
    token: Sensitive<String>,
    expires_at: DateTime<Utc>,
    obtained_at: DateTime<Utc>,
    /// The `scope` of the request that got it: a token asked for with other scopes (the
    /// connection signed in again with another preset) is not handed out.
    requested: Vec<String>,
    /// What Microsoft listed as granted.
    granted: Vec<String>,
}

#[derive(Debug)]
pub struct Engine {
    store: Arc<Store>,
    secrets: Arc<dyn Keychain>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// The data directory's lock folder (one lock file per connection while it refreshes).
    locks: PathBuf,
    /// What it was built with; a setting nobody chose leaves its value as it is here.
    base: Config,
    /// `base` with the chosen settings (refresh margin, keep-alive) over it.
    config: RwLock<Config>,
    /// The saved settings last applied, to notice a change another process made.
    seen_settings: Mutex<Option<Vec<(String, String)>>>,
    /// One async mutex per connection: the in-process half of single flight.
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    cache: Mutex<HashMap<(String, Audience), Cached>>,
    wake: Notify,
    events: broadcast::Sender<EngineEvent>,
    token_requests: AtomicU64,
    /// Application access: the app-only token per registration (shared with the shell's
    /// "add mailboxes"), used to check application-access mailboxes.
    app_tokens: Arc<AppTokenCache>,
}

impl Engine {
    pub fn new(
        store: Arc<Store>,
        secrets: Arc<dyn Keychain>,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        locks: PathBuf,
        config: Config,
    ) -> Self {
        Self {
            store,
            secrets,
            http,
            clock,
            locks,
            base: config,
            config: RwLock::new(config),
            seen_settings: Mutex::new(None),
            flights: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            events: broadcast::channel(1024).0,
            token_requests: AtomicU64::new(0),
            app_tokens: Arc::new(AppTokenCache::new()),
        }
    }

    /// Shares the shell's app-only token cache, so a mailbox check and "add mailboxes" use one
    /// token per registration.
    #[must_use]
    pub fn with_app_tokens(mut self, app_tokens: Arc<AppTokenCache>) -> Self {
        self.app_tokens = app_tokens;
        self
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// The configuration in effect now (settings change it while the engine runs).
    pub fn config(&self) -> Config {
        *self.config.read().expect("config poisoned")
    }

    /// Puts the chosen refresh margin and keep-alive over the built-in configuration; true when
    /// the schedule must be computed again.
    pub fn apply_settings(&self, settings: &Settings) -> bool {
        let mut next = self.base;
        if let Some(secs) = settings.chosen_seconds(SettingKey::RefreshMargin) {
            next.margin = seconds(secs);
            next.jitter = self.base.jitter.min(next.margin / 4);
        }
        if let Some(secs) = settings.chosen_seconds(SettingKey::KeepAlive) {
            next.keep_alive = seconds(secs);
        }
        let mut config = self.config.write().expect("config poisoned");
        let changed = config.margin != next.margin || config.keep_alive != next.keep_alive;
        *config = next;
        changed
    }

    /// Applies the saved settings when the engine is made (no schedule is computed again: the
    /// one stored was computed with them, by whoever saved them).
    pub fn init_settings(&self) -> Result<()> {
        let saved = self.store.saved_settings()?;
        self.apply_settings(&Settings::with_process_env(&saved));
        *self.seen_settings.lock().expect("settings poisoned") = Some(saved);
        Ok(())
    }

    /// Reads the saved settings; when they changed since last time, applies them, computes the
    /// schedule again if the times changed, and tells listeners. The scheduler calls it every
    /// pass, so a change made by the CLI applies within a minute.
    pub fn follow_settings(&self) -> Result<()> {
        let saved = self.store.saved_settings()?;
        {
            let mut seen = self.seen_settings.lock().expect("settings poisoned");
            if seen.as_ref() == Some(&saved) {
                return Ok(());
            }
            *seen = Some(saved.clone());
        }
        let settings = Settings::with_process_env(&saved);
        if self.apply_settings(&settings) {
            let config = self.config();
            tracing::info!(
                margin_secs = config.margin.num_seconds(),
                keep_alive_secs = config.keep_alive.num_seconds(),
                "refresh settings changed; computing the schedule again"
            );
            self.reschedule_all()?;
        }
        let _ = self
            .events
            .send(EngineEvent::SettingsChanged(Box::new(settings)));
        Ok(())
    }

    /// Token requests this engine has made (diagnostics and tests).
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// Makes the scheduler look at the schedule again (a connection was added or changed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Records a new sign-in (or a connection made elsewhere) with the engine: schedule, wake.
    pub fn connected(&self, id: &str) -> Result<()> {
        self.reschedule(id)?;
        self.after_change(id);
        Ok(())
    }

    /// Forgets a disconnected connection's access tokens.
    pub fn forget(&self, id: &str) {
        self.forget_tokens(id);
        self.flights.lock().expect("flights poisoned").remove(id);
    }

    /// Drops a connection's access tokens of every audience, here and in the keychain.
    fn forget_tokens(&self, id: &str) {
        self.cache
            .lock()
            .expect("cache poisoned")
            .retain(|(cid, _), _| cid != id);
        self.unstore_tokens(id);
    }

    /// Keeps an access token for later callers.
    fn remember(&self, id: &str, audience: Audience, cached: Cached) {
        self.cache
            .lock()
            .expect("cache poisoned")
            .insert((id.to_owned(), audience), cached);
    }

    /// The expiry of the access token of a connection's primary audience (the one the
    /// scheduler refreshes): the one this process holds, else the row's (another process, such
    /// as `mailconn token`, may have refreshed it).
    fn cached_expiry(&self, conn: &Connection) -> Option<DateTime<Utc>> {
        let audience = Audience::primary(&conn.scopes_requested);
        let cache = self.cache.lock().expect("cache poisoned");
        cache
            .get(&(conn.id.clone(), audience))
            .map(|c| c.expires_at)
            .or(conn.access_expires_at)
    }
}
