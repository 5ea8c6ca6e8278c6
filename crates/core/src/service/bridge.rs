//! The mail bridge as a use case: its settings, the local passwords (add, list, remove), start
//! and stop, its status for the Bridge page, the settings to type into a program, and keeping
//! the connections it serves refreshed while it runs (whether or not a program connects).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use ts_rs::TS;

use super::{Service, ServiceEvent};
use crate::bridge::gate::{Gate, Notifier};
use crate::bridge::passwords::{self, BridgePassword, NewBridgePassword};
use crate::bridge::settings::{BridgeSettings, ListenerSecurity};
use crate::bridge::tls::{self, Certificate};
use crate::bridge::{BridgeStatus, ListenerState};
use crate::connection::{Connection, ConnectionKind};
use crate::error::{Error, ErrorCode, Result};
use crate::mail_servers::MailProtocol;
use crate::resource::Resource;
use crate::settings::NotificationKind;

/// Ports given for one run (`mailconn bridge --imap-port P ...`), over the saved settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct PortOverrides {
    pub imap: Option<u16>,
    pub imaps: Option<u16>,
    pub pop: Option<u16>,
    pub pops: Option<u16>,
    pub smtp: Option<u16>,
    pub smtps: Option<u16>,
}

impl PortOverrides {
    /// Sets the given ports in `s`.
    pub fn apply(self, s: &mut BridgeSettings) {
        let set = |port: &mut u16, given: Option<u16>| {
            if let Some(p) = given {
                *port = p;
            }
        };
        set(&mut s.imap.starttls, self.imap);
        set(&mut s.imap.tls, self.imaps);
        set(&mut s.pop.starttls, self.pop);
        set(&mut s.pop.tls, self.pops);
        set(&mut s.smtp.starttls, self.smtp);
        set(&mut s.smtp.tls, self.smtps);
    }
}

/// What to type into a program or device for one protocol and listener.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ProgramSetting {
    pub protocol: MailProtocol,
    pub server: String,
    pub port: u16,
    pub security: ListenerSecurity,
    /// The security's name as mail programs show it (`STARTTLS`, `SSL/TLS`).
    pub security_label: String,
    pub user: String,
}

/// How often the served connections are marked in use (well inside the engine's one hour).
const KEEP_EVERY: Duration = Duration::from_secs(10 * 60);
/// Test override, seconds.
pub const ENV_KEEP_EVERY: &str = "MAILCONN_BRIDGE_KEEP_SECS";

/// How often logged-in sessions are checked against the passwords in the database (one removed by
/// another process, e.g. `mailconn bridge password remove` while the app runs the bridge); not
/// at all while no session is logged in.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// While the bridge runs: the connections it serves are marked in use (so the engine refreshes
/// their tokens ahead of expiry, whether or not a program connects), and logged-in sessions whose
/// password was removed elsewhere are ended.
async fn upkeep(
    store: Arc<crate::store::Store>,
    engine: Arc<crate::engine::Engine>,
    clock: Arc<dyn crate::clock::Clock>,
    sessions: Arc<crate::bridge::Sessions>,
    stop: tokio_util::sync::CancellationToken,
) {
    let every = std::env::var(ENV_KEEP_EVERY)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(KEEP_EVERY, Duration::from_secs);
    let mut kept: Option<std::time::Instant> = None;
    let mut changes = sessions.watch();
    loop {
        if kept.is_none_or(|at| at.elapsed() >= every) {
            kept = Some(std::time::Instant::now());
            for id in store.bridge_connections().unwrap_or_default() {
                let _ = store.record_used(&id, clock.now());
                let _ = engine.reschedule(&id);
            }
        }
        let logged_in = sessions.password_ids();
        for id in &logged_in {
            if matches!(store.bridge_password(id), Ok(None)) {
                sessions.end_for(id);
            }
        }
        // The sweep is for logged-in sessions only: with none, nothing wakes until the next
        // marking or a change of sessions (a login among them).
        let next_keep = every.saturating_sub(kept.map_or(Duration::ZERO, |at| at.elapsed()));
        let wait = if logged_in.is_empty() {
            next_keep
        } else {
            SWEEP_EVERY.min(next_keep)
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            seen = changes.changed(), if logged_in.is_empty() => {
                if seen.is_err() {
                    return;
                }
            }
            () = stop.cancelled() => return,
        }
    }
}

fn protocols_of(conn: &Connection) -> Vec<MailProtocol> {
    let consented = [&conn.scopes_requested[..], &conn.scopes_granted[..]].concat();
    [
        (MailProtocol::Imap, Resource::Imap),
        (MailProtocol::Pop, Resource::Pop),
        (MailProtocol::Smtp, Resource::Smtp),
    ]
    .into_iter()
    .filter(|(_, r)| r.allowed_by(&consented))
    .map(|(p, _)| p)
    .collect()
}

fn not_servable(conn: &Connection) -> Option<Error> {
    if conn.kind == ConnectionKind::Application {
        return Some(
            Error::invalid(
                "connection",
                format!(
                    "{} is reached through application access: the bridge needs a mailbox someone signed in to.",
                    conn.address
                ),
            )
            .with_fix("Connect the mailbox by signing in with the \"Mail programs\" permissions."),
        );
    }
    protocols_of(conn).is_empty().then(|| {
        Error::invalid(
            "connection",
            format!(
                "{} was not given IMAP, POP or SMTP permissions, so the bridge could not log in for it.",
                conn.address
            ),
        )
        .with_fix(format!(
            "Sign in again with the \"Mail programs\" permissions: `mailconn reconnect {} --preset mail-programs`.",
            conn.alias.as_deref().unwrap_or(&conn.address)
        ))
    })
}

impl Service {
    /// The saved settings (the defaults until changed).
    pub async fn bridge_settings(&self) -> Result<BridgeSettings> {
        self.blocking(|store, _| {
            Ok(store
                .bridge_settings_json()?
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default())
        })
        .await
    }

    /// Checks and saves the settings; a running bridge restarts on them.
    pub async fn set_bridge_settings(&self, settings: BridgeSettings) -> Result<BridgeStatus> {
        settings.validate()?;
        let json = serde_json::to_string(&settings)
            .map_err(|e| Error::internal(format!("settings: {e}")))?;
        self.blocking(move |store, _| store.save_bridge_settings_json(&json))
            .await?;
        if self.bridge.is_running() {
            self.bridge.stop();
            return self.start_bridge(PortOverrides::default()).await;
        }
        self.bridge_status().await
    }

    /// A new local password for a program or device on a connection (id, address or alias).
    pub async fn add_bridge_password(
        &self,
        selector: &str,
        program: &str,
    ) -> Result<NewBridgePassword> {
        let program = passwords::check_program(program)?;
        let conn = self.connection(selector).await?;
        if let Some(e) = not_servable(&conn) {
            return Err(e);
        }
        let password = passwords::generate();
        let hash = passwords::hash(&password)?;
        let id = password.expose()[..passwords::KEY_LEN].to_owned();
        let now = self.clock.now();
        let (conn_id, name) = (conn.id.clone(), program.clone());
        let entry = self
            .blocking(move |store, _| {
                store.add_bridge_password(&id, &conn_id, &name, &hash, now)?;
                store.add_event(
                    &conn_id,
                    now,
                    "bridge_password_added",
                    &format!("A bridge password was made for {name}"),
                    None,
                )?;
                store
                    .bridge_password(&id)?
                    .map(|(row, _)| row)
                    .ok_or_else(|| Error::internal("the new password's row is gone"))
            })
            .await?;
        self.bridge.sessions.changed();
        Ok(NewBridgePassword { entry, password })
    }

    /// Every local password (of one connection when given).
    pub async fn bridge_passwords(&self, selector: Option<&str>) -> Result<Vec<BridgePassword>> {
        let id = match selector {
            Some(s) => Some(self.connection(s).await?.id),
            None => None,
        };
        self.blocking(move |store, _| store.bridge_passwords(id.as_deref()))
            .await
    }

    /// Removes a local password, by its id, or by connection and program name; the sessions
    /// logged in with it end at once.
    pub async fn remove_bridge_password(
        &self,
        selector: &str,
        program: Option<&str>,
    ) -> Result<BridgePassword> {
        let found = match program {
            None => {
                self.blocking({
                    let id = selector.to_owned();
                    move |store, _| Ok(store.bridge_password(&id)?.map(|(row, _)| row))
                })
                .await?
            }
            Some(p) => self
                .bridge_passwords(Some(selector))
                .await?
                .into_iter()
                .find(|row| row.program.eq_ignore_ascii_case(p.trim())),
        };
        let Some(row) = found else {
            return Err(Error::new(
                ErrorCode::NotFound,
                format!(
                    "There is no bridge password {}.",
                    match program {
                        Some(p) => format!("for \"{p}\" on {selector}"),
                        None => format!("with the id {selector}"),
                    }
                ),
            )
            .with_fix("List them with `mailconn bridge password list`."));
        };
        let now = self.clock.now();
        let removed = row.clone();
        self.blocking(move |store, _| {
            store.remove_bridge_password(&removed.id)?;
            store.add_event(
                &removed.connection_id,
                now,
                "bridge_password_removed",
                &format!("The bridge password of {} was removed", removed.program),
                None,
            )
        })
        .await?;
        self.bridge.sessions.end_for(&row.id);
        self.bridge.sessions.changed();
        Ok(row)
    }

    /// The bridge's certificate (made now if it was never made).
    pub async fn bridge_certificate(&self) -> Result<Certificate> {
        let settings = self.bridge_settings().await?;
        let network = settings.network_address();
        self.blocking(move |store, keychain| tls::load(store, keychain, network).map(|(_, c)| c))
            .await
    }

    /// Starts the listeners (the saved settings, with `ports` over them) and the upkeep of the
    /// connections served; already running: its status.
    pub async fn start_bridge(&self, ports: PortOverrides) -> Result<BridgeStatus> {
        if self.bridge.is_running() {
            return self.bridge_status().await;
        }
        let mut settings = self.bridge_settings().await?;
        ports.apply(&mut settings);
        settings.validate()?;
        let network = settings.network_address();
        let (config, _) = self
            .blocking(move |store, keychain| tls::load(store, keychain, network))
            .await?;
        let (events, store) = (self.events.clone(), self.store.clone());
        let notify: Notifier = Arc::new(move |title, body| {
            if super::settings::notifies(&store, NotificationKind::Bridge) {
                let _ = events.send(ServiceEvent::Notify {
                    kind: NotificationKind::Bridge,
                    title,
                    body,
                });
            }
        });
        let gate = Arc::new(Gate::new(
            self.store.clone(),
            self.engine.clone(),
            self.clock.clone(),
            settings,
            self.bridge.penalty.clone(),
            self.bridge.sessions.clone(),
            notify,
        ));
        self.bridge.start(gate, config).await;
        if let Some(stop) = self.bridge.stopped() {
            tokio::spawn(upkeep(
                self.store.clone(),
                self.engine.clone(),
                self.clock.clone(),
                self.bridge.sessions.clone(),
                stop,
            ));
        }
        self.bridge.sessions.changed();
        self.bridge_status().await
    }

    /// Stops the listeners and ends every session.
    pub async fn stop_bridge(&self) -> Result<BridgeStatus> {
        self.bridge.stop();
        self.bridge.sessions.changed();
        self.bridge_status().await
    }

    /// Everything the Bridge page shows.
    pub async fn bridge_status(&self) -> Result<BridgeStatus> {
        let settings = self.bridge_settings().await?;
        let passwords = self.bridge_passwords(None).await?;
        let certificate_fingerprint = self
            .blocking(|store, _| tls::stored_fingerprint(store))
            .await?;
        let mut warnings = Vec::new();
        if let Some(net) = &settings.network {
            warnings.push(format!(
                "Devices on the office network may connect to {} from {}. They must use TLS, and each needs its own password.",
                net.address,
                net.allow.join(", ")
            ));
        }
        let listeners = self.bridge.listeners();
        for l in &listeners {
            if let ListenerState::Failed { message } = &l.state {
                warnings.push(message.clone());
            }
        }
        Ok(BridgeStatus {
            running: self.bridge.is_running(),
            settings,
            listeners,
            sessions: self.bridge.sessions.list(),
            passwords,
            certificate_fingerprint,
            warnings,
        })
    }

    /// Notified on every change of the bridge (sessions, passwords, start and stop).
    pub fn bridge_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.bridge.sessions.watch()
    }

    /// What to type into a program for one password: server, port, security and user name
    /// per protocol the connection may use, on loopback and (when on) the network address.
    pub async fn bridge_program_settings(&self, password_id: &str) -> Result<Vec<ProgramSetting>> {
        let id = password_id.to_owned();
        let row = self
            .blocking(move |store, _| Ok(store.bridge_password(&id)?.map(|(r, _)| r)))
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::NotFound,
                    format!("There is no bridge password {password_id}."),
                )
            })?;
        let conn = self.connection(&row.connection_id).await?;
        let settings = self.bridge_settings().await?;
        let mut hosts = vec!["127.0.0.1".to_owned()];
        if let Some(net) = &settings.network {
            hosts.push(net.address.clone());
        }
        let mut out = Vec::new();
        for protocol in protocols_of(&conn) {
            let ports = settings.ports(protocol);
            for host in &hosts {
                for (security, port) in [
                    (ListenerSecurity::Tls, ports.tls),
                    (ListenerSecurity::StartTls, ports.starttls),
                ] {
                    if port != 0 {
                        out.push(ProgramSetting {
                            protocol,
                            server: host.clone(),
                            port,
                            security,
                            security_label: security.label().into(),
                            user: row.address.clone(),
                        });
                    }
                }
            }
        }
        Ok(out)
    }
}

impl Service {
    /// The refresh engine's schedule until [`Service::shutdown`], for `mailconn bridge` (the
    /// desktop app runs it in [`Service::run`]): the served connections stay refreshed.
    pub async fn run_engine(&self) {
        self.engine.clone().run(self.shutdown.clone()).await;
    }
}
