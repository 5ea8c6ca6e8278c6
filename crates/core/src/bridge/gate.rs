//! The gate every local login goes through: the password is checked against its hash (a wrong
//! one is answered after the growing delay and never reaches the real server), the program's
//! session limit is applied, the use is recorded, and an access token for the protocol's
//! resource comes from the refresh engine (refreshed first when it is near expiry). When no
//! token can be had, the client gets a temporary failure, the connection's history says why and
//! the desktop shows a notification (once an hour per connection).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::limits::Penalty;
use super::passwords::{self, BridgePassword};
use super::sessions::Sessions;
use super::settings::BridgeSettings;
use crate::Sensitive;
use crate::clock::Clock;
use crate::engine::Engine;
use crate::error::Error;
use crate::flow::identity::AccountType;
use crate::mail_servers::{MailProtocol, MailServer};
use crate::resource::Resource;
use crate::store::Store;

/// Shows a desktop notification (title, body).
pub type Notifier = Arc<dyn Fn(String, String) + Send + Sync>;

/// Why a local login was refused.
#[derive(Debug)]
pub enum Refusal {
    /// Unknown user, wrong or removed password (the same answer for each).
    Credentials,
    /// The program has its limit of sessions open.
    TooMany { limit: u32 },
    /// The password is right but the real server cannot be reached with a token now.
    Unavailable { reason: String },
}

/// A login the gate let through: what the upstream login needs.
#[derive(Debug)]
pub struct Granted {
    pub password: BridgePassword,
    pub server: MailServer,
    pub token: Sensitive<String>,
}

const NOTIFY_EVERY: Duration = Duration::from_secs(3600);

/// Everything a session asks of the app.
pub struct Gate {
    store: Arc<Store>,
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    pub settings: BridgeSettings,
    pub penalty: Arc<Penalty>,
    pub sessions: Arc<Sessions>,
    pub upstream_tls: Arc<rustls::ClientConfig>,
    notify: Notifier,
    notified: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn resource_of(protocol: MailProtocol) -> Resource {
    match protocol {
        MailProtocol::Imap => Resource::Imap,
        MailProtocol::Pop => Resource::Pop,
        MailProtocol::Smtp => Resource::Smtp,
    }
}

fn said(e: &Error) -> String {
    match e.detail().and_then(|d| d.fix.as_ref()) {
        Some(fix) => format!("{} {fix}", e.message()),
        None => e.message().to_owned(),
    }
}

impl Gate {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<Store>,
        engine: Arc<Engine>,
        clock: Arc<dyn Clock>,
        settings: BridgeSettings,
        penalty: Arc<Penalty>,
        sessions: Arc<Sessions>,
        notify: Notifier,
    ) -> Self {
        Self {
            store,
            engine,
            clock,
            settings,
            penalty,
            sessions,
            upstream_tls: crate::mail::conn::tls_config(),
            notify,
            notified: Mutex::default(),
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The password row when `user` and `password` match one.
    async fn matching(&self, user: &str, password: &str) -> Option<BridgePassword> {
        let key = passwords::key_of(password)?.to_owned();
        let (store, user, password) = (
            self.store.clone(),
            user.to_owned(),
            Sensitive::new(password.to_owned()),
        );
        tokio::task::spawn_blocking(move || {
            let (row, hash) = store.bridge_password(&key).ok()??;
            (row.address.eq_ignore_ascii_case(user.trim())
                && passwords::verify(password.expose(), &hash))
            .then_some(row)
        })
        .await
        .ok()?
    }

    /// Checks a local login and gets what the upstream login needs.
    pub async fn check(
        &self,
        session: u64,
        protocol: MailProtocol,
        peer: IpAddr,
        user: &str,
        password: &str,
    ) -> Result<Granted, Refusal> {
        let Some(row) = self.matching(user, password).await else {
            let wait = self.penalty.failed(peer);
            tracing::info!(%peer, ?protocol, delay_ms = wait.as_millis(), "bridge: local login refused");
            tokio::time::sleep(wait).await;
            return Err(Refusal::Credentials);
        };
        self.penalty.succeeded(peer);
        let limit = self.settings.sessions_per_program;
        if self.sessions.count_for(&row.id) >= limit as usize {
            return Err(Refusal::TooMany { limit });
        }
        self.sessions.logged_in(session, &row);
        let now = self.clock.now();
        let _ = self
            .store
            .record_bridge_use(&row.id, now, &peer.to_string());
        self.record(&row, protocol, "bridge_login", None);
        let resource = resource_of(protocol);
        let token = match self.engine.access_token(&row.connection_id, resource).await {
            Ok(t) => t,
            Err(e) => {
                let reason = said(&e);
                self.unavailable(&row, protocol, &reason);
                return Err(Refusal::Unavailable { reason });
            }
        };
        let server = self.server(&row, protocol);
        let Some(server) = server else {
            let reason = format!(
                "No {} server is known for {}: give one in its app registration.",
                protocol.label(),
                row.address
            );
            self.unavailable(&row, protocol, &reason);
            return Err(Refusal::Unavailable { reason });
        };
        Ok(Granted {
            password: row,
            server,
            token: token.token,
        })
    }

    fn server(&self, row: &BridgePassword, protocol: MailProtocol) -> Option<MailServer> {
        let conn = self.store.get_connection(&row.connection_id).ok()?;
        let reg = self.store.find_registration(&conn.registration_id).ok()?;
        reg.mail_servers(conn.account_type == AccountType::Personal)
            .get(protocol)
            .cloned()
    }

    /// The real server refused or could not be reached: history, notification.
    pub fn upstream_failed(&self, granted: &Granted, protocol: MailProtocol, reason: &str) {
        self.unavailable(&granted.password, protocol, reason);
    }

    fn unavailable(&self, row: &BridgePassword, protocol: MailProtocol, reason: &str) {
        tracing::warn!(connection = %row.connection_id, ?protocol, "bridge: no upstream session");
        self.record(row, protocol, "bridge_unavailable", Some(reason));
        let due = {
            let mut map = self.notified.lock().expect("notified lock");
            let now = Instant::now();
            let due = map
                .get(&row.connection_id)
                .is_none_or(|at| now.duration_since(*at) >= NOTIFY_EVERY);
            if due {
                map.insert(row.connection_id.clone(), now);
            }
            due
        };
        if due {
            (self.notify)(
                format!("The bridge cannot reach {}", row.address),
                format!(
                    "{} could not log in over {}: {reason}",
                    row.program,
                    protocol.label()
                ),
            );
        }
    }

    /// A history entry, folded per program, protocol, kind and hour.
    fn record(
        &self,
        row: &BridgePassword,
        protocol: MailProtocol,
        kind: &str,
        reason: Option<&str>,
    ) {
        let key = format!("{kind}:{}:{}", row.program, protocol.label());
        let (program, what) = (row.program.clone(), protocol.label());
        let reason = reason.map(str::to_owned);
        let _ =
            self.store
                .add_folded_event(&row.connection_id, self.clock.now(), kind, &key, |n| {
                    let times = if n == 1 {
                        String::new()
                    } else {
                        format!(" ({n} times within the hour)")
                    };
                    match &reason {
                        None => {
                            format!("{program} logged in through the bridge over {what}{times}")
                        }
                        Some(r) => format!("{program} could not be served over {what}{times}: {r}"),
                    }
                });
    }
}
