//! What the refresh engine reads and writes on the `connections` table: state changes with their
//! reason, the schedule, use, and which problem the user was told about.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::connections::{COLUMNS, from_row};
use super::{Store, enum_text};
use crate::connection::{Connection, TokenState};
use crate::error::Result;

/// A successful refresh, as stored.
#[derive(Debug)]
pub struct Refreshed<'a> {
    pub scopes_granted: &'a [String],
    pub has_refresh_token: bool,
    pub access_expires_at: DateTime<Utc>,
    pub next_refresh_at: Option<DateTime<Utc>>,
    /// Kept when Microsoft issued no refresh token (a warning), else cleared.
    pub reason: Option<&'a str>,
}

/// A state change that is not a successful refresh.
#[derive(Debug)]
pub struct StateChange<'a> {
    pub state: TokenState,
    pub reason: Option<&'a str>,
    pub aadsts: Option<u32>,
    pub retry_attempt: u32,
    pub next_refresh_at: Option<DateTime<Utc>>,
}

impl Store {
    pub fn record_refreshed(&self, id: &str, r: &Refreshed<'_>, now: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "UPDATE connections SET scopes_granted = ?2, has_refresh_token = ?3, access_expires_at = ?4, next_refresh_at = ?5, \
             state = 'active', state_reason = ?6, state_aadsts = NULL, retry_attempt = 0, last_refresh_at = ?7, updated_at = ?7 \
             WHERE id = ?1",
            params![id, r.scopes_granted.join(" "), r.has_refresh_token, r.access_expires_at, r.next_refresh_at, r.reason, now],
        )?;
        Ok(())
    }

    pub fn record_state(&self, id: &str, c: &StateChange<'_>, now: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "UPDATE connections SET state = ?2, state_reason = ?3, state_aadsts = ?4, retry_attempt = ?5, next_refresh_at = ?6, \
             updated_at = ?7 WHERE id = ?1",
            params![id, enum_text(c.state), c.reason, c.aadsts, c.retry_attempt, c.next_refresh_at, now],
        )?;
        Ok(())
    }

    /// Marks a connection as being refreshed (visible to the other process and the UI).
    pub fn record_refreshing(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "UPDATE connections SET state = 'refreshing', updated_at = ?2 WHERE id = ?1 AND state IN ('active', 'retrying')",
            params![id, now],
        )?;
        Ok(())
    }

    pub fn set_next_refresh(&self, id: &str, at: Option<DateTime<Utc>>) -> Result<()> {
        self.conn().execute(
            "UPDATE connections SET next_refresh_at = ?2 WHERE id = ?1",
            params![id, at],
        )?;
        Ok(())
    }

    pub fn record_used(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "UPDATE connections SET last_used_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    /// The earliest scheduled refresh of any connection.
    pub fn next_refresh_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT MIN(next_refresh_at) FROM connections WHERE next_refresh_at IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Connections whose scheduled refresh time has come, earliest first.
    pub fn connections_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Connection>> {
        self.query_connections(
            "c.next_refresh_at IS NOT NULL AND c.next_refresh_at <= ?1 ORDER BY c.next_refresh_at LIMIT ?2",
            params![now, limit],
        )
    }

    /// Connections that should have a schedule but have none (new ones, or made by the CLI).
    pub fn connections_unscheduled(&self) -> Result<Vec<Connection>> {
        self.query_connections(
            "c.next_refresh_at IS NULL AND c.state IN ('active', 'refreshing', 'retrying')",
            [],
        )
    }

    pub fn connections_of_registration(&self, registration_id: &str) -> Result<Vec<Connection>> {
        self.query_connections(
            "c.registration_id = ?1 ORDER BY c.address COLLATE NOCASE",
            [registration_id],
        )
    }

    fn query_connections(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Connection>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM connections c JOIN registrations r ON r.id = c.registration_id WHERE {filter}"
        ))?;
        let rows = stmt
            .query_map(params, from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The problem the user was last notified about for this connection.
    pub fn notified_problem(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT notified_problem FROM connections WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    pub fn set_notified_problem(&self, id: &str, problem: Option<&str>) -> Result<()> {
        self.conn().execute(
            "UPDATE connections SET notified_problem = ?2 WHERE id = ?1",
            params![id, problem],
        )?;
        Ok(())
    }

    /// Deletes history entries older than `before`; returns how many.
    pub fn prune_events(&self, before: DateTime<Utc>) -> Result<usize> {
        Ok(self
            .conn()
            .execute("DELETE FROM events WHERE at < ?1", params![before])?)
    }
}

impl Store {
    /// How many connections need someone to act (sign in, consent, rotate, grant access).
    pub fn count_needing_attention(&self) -> Result<u32> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM connections WHERE state IN ('needs_sign_in', 'needs_consent', 'secret_expired', 'no_access')",
            [],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    /// A registration and `states.len()` connections, written directly (no keychain involved).
    fn store_with(states: &[&str]) -> (Store, DateTime<Utc>) {
        let store = Store::open_in_memory().unwrap();
        let now = Utc::now();
        {
            let conn = store.conn();
            conn.execute(
                "INSERT INTO registrations (id, name, client_id, kind, tenant, cloud, usage, audience, preset, redirect_uri, \
                 has_secret, created_at, updated_at) VALUES ('r', 'App', 'cid', 'public', 'common', 'global', 'delegated', \
                 'my_organization', 'read', 'http://localhost', 0, ?1, ?1)",
                [now],
            )
            .unwrap();
            for (i, state) in states.iter().enumerate() {
                conn.execute(
                    "INSERT INTO connections (id, registration_id, kind, account_key, address, account_type, preset, \
                     scopes_requested, scopes_granted, state, created_at, updated_at) VALUES (?1, 'r', 'delegated', ?1, ?2, \
                     'work', 'read', '', '', ?3, ?4, ?4)",
                    params![format!("c{i}"), format!("u{i}@contoso.test"), state, now],
                )
                .unwrap();
            }
        }
        (store, now)
    }

    #[test]
    fn history_older_than_the_limit_is_pruned() {
        let (store, now) = store_with(&["active"]);
        store
            .add_event("c0", now - TimeDelta::days(200), "refreshed", "old", None)
            .unwrap();
        store
            .add_event("c0", now - TimeDelta::days(10), "refreshed", "recent", None)
            .unwrap();
        assert_eq!(store.prune_events(now - TimeDelta::days(180)).unwrap(), 1);
        let left: Vec<String> = store
            .events("c0", 10)
            .unwrap()
            .into_iter()
            .map(|e| e.summary)
            .collect();
        assert_eq!(left, ["recent"]);
    }

    #[test]
    fn attention_counts_states_someone_must_act_on_and_due_lists_the_schedule() {
        let (store, now) = store_with(&[
            "active",
            "retrying",
            "needs_sign_in",
            "needs_consent",
            "secret_expired",
            "no_access",
        ]);
        assert_eq!(store.count_needing_attention().unwrap(), 4);
        store
            .set_next_refresh("c1", Some(now - TimeDelta::seconds(1)))
            .unwrap();
        store
            .set_next_refresh("c0", Some(now + TimeDelta::hours(1)))
            .unwrap();
        let due: Vec<String> = store
            .connections_due(now, 10)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(due, ["c1"]);
        assert_eq!(
            store.next_refresh_due().unwrap(),
            Some(now - TimeDelta::seconds(1))
        );
        // Active or retrying without a schedule are picked up; stopped states are not.
        let unscheduled: Vec<String> = store
            .connections_unscheduled()
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert!(unscheduled.is_empty(), "{unscheduled:?}");
        store.set_next_refresh("c0", None).unwrap();
        let unscheduled: Vec<String> = store
            .connections_unscheduled()
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(unscheduled, ["c0"]);
    }
}
