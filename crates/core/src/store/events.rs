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

/// Schema version 7: folded entries. A program fetching tokens every minute makes one entry per
/// program and hour: `fold_key` names what is folded (e.g. `token:msmtp:smtp`), `repeats` how
/// many times it happened; the entry's `at` is the latest time.
pub(super) const V2: &str = "
ALTER TABLE events ADD COLUMN fold_key TEXT;
ALTER TABLE events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
CREATE INDEX events_by_fold_key ON events (connection_id, fold_key, at) WHERE fold_key IS NOT NULL;
";

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use rusqlite::{OptionalExtension as _, params};
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

/// A history entry to add ([`Store::add_events`], or with the rows of a batch of refreshes).
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub connection_id: &'a str,
    pub at: DateTime<Utc>,
    pub kind: &'a str,
    pub summary: String,
    pub detail: Option<&'a ErrorDetail>,
}

const INSERT: &str = "INSERT INTO events (connection_id, at, kind, summary, aadsts, trace_id, correlation_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Adds entries inside the caller's transaction.
pub(super) fn insert_events(tx: &rusqlite::Connection, events: &[NewEvent<'_>]) -> Result<()> {
    let mut stmt = tx.prepare_cached(INSERT)?;
    for e in events {
        let d = e.detail;
        stmt.execute(params![
            e.connection_id,
            e.at,
            e.kind,
            e.summary,
            d.and_then(|d| d.aadsts),
            d.and_then(|d| d.trace_id.as_deref()),
            d.and_then(|d| d.correlation_id.as_deref()),
        ])?;
    }
    Ok(())
}

impl Store {
    /// Adds several history entries in one transaction.
    pub fn add_events(&self, events: &[NewEvent<'_>]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        insert_events(&tx, events)?;
        tx.commit()?;
        Ok(())
    }

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
            INSERT,
            params![
                connection_id,
                at,
                kind,
                summary,
                detail.and_then(|d| d.aadsts),
                detail.and_then(|d| d.trace_id.clone()),
                detail.and_then(|d| d.correlation_id.clone()),
            ],
        )?;
        Ok(())
    }

    /// Records something that may happen often (a program fetching a token) as one entry per
    /// `fold_key` and clock hour (UTC): the first time in an hour adds an entry, later times in
    /// the same hour move its time forward and count. `summary` gets the count so far. Returns
    /// that count.
    pub fn add_folded_event(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
        kind: &str,
        fold_key: &str,
        summary: impl Fn(u32) -> String,
    ) -> Result<u32> {
        let hour = at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at);
        let mut conn = self.conn();
        // IMMEDIATE: two processes folding at once do not both add the hour's first entry.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let existing: Option<(i64, u32)> = tx
            .query_row(
                "SELECT id, repeats FROM events WHERE connection_id = ?1 AND kind = ?2 AND fold_key = ?3 \
                 AND at >= ?4 ORDER BY at DESC LIMIT 1",
                params![connection_id, kind, fold_key, hour],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let count = if let Some((id, repeats)) = existing {
            let count = repeats.saturating_add(1);
            tx.execute(
                "UPDATE events SET at = MAX(at, ?2), repeats = ?3, summary = ?4 WHERE id = ?1",
                params![id, at, count, summary(count)],
            )?;
            count
        } else {
            tx.execute(
                "INSERT INTO events (connection_id, at, kind, summary, fold_key, repeats) VALUES (?1, ?2, ?3, ?4, ?5, 1)",
                params![connection_id, at, kind, summary(1), fold_key],
            )?;
            1
        };
        tx.commit()?;
        Ok(count)
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
