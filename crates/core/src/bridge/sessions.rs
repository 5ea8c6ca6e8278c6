//! The live sessions: who is connected, through which listener, for which program, and how many
//! bytes went each way. A session is registered when its TCP connection is accepted and removed
//! when it ends (its [`SessionGuard`] is dropped); removing a password ends that password's
//! sessions at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use super::settings::ListenerSecurity;
use crate::mail_servers::MailProtocol;

/// One live session as the Bridge page shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SessionInfo {
    #[ts(type = "number")]
    pub id: u64,
    pub protocol: MailProtocol,
    pub security: ListenerSecurity,
    /// Whether the local leg is encrypted now (after STARTTLS, or from the start).
    pub encrypted: bool,
    pub peer: String,
    pub started_at: DateTime<Utc>,
    /// Set once the local login succeeded.
    pub connection_id: Option<String>,
    pub address: Option<String>,
    pub program: Option<String>,
    /// `upstream` while relaying to the real server.
    pub stage: SessionStage,
    #[ts(type = "number")]
    pub bytes_from_client: u64,
    #[ts(type = "number")]
    pub bytes_to_client: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    /// Before the local login.
    Login,
    /// Logged in at the real server; relaying.
    Relaying,
}

/// Byte counters the relay updates.
#[derive(Debug, Default)]
pub struct Counters {
    pub from_client: AtomicU64,
    pub to_client: AtomicU64,
}

#[derive(Debug)]
struct Entry {
    info: SessionInfo,
    password_id: Option<String>,
    counters: Arc<Counters>,
    cancel: CancellationToken,
}

/// Every live session of this process.
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
    /// Bumped on every change, for pages that watch.
    changed: watch::Sender<u64>,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            map: Mutex::default(),
            next: AtomicU64::new(1),
            changed: watch::channel(0).0,
        }
    }
}

/// A registered session; dropping it removes the session.
#[derive(Debug)]
pub struct SessionGuard {
    sessions: Arc<Sessions>,
    pub id: u64,
    pub counters: Arc<Counters>,
    pub cancel: CancellationToken,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.sessions
            .map
            .lock()
            .expect("sessions lock")
            .remove(&self.id);
        self.sessions.bump();
    }
}

impl Sessions {
    /// Tells watchers something changed (a password, start or stop).
    pub fn changed(&self) {
        self.bump();
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// A receiver that sees every change.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Registers a session just accepted.
    pub fn open(
        self: &Arc<Self>,
        protocol: MailProtocol,
        security: ListenerSecurity,
        peer: String,
        now: DateTime<Utc>,
        parent: &CancellationToken,
    ) -> SessionGuard {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let counters = Arc::new(Counters::default());
        let cancel = parent.child_token();
        let info = SessionInfo {
            id,
            protocol,
            security,
            encrypted: security == ListenerSecurity::Tls,
            peer,
            started_at: now,
            connection_id: None,
            address: None,
            program: None,
            stage: SessionStage::Login,
            bytes_from_client: 0,
            bytes_to_client: 0,
        };
        self.map.lock().expect("sessions lock").insert(
            id,
            Entry {
                info,
                password_id: None,
                counters: counters.clone(),
                cancel: cancel.clone(),
            },
        );
        self.bump();
        SessionGuard {
            sessions: self.clone(),
            id,
            counters,
            cancel,
        }
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut Entry)) {
        if let Some(e) = self.map.lock().expect("sessions lock").get_mut(&id) {
            f(e);
        }
        self.bump();
    }

    pub fn encrypted(&self, id: u64) {
        self.update(id, |e| e.info.encrypted = true);
    }

    /// The local login succeeded for this password.
    pub fn logged_in(&self, id: u64, password: &super::BridgePassword) {
        self.update(id, |e| {
            e.password_id = Some(password.id.clone());
            e.info.connection_id = Some(password.connection_id.clone());
            e.info.address = Some(password.address.clone());
            e.info.program = Some(password.program.clone());
        });
    }

    pub fn relaying(&self, id: u64) {
        self.update(id, |e| e.info.stage = SessionStage::Relaying);
    }

    /// Sessions logged in with this password now.
    pub fn count_for(&self, password_id: &str) -> usize {
        self.map
            .lock()
            .expect("sessions lock")
            .values()
            .filter(|e| e.password_id.as_deref() == Some(password_id))
            .count()
    }

    /// The passwords of the sessions logged in now.
    pub fn password_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .map
            .lock()
            .expect("sessions lock")
            .values()
            .filter_map(|e| e.password_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Ends every session of a password (it was removed).
    pub fn end_for(&self, password_id: &str) {
        for e in self.map.lock().expect("sessions lock").values() {
            if e.password_id.as_deref() == Some(password_id) {
                e.cancel.cancel();
            }
        }
    }

    pub fn end_all(&self) {
        for e in self.map.lock().expect("sessions lock").values() {
            e.cancel.cancel();
        }
    }

    /// The live sessions, oldest first, with their byte counts now.
    pub fn list(&self) -> Vec<SessionInfo> {
        let mut list: Vec<SessionInfo> = self
            .map
            .lock()
            .expect("sessions lock")
            .values()
            .map(|e| {
                let mut info = e.info.clone();
                info.bytes_from_client = e.counters.from_client.load(Ordering::Relaxed);
                info.bytes_to_client = e.counters.to_client.load(Ordering::Relaxed);
                info
            })
            .collect();
        list.sort_by_key(|s| s.id);
        list
    }
}
