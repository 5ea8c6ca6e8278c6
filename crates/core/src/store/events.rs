//! The `events` table: each connection's history (connected, refreshed, failed, verified, ...).

/// Schema version 3.
pub(super) const V1: &str = "
CREATE TABLE events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id  TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    at             TEXT NOT NULL,
    kind           TEXT NOT NULL,
    summary        TEXT NOT NULL,
    aadsts         INTEGER,
    trace_id       TEXT,
    correlation_id TEXT
);
CREATE INDEX events_by_connection ON events (connection_id, at);
";

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;
use ts_rs::TS;

use super::Store;
use crate::error::{ErrorDetail, Result};

/// One entry of a connection's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Event {
    #[ts(type = "string")]
    pub at: DateTime<Utc>,
    pub kind: String,
    pub summary: String,
    pub aadsts: Option<u32>,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
}

impl Store {
    /// Deletes history entries older than `before`; returns how many.
    pub fn prune_events(&self, before: DateTime<Utc>) -> Result<usize> {
        Ok(self
            .conn()
            .execute("DELETE FROM events WHERE at < ?1", params![before])?)
    }

    pub fn add_event(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
        kind: &str,
        summary: &str,
        detail: Option<&ErrorDetail>,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO events (connection_id, at, kind, summary, aadsts, trace_id, correlation_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                connection_id, at, kind, summary,
                detail.and_then(|d| d.aadsts), detail.and_then(|d| d.trace_id.clone()), detail.and_then(|d| d.correlation_id.clone()),
            ],
        )?;
        Ok(())
    }

    /// Newest first.
    pub fn events(&self, connection_id: &str, limit: u32) -> Result<Vec<Event>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT at, kind, summary, aadsts, trace_id, correlation_id FROM events WHERE connection_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2")?;
        let rows = stmt
            .query_map(params![connection_id, limit], |r| {
                Ok(Event {
                    at: r.get(0)?,
                    kind: r.get(1)?,
                    summary: r.get(2)?,
                    aadsts: r.get(3)?,
                    trace_id: r.get(4)?,
                    correlation_id: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
