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
    verified: Verified,
}

/// Passwords already checked against their Argon2 hash in this process, so a program that
/// logs in every minute pays the hash once: per password id, an HMAC (with a key made at start
/// and kept only in memory) of the password and the stored hash it was checked against. A
/// changed or removed row no longer matches.
struct Verified {
    key: ring::hmac::Key,
    seen: Mutex<HashMap<String, (ring::hmac::Tag, String)>>,
}

impl Verified {
    fn new() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)
            .expect("the system's random numbers");
        Self {
            key,
            seen: Mutex::default(),
        }
    }

    fn known(&self, id: &str, password: &str, hash: &str) -> bool {
        let seen = self.seen.lock().expect("verified lock");
        seen.get(id).is_some_and(|(tag, h)| {
            h == hash && ring::hmac::verify(&self.key, password.as_bytes(), tag.as_ref()).is_ok()
        })
    }

    fn remember(&self, id: &str, password: &str, hash: &str) {
        let tag = ring::hmac::sign(&self.key, password.as_bytes());
        self.seen
            .lock()
            .expect("verified lock")
            .insert(id.to_owned(), (tag, hash.to_owned()));
    }
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

/// An error's message and fix on one line (a protocol answer), without saying the same thing
/// twice: a message whose last sentence the fix begins with ("... Sign in again." and "Sign in
/// again: `mailconn reconnect ...`") loses that sentence.
fn said(e: &Error) -> String {
    let message = e.message().trim_end();
    let Some(fix) = e.detail().and_then(|d| d.fix.as_deref()) else {
        return message.to_owned();
    };
    let body = message.strip_suffix('.').unwrap_or(message);
    let last = body
        .rfind(['.', ')', ':'])
        .map_or(body, |i| body[i + 1..].trim_start());
    if !last.is_empty() && fix.starts_with(last) {
        let kept =
            message[..message.len() - last.len() - usize::from(message.ends_with('.'))].trim_end();
        return format!("{kept} {fix}");
    }
    format!("{message} {fix}")
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
            verified: Verified::new(),
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The password row when `user` and `password` match one.
    async fn matching(&self, user: &str, password: &str) -> Option<BridgePassword> {
        let key = passwords::key_of(password)?.to_owned();
        let (row, hash) = self.store.bridge_password(&key).ok()??;
        if !row.address.eq_ignore_ascii_case(user.trim()) {
            return None;
        }
        if self.verified.known(&key, password, &hash) {
            return Some(row);
        }
        let typed = Sensitive::new(password.to_owned());
        let stored = hash.clone();
        let ok = tokio::task::spawn_blocking(move || passwords::verify(typed.expose(), &stored))
            .await
            .ok()?;
        if !ok {
            return None;
        }
        self.verified.remember(&key, password, &hash);
        Some(row)
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

#[cfg(test)]
mod tests {
    use super::{Verified, said};
    use crate::error::{Error, ErrorCode};

    #[test]
    fn a_refusal_line_does_not_say_the_fix_twice() {
        let e = Error::new(
            ErrorCode::NeedsSignIn,
            "ada@contoso.test needs to sign in again: the sign-in was revoked (AADSTS50173) Sign in again.",
        )
        .with_fix("Sign in again: `mailconn reconnect ada@contoso.test`.");
        assert_eq!(
            said(&e),
            "ada@contoso.test needs to sign in again: the sign-in was revoked (AADSTS50173) Sign in again: `mailconn reconnect ada@contoso.test`."
        );
        let other = Error::new(ErrorCode::Network, "The identity provider did not answer.")
            .with_fix("Check the network.");
        assert_eq!(
            said(&other),
            "The identity provider did not answer. Check the network."
        );
        assert_eq!(
            said(&Error::new(ErrorCode::Network, "Offline.")),
            "Offline."
        );
    }

    #[test]
    fn a_checked_password_is_known_only_with_the_same_stored_hash() {
        let v = Verified::new();
        assert!(!v.known("k1", "pw-one", "hash-a"));
        v.remember("k1", "pw-one", "hash-a");
        assert!(v.known("k1", "pw-one", "hash-a"));
        assert!(!v.known("k1", "pw-two", "hash-a"), "another password");
        assert!(!v.known("k1", "pw-one", "hash-b"), "the row was replaced");
        assert!(!v.known("k2", "pw-one", "hash-a"), "another id");
    }
}
