//! The local mail bridge: IMAP, POP and SMTP submission listeners on 127.0.0.1 (and, opted in,
//! one office-network address) for programs and devices that only know a user name and a
//! password. A program logs in locally with the mailbox address and its own bridge password;
//! the bridge then connects to the connection's real server (TLS, except loopback servers of a
//! custom cloud), authenticates with XOAUTH2 using an access token from the refresh engine, and
//! from there relays the session byte for byte. Only the greeting, the capability lines and the
//! login's answer are the bridge's own.
//!
//! - [`settings`]: ports, plain-login rule, network opt-in; [`passwords`]: local passwords.
//! - [`tls`]: the bridge's certificate (key in the keychain).
//! - `listener`: binding and accepting, the allowlist, one task per session.
//! - `imap`, `pop`, `smtp`: the local side of each protocol up to the login; `upstream`: the
//!   XOAUTH2 login at the real server; `relay`: the byte-for-byte copy with counters and idle
//!   timeout; `gate`: checking a local login and getting the token ([`gate::Gate`]).
//! - [`limits`]: sessions per program, idle timeouts, line lengths, the failed-login delay.
//! - [`sessions`]: the live sessions the Bridge page shows.

pub mod gate;
mod imap;
mod io;
pub mod limits;
mod listener;
pub mod passwords;
mod pop;
mod relay;
mod sasl_login;
mod session;
pub mod sessions;
pub mod settings;
mod smtp;
pub mod tls;
mod upstream;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::mail_servers::MailProtocol;
pub use gate::Gate;
pub use listener::Listening;
pub use passwords::{BridgePassword, NewBridgePassword};
pub use sessions::{SessionInfo, Sessions};
pub use settings::{BridgeSettings, ListenerSecurity};

/// How one listener stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ListenerState {
    Listening,
    /// It could not bind (the port is taken, the address is not this computer's).
    Failed {
        message: String,
    },
}

/// One listener as the Bridge page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ListenerStatus {
    pub protocol: MailProtocol,
    pub security: ListenerSecurity,
    pub address: String,
    pub port: u16,
    /// On the office network (not loopback).
    pub network: bool,
    #[serde(flatten)]
    pub state: ListenerState,
}

/// The bridge as a whole.
#[derive(Debug, Clone, Serialize, TS)]
pub struct BridgeStatus {
    pub running: bool,
    pub settings: BridgeSettings,
    pub listeners: Vec<ListenerStatus>,
    pub sessions: Vec<SessionInfo>,
    pub passwords: Vec<BridgePassword>,
    /// SHA-256 of the bridge's certificate, once made.
    pub certificate_fingerprint: Option<String>,
    /// Things to tell the user (devices on the network are allowed; plain login is on).
    pub warnings: Vec<String>,
}

/// The running bridge of one process: its listeners, stopped by cancelling.
#[derive(Debug)]
struct Running {
    cancel: CancellationToken,
    listening: Listening,
}

/// Start and stop, and what the status needs while it runs.
#[derive(Debug, Default)]
pub struct Bridge {
    running: Mutex<Option<Running>>,
    pub sessions: Arc<Sessions>,
    pub penalty: Arc<limits::Penalty>,
}

impl Bridge {
    pub fn is_running(&self) -> bool {
        self.running.lock().expect("bridge lock").is_some()
    }

    /// The listeners of the running bridge (empty when stopped).
    pub fn listeners(&self) -> Vec<ListenerStatus> {
        self.running
            .lock()
            .expect("bridge lock")
            .as_ref()
            .map(|r| r.listening.statuses.clone())
            .unwrap_or_default()
    }

    /// Binds every listener and serves until [`Bridge::stop`]; a listener that cannot bind is
    /// reported in its status, the others run. Already running: the running one is kept.
    pub async fn start(
        &self,
        gate: Arc<Gate>,
        tls: Arc<rustls::ServerConfig>,
    ) -> Vec<ListenerStatus> {
        if self.is_running() {
            return self.listeners();
        }
        let cancel = CancellationToken::new();
        let listening = listener::bind(gate, tls, self.sessions.clone(), cancel.clone()).await;
        let statuses = listening.statuses.clone();
        let mut running = self.running.lock().expect("bridge lock");
        if running.is_some() {
            // Another start won the race: keep it, drop ours.
            cancel.cancel();
            return running
                .as_ref()
                .map(|r| r.listening.statuses.clone())
                .unwrap_or_default();
        }
        *running = Some(Running { cancel, listening });
        statuses
    }

    /// A token cancelled when the running bridge stops.
    pub fn stopped(&self) -> Option<CancellationToken> {
        self.running
            .lock()
            .expect("bridge lock")
            .as_ref()
            .map(|r| r.cancel.clone())
    }

    /// Stops listening and ends every live session.
    pub fn stop(&self) {
        if let Some(r) = self.running.lock().expect("bridge lock").take() {
            r.cancel.cancel();
        }
        self.sessions.end_all();
    }
}
