//! What the engine tells listeners: every change of a connection, and a notice (a desktop
//! notification) once per problem, plus word when a problem the user was told about is gone.
//! "The same problem" is the state and its AADSTS code, remembered in the connection's row so a
//! restart does not tell the user again.

use serde::Serialize;
use ts_rs::TS;

use super::{Engine, EngineEvent};
use crate::connection::{Connection, StateKind};
use crate::error::Result;

/// Something the user should be told about once (a desktop notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Notice {
    pub connection_id: String,
    pub address: String,
    pub state: StateKind,
    pub title: String,
    pub body: String,
}

/// The notification for a connection's problem, and the key that makes it "the same problem".
pub fn notice_for(conn: &Connection) -> Option<(String, Notice)> {
    let kind = conn.state.kind();
    let title = match kind {
        StateKind::NeedsSignIn => format!("{} needs you to sign in again", conn.address),
        StateKind::NeedsConsent => format!("{} needs consent", conn.address),
        StateKind::SecretExpired => format!(
            "The client secret of \"{}\" no longer works",
            conn.registration_name
        ),
        StateKind::NoAccess => format!("The app cannot reach {}", conn.address),
        _ => return None,
    };
    let key = format!("{}:{}", kind.as_str(), conn.state.aadsts().unwrap_or(0));
    Some((
        key,
        Notice {
            connection_id: conn.id.clone(),
            address: conn.address.clone(),
            state: kind,
            title,
            body: conn.state.reason().unwrap_or_default().to_owned(),
        },
    ))
}

impl Engine {
    pub(super) fn emit_changed(&self, id: &str) {
        if let Ok(conn) = self.store.get_connection(id) {
            let _ = self.events.send(EngineEvent::Changed(Box::new(conn)));
        }
    }

    /// Tells listeners about a change, and about a new problem once; the scheduler looks at the
    /// (possibly new) schedule again.
    pub(super) fn after_change(&self, id: &str) {
        self.wake();
        let Ok(conn) = self.store.get_connection(id) else {
            return;
        };
        let told = match self.store.notified_problem(&conn.id) {
            Ok(told) => told,
            Err(e) => {
                tracing::warn!(connection = %id, error = %e, "cannot read the notification");
                let _ = self.events.send(EngineEvent::Changed(Box::new(conn)));
                return;
            }
        };
        self.told(conn, told.as_deref());
    }

    /// [`Self::after_change`] for a connection just read with the problem its user was last
    /// told about (bulk refreshes read a batch's rows in one query).
    pub(super) fn told(&self, conn: Connection, told: Option<&str>) {
        if let Err(e) = self.notice(&conn, told) {
            tracing::warn!(connection = %conn.id, error = %e, "cannot record the notification");
        }
        let _ = self.events.send(EngineEvent::Changed(Box::new(conn)));
    }

    fn notice(&self, conn: &Connection, told: Option<&str>) -> Result<()> {
        match notice_for(conn) {
            Some((key, notice)) if told != Some(key.as_str()) => {
                self.store.set_notified_problem(&conn.id, Some(&key))?;
                let _ = self.events.send(EngineEvent::Notice(notice));
            }
            None if told.is_some() && conn.state == StateKind::Active => {
                self.store.set_notified_problem(&conn.id, None)?;
                let _ = self.events.send(EngineEvent::Resolved(conn.id.clone()));
            }
            _ => {}
        }
        Ok(())
    }
}
