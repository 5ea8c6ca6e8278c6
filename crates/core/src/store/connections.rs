//! The `connections` table: one row per connected mailbox (delegated sign-in or application
//! access), and every query on it. Refresh tokens are in the keychain under the connection's id,
//! never here.
//!
//! A connection's [`TokenState`] is stored in four columns (`state`, `state_reason`,
//! `state_aadsts`, `retry_attempt`; a retry's time in `next_refresh_at`), mapped to and from the
//! enum only by `state_columns` and `state_from_columns`.
//!
//! Application-access mailboxes are rows of this table too (kind `application`, preset
//! `application`, no refresh token). Their `account_key` is the mailbox's Graph user id; a mailbox
//! Graph could not resolve (unknown address, access denied before the id was known) keeps
//! `address:{address}` until a later check finds it.

/// Schema version 2.
pub(super) const V1: &str = "
CREATE TABLE connections (
    id                TEXT PRIMARY KEY,
    registration_id   TEXT NOT NULL REFERENCES registrations(id),
    kind              TEXT NOT NULL CHECK (kind IN ('delegated', 'application')),
    account_key       TEXT NOT NULL,
    address           TEXT NOT NULL,
    display_name      TEXT,
    tenant_id         TEXT,
    account_type      TEXT NOT NULL,
    preset            TEXT NOT NULL,
    scopes_requested  TEXT NOT NULL,
    scopes_granted    TEXT NOT NULL,
    state             TEXT NOT NULL,
    state_reason      TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    last_refresh_at   TEXT,
    access_expires_at TEXT,
    has_refresh_token INTEGER NOT NULL DEFAULT 0,
    UNIQUE (registration_id, account_key)
);
";

/// Schema version 4: what the refresh engine needs. `next_refresh_at` is when the scheduler next
/// acts on the connection (refresh before expiry, keep-alive, or the next retry); `last_used_at`
/// when an access token was last handed out; `notified_problem` the problem the user was last
/// told about (one notification per problem).
pub(super) const V2: &str = "
ALTER TABLE connections ADD COLUMN retry_attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN next_refresh_at TEXT;
ALTER TABLE connections ADD COLUMN last_used_at TEXT;
ALTER TABLE connections ADD COLUMN state_aadsts INTEGER;
ALTER TABLE connections ADD COLUMN notified_problem TEXT;
CREATE INDEX connections_by_next_refresh ON connections (next_refresh_at) WHERE next_refresh_at IS NOT NULL;
";

/// Schema version 6: programs and scripts. `alias` is a short name the user gives a connection
/// (unique without regard to case); `programs_allowed` says whether programs may fetch its
/// tokens (`mailconn token`), on by default only for the mail-programs preset.
pub(super) const V3: &str = "
ALTER TABLE connections ADD COLUMN alias TEXT;
ALTER TABLE connections ADD COLUMN programs_allowed INTEGER NOT NULL DEFAULT 0;
UPDATE connections SET programs_allowed = 1 WHERE preset = 'mail-programs';
CREATE UNIQUE INDEX connections_by_alias ON connections (alias COLLATE NOCASE) WHERE alias IS NOT NULL;
";

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Store, enum_from, enum_text};
use crate::connection::{Connection, ConnectionKind, StateKind, TokenState, not_found};
use crate::error::Result;
use crate::flow::identity::AccountType;
use crate::scopes::Preset;

/// The fields a sign-in (or a first mailbox lookup) writes.
#[derive(Debug)]
pub struct NewConnection<'a> {
    pub id: &'a str,
    pub registration_id: &'a str,
    pub kind: ConnectionKind,
    pub account_key: &'a str,
    pub address: &'a str,
    pub display_name: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub account_type: AccountType,
    pub preset: Preset,
    pub scopes_requested: &'a [String],
    pub scopes_granted: &'a [String],
    pub has_refresh_token: bool,
    pub state: TokenState,
    pub access_expires_at: Option<DateTime<Utc>>,
}

/// A successful refresh, as stored (the state becomes active, with nothing to note).
#[derive(Debug)]
pub struct Refreshed<'a> {
    pub scopes_granted: &'a [String],
    pub has_refresh_token: bool,
    pub access_expires_at: DateTime<Utc>,
    pub next_refresh_at: Option<DateTime<Utc>>,
}

/// One row's change in a batch of refreshes ([`Store::record_refresh_batch`]).
#[derive(Debug)]
pub enum RowChange<'a> {
    /// A successful refresh ([`Store::record_refreshed`]).
    Refreshed {
        id: &'a str,
        row: Refreshed<'a>,
        at: DateTime<Utc>,
    },
    /// A failure's state ([`Store::record_state`]).
    State {
        id: &'a str,
        state: &'a TokenState,
        at: DateTime<Utc>,
    },
}

/// What a mailbox lookup writes over an existing application connection.
#[derive(Debug)]
pub struct MailboxUpdate<'a> {
    pub account_key: &'a str,
    pub address: &'a str,
    pub display_name: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub scopes_requested: &'a [String],
    pub scopes_granted: &'a [String],
    pub state: TokenState,
    pub access_expires_at: Option<DateTime<Utc>>,
}

const RECORD_REFRESHED: &str = "UPDATE connections SET scopes_granted = ?2, has_refresh_token = ?3, \
     access_expires_at = ?4, next_refresh_at = ?5, state = ?6, state_reason = ?7, state_aadsts = ?8, \
     retry_attempt = ?9, last_refresh_at = ?10, updated_at = ?10 WHERE id = ?1";

const RECORD_STATE: &str = "UPDATE connections SET state = ?2, state_reason = ?3, state_aadsts = ?4, \
     retry_attempt = ?5, next_refresh_at = ?6, updated_at = ?7 WHERE id = ?1";

/// The `account_key` of a mailbox whose Graph id is not known yet.
pub fn unresolved_key(address: &str) -> String {
    format!("address:{}", address.to_ascii_lowercase())
}

/// A [`TokenState`] as its columns.
#[derive(Debug)]
struct StateColumns<'a> {
    state: &'static str,
    reason: Option<&'a str>,
    aadsts: Option<u32>,
    retry_attempt: u32,
    /// A retry's time (`next_refresh_at`); `None` for the other states.
    retry_at: Option<DateTime<Utc>>,
}

fn state_columns(state: &TokenState) -> StateColumns<'_> {
    StateColumns {
        state: state.kind().as_str(),
        reason: state.reason(),
        aadsts: state.aadsts(),
        retry_attempt: state.attempt(),
        retry_at: match state {
            TokenState::Retrying { next_at, .. } => Some(*next_at),
            _ => None,
        },
    }
}

/// Reads back what [`state_columns`] stored. Columns a state does not use are ignored, so a row
/// cannot say two things at once; a retry without a time is due at once (`updated_at`).
fn state_from_columns(
    kind: StateKind,
    reason: Option<String>,
    aadsts: Option<u32>,
    retry_attempt: u32,
    next_refresh_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
) -> TokenState {
    match kind {
        StateKind::Active => TokenState::Active { note: reason },
        StateKind::Refreshing => TokenState::Refreshing,
        StateKind::Retrying => TokenState::Retrying {
            attempt: retry_attempt.max(1),
            next_at: next_refresh_at.unwrap_or(updated_at),
            last_error: reason.unwrap_or_default(),
        },
        StateKind::Disconnected => TokenState::Disconnected,
        problem => TokenState::problem(problem, reason.unwrap_or_default(), aadsts),
    }
}

pub(super) const COLUMNS: &str = "c.id, c.registration_id, r.name, c.kind, c.account_key, c.address, c.display_name, c.tenant_id, \
    c.account_type, c.preset, c.scopes_requested, c.scopes_granted, c.has_refresh_token, c.state, c.state_reason, \
    c.created_at, c.updated_at, c.last_refresh_at, c.access_expires_at, c.retry_attempt, c.next_refresh_at, c.last_used_at, \
    c.state_aadsts, c.alias, c.programs_allowed";

/// How many columns [`COLUMNS`] names (a query may select more after them).
const COLUMN_COUNT: usize = 25;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Connection> {
    let updated_at: DateTime<Utc> = row.get(16)?;
    let next_refresh_at: Option<DateTime<Utc>> = row.get(20)?;
    let state = state_from_columns(
        enum_from(row.get(13)?)?,
        row.get(14)?,
        row.get(22)?,
        row.get(19)?,
        next_refresh_at,
        updated_at,
    );
    Ok(Connection {
        id: row.get(0)?,
        registration_id: row.get(1)?,
        registration_name: row.get(2)?,
        kind: enum_from(row.get(3)?)?,
        account_key: row.get(4)?,
        address: row.get(5)?,
        display_name: row.get(6)?,
        tenant_id: row.get(7)?,
        account_type: enum_from(row.get(8)?)?,
        preset: enum_from(row.get(9)?)?,
        scopes_requested: words(&row.get::<_, String>(10)?),
        scopes_granted: words(&row.get::<_, String>(11)?),
        scopes_missing: Vec::new(),
        has_refresh_token: row.get(12)?,
        state,
        created_at: row.get(15)?,
        updated_at,
        last_refresh_at: row.get(17)?,
        access_expires_at: row.get(18)?,
        next_refresh_at,
        last_used_at: row.get(21)?,
        inactivity_deadline: None,
        alias: row.get(23)?,
        programs_allowed: row.get(24)?,
    }
    .with_derived_fields())
}

impl Store {
    pub fn insert_connection(&self, c: &NewConnection<'_>, now: DateTime<Utc>) -> Result<()> {
        let s = state_columns(&c.state);
        self.conn().execute(
            "INSERT INTO connections (id, registration_id, kind, account_key, address, display_name, tenant_id, account_type, \
             preset, scopes_requested, scopes_granted, has_refresh_token, state, state_reason, created_at, updated_at, \
             last_refresh_at, access_expires_at, state_aadsts, retry_attempt, next_refresh_at, programs_allowed) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?15, ?16, ?17, ?18, ?19, ?20)",
            params![
                c.id, c.registration_id, enum_text(c.kind), c.account_key, c.address, c.display_name, c.tenant_id,
                enum_text(c.account_type), c.preset.as_str(), c.scopes_requested.join(" "), c.scopes_granted.join(" "),
                c.has_refresh_token, s.state, s.reason, now, c.access_expires_at, s.aadsts, s.retry_attempt, s.retry_at,
                c.preset == Preset::MailPrograms,
            ],
        )?;
        Ok(())
    }

    /// A new sign-in of an existing connection's account.
    pub fn update_connection_sign_in(
        &self,
        c: &NewConnection<'_>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let s = state_columns(&c.state);
        self.conn().execute(
            "UPDATE connections SET address = ?2, display_name = ?3, tenant_id = ?4, account_type = ?5, preset = ?6, \
             scopes_requested = ?7, scopes_granted = ?8, has_refresh_token = ?9, state = ?10, state_reason = ?11, \
             updated_at = ?12, last_refresh_at = ?12, access_expires_at = ?13, retry_attempt = ?14, next_refresh_at = ?15, \
             state_aadsts = ?16, notified_problem = NULL WHERE id = ?1",
            params![
                c.id, c.address, c.display_name, c.tenant_id, enum_text(c.account_type), c.preset.as_str(),
                c.scopes_requested.join(" "), c.scopes_granted.join(" "), c.has_refresh_token, s.state,
                s.reason, now, c.access_expires_at, s.retry_attempt, s.retry_at, s.aadsts,
            ],
        )?;
        Ok(())
    }

    pub fn find_connection_by_account(
        &self,
        registration_id: &str,
        account_key: &str,
    ) -> Result<Option<Connection>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM connections c JOIN registrations r ON r.id = c.registration_id WHERE c.registration_id = ?1 AND c.account_key = ?2"),
                params![registration_id, account_key],
                from_row,
            )
            .optional()?)
    }

    /// By id, by alias (without regard to case), or by address when exactly one connection
    /// has it.
    pub fn get_connection(&self, id_or_address: &str) -> Result<Connection> {
        let conn = self.conn();
        // An id is what the engine passes: one primary-key lookup, not a scan of every row.
        let by_id = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM connections c JOIN registrations r ON r.id = c.registration_id WHERE c.id = ?1"
            ))?
            .query_row([id_or_address], from_row)
            .optional()?;
        if let Some(found) = by_id {
            return Ok(found);
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM connections c JOIN registrations r ON r.id = c.registration_id \
             WHERE c.id = ?1 OR c.alias = ?1 COLLATE NOCASE OR c.address = ?1 COLLATE NOCASE \
             ORDER BY (c.id = ?1 OR c.alias = ?1 COLLATE NOCASE) DESC LIMIT 2"
        ))?;
        let rows = stmt
            .query_map([id_or_address], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        match rows.as_slice() {
            [only] => Ok(only.clone()),
            [first, _]
                if first.id == id_or_address
                    || first
                        .alias
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(id_or_address)) =>
            {
                Ok(first.clone())
            }
            [] => Err(not_found(id_or_address)),
            _ => Err(crate::Error::new(
                crate::ErrorCode::Conflict,
                format!("Several connections have the address {id_or_address}."),
            )
            .with_fix("Use the connection's id from `mailconn list`.")),
        }
    }

    pub fn list_connections(&self) -> Result<Vec<Connection>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM connections c JOIN registrations r ON r.id = c.registration_id ORDER BY c.address COLLATE NOCASE"
        ))?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every connection's id and address (the keys the list's first order needs), cheaper
    /// than whole rows.
    pub fn connection_addresses(&self) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT id, address FROM connections")?;
        let keys = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(keys)
    }

    /// The connections with these ids, in the order given (unknown ids are left out).
    pub fn connections_by_ids(&self, ids: &[String]) -> Result<Vec<Connection>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM connections c JOIN registrations r ON r.id = c.registration_id WHERE c.id = ?1"
        ))?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = stmt.query_row([id], from_row).optional()? {
                rows.push(c);
            }
        }
        Ok(rows)
    }

    /// Per registration, how many of its connections the refresh engine marked
    /// `secret_expired` (registrations with none are not listed): the reminders' "refused" count.
    pub fn secret_expired_counts(&self) -> Result<std::collections::HashMap<String, u32>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT registration_id, COUNT(*) FROM connections WHERE state = 'secret_expired' \
             GROUP BY registration_id",
        )?;
        let counts = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(counts)
    }

    /// The ids of the connections a refresh-all refreshes (application-access ones, and
    /// delegated ones with a refresh token), in the order of [`Self::list_connections`].
    pub fn refreshable_ids(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM connections WHERE kind = 'application' OR has_refresh_token \
             ORDER BY address COLLATE NOCASE",
        )?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ids)
    }

    pub fn delete_connection(&self, id: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM events WHERE connection_id = ?1", [id])?;
        tx.execute("DELETE FROM connections WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    pub fn record_refreshed(&self, id: &str, r: &Refreshed<'_>, now: DateTime<Utc>) -> Result<()> {
        let s = state_columns(&TokenState::ACTIVE);
        self.conn().execute(
            RECORD_REFRESHED,
            params![
                id,
                r.scopes_granted.join(" "),
                r.has_refresh_token,
                r.access_expires_at,
                r.next_refresh_at,
                s.state,
                s.reason,
                s.aadsts,
                s.retry_attempt,
                now,
            ],
        )?;
        Ok(())
    }

    /// The rows and history entries of a batch of finished refreshes, in ONE transaction: all
    /// of them are written, or none (the refresh engine's bulk runs; the secrets they refer to are
    /// in the keychain before this is called).
    pub fn record_refresh_batch(
        &self,
        rows: &[RowChange<'_>],
        events: &[super::events::NewEvent<'_>],
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut refreshed = tx.prepare_cached(RECORD_REFRESHED)?;
            let mut state = tx.prepare_cached(RECORD_STATE)?;
            let active = state_columns(&TokenState::ACTIVE);
            for change in rows {
                match change {
                    RowChange::Refreshed { id, row: r, at } => {
                        refreshed.execute(params![
                            id,
                            r.scopes_granted.join(" "),
                            r.has_refresh_token,
                            r.access_expires_at,
                            r.next_refresh_at,
                            active.state,
                            active.reason,
                            active.aadsts,
                            active.retry_attempt,
                            at,
                        ])?;
                    }
                    RowChange::State { id, state: st, at } => {
                        let s = state_columns(st);
                        state.execute(params![
                            id,
                            s.state,
                            s.reason,
                            s.aadsts,
                            s.retry_attempt,
                            s.retry_at,
                            at
                        ])?;
                    }
                }
            }
        }
        super::events::insert_events(&tx, events)?;
        tx.commit()?;
        Ok(())
    }

    /// The connections with these ids (missing ones are left out), each with the problem its
    /// user was last notified about, in one query.
    pub fn connections_with_notices(
        &self,
        ids: &[&str],
    ) -> Result<Vec<(Connection, Option<String>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.conn();
        let marks = vec!["?"; ids.len()].join(",");
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS}, c.notified_problem FROM connections c JOIN registrations r ON r.id = c.registration_id \
             WHERE c.id IN ({marks})"
        ))?;
        let n = COLUMN_COUNT;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(ids), |row| {
                Ok((from_row(row)?, row.get::<_, Option<String>>(n)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// A state change that is not a successful refresh. The schedule becomes the retry's time
    /// (`Retrying`) or nothing (any other state; the engine reschedules what can run).
    pub fn record_state(&self, id: &str, state: &TokenState, now: DateTime<Utc>) -> Result<()> {
        let s = state_columns(state);
        self.conn().execute(
            RECORD_STATE,
            params![
                id,
                s.state,
                s.reason,
                s.aadsts,
                s.retry_attempt,
                s.retry_at,
                now
            ],
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

    /// Sets or clears a connection's alias. Returns false when the alias is taken by another
    /// connection (the unique index, which ignores case, says so).
    pub fn set_alias(&self, id: &str, alias: Option<&str>, now: DateTime<Utc>) -> Result<bool> {
        let result = self.conn().execute(
            "UPDATE connections SET alias = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, alias, now],
        );
        match result {
            Ok(_) => Ok(true),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn set_programs_allowed(&self, id: &str, allowed: bool, now: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "UPDATE connections SET programs_allowed = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, allowed, now],
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

    /// How many connections need someone to act (sign in, consent, rotate, grant access).
    pub fn count_needing_attention(&self) -> Result<u32> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM connections WHERE state IN ('needs_sign_in', 'needs_consent', 'secret_expired', 'no_access')",
            [],
            |r| r.get(0),
        )?)
    }

    /// The application connection of a registration with this address (case-insensitive).
    pub fn find_application_mailbox(
        &self,
        registration_id: &str,
        address: &str,
    ) -> Result<Option<Connection>> {
        let id: Option<String> = self
            .conn()
            .query_row(
                "SELECT id FROM connections WHERE registration_id = ?1 AND kind = ?2 \
                 AND (address = ?3 COLLATE NOCASE OR account_key = ?4) LIMIT 1",
                params![
                    registration_id,
                    enum_text(ConnectionKind::Application),
                    address,
                    unresolved_key(address)
                ],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|id| self.get_connection(&id)).transpose()
    }

    /// Writes a lookup's result over an application connection. Returns false when no
    /// application connection has this id.
    pub fn update_application_mailbox(
        &self,
        id: &str,
        m: &MailboxUpdate<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let s = state_columns(&m.state);
        let changed = self.conn().execute(
            "UPDATE connections SET account_key = ?2, address = ?3, display_name = ?4, tenant_id = ?5, \
             scopes_requested = ?6, scopes_granted = ?7, state = ?8, state_reason = ?9, updated_at = ?10, \
             last_refresh_at = ?10, access_expires_at = ?11, state_aadsts = ?13, retry_attempt = ?14, \
             next_refresh_at = COALESCE(?15, next_refresh_at) WHERE id = ?1 AND kind = ?12",
            params![
                id, m.account_key, m.address, m.display_name, m.tenant_id,
                m.scopes_requested.join(" "), m.scopes_granted.join(" "), s.state,
                s.reason, now, m.access_expires_at, enum_text(ConnectionKind::Application),
                s.aadsts, s.retry_attempt, s.retry_at,
            ],
        )?;
        Ok(changed == 1)
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
    fn a_program_polling_every_minute_makes_one_history_entry_per_hour() {
        let (store, _) = store_with(&["active"]);
        let hour = "2026-03-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let summary = |n: u32| format!("msmtp fetched a token ({n})");
        for minute in 0..60 {
            let n = store
                .add_folded_event(
                    "c0",
                    hour + TimeDelta::minutes(minute),
                    "token",
                    "token:msmtp:smtp",
                    summary,
                )
                .unwrap();
            assert_eq!(n, u32::try_from(minute).unwrap() + 1);
        }
        // Another program, and another kind, fold on their own.
        store
            .add_folded_event(
                "c0",
                hour + TimeDelta::minutes(5),
                "token",
                "token:mbsync:imap",
                summary,
            )
            .unwrap();
        store
            .add_folded_event(
                "c0",
                hour + TimeDelta::minutes(6),
                "token_refused",
                "token:msmtp:smtp",
                summary,
            )
            .unwrap();
        // The next hour starts a new entry.
        store
            .add_folded_event(
                "c0",
                hour + TimeDelta::minutes(62),
                "token",
                "token:msmtp:smtp",
                summary,
            )
            .unwrap();
        let lines: Vec<(String, String, DateTime<Utc>)> = store
            .events("c0", 10)
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.summary, e.at))
            .collect();
        assert_eq!(
            lines,
            [
                (
                    "token".into(),
                    "msmtp fetched a token (1)".into(),
                    hour + TimeDelta::minutes(62)
                ),
                (
                    "token".into(),
                    "msmtp fetched a token (60)".into(),
                    hour + TimeDelta::minutes(59)
                ),
                (
                    "token_refused".into(),
                    "msmtp fetched a token (1)".into(),
                    hour + TimeDelta::minutes(6)
                ),
                (
                    "token".into(),
                    "msmtp fetched a token (1)".into(),
                    hour + TimeDelta::minutes(5)
                ),
            ]
        );
        // A late writer (another process with an older time) does not move the entry back.
        store
            .add_folded_event(
                "c0",
                hour + TimeDelta::minutes(61),
                "token",
                "token:msmtp:smtp",
                summary,
            )
            .unwrap();
        let newest = &store.events("c0", 1).unwrap()[0];
        assert_eq!(newest.at, hour + TimeDelta::minutes(62));
        assert_eq!(newest.summary, "msmtp fetched a token (2)");
    }

    #[test]
    fn aliases_are_unique_without_regard_to_case_and_programs_follow_the_preset() {
        let (store, now) = store_with(&["active", "active"]);
        assert!(store.set_alias("c0", Some("Work"), now).unwrap());
        assert!(!store.set_alias("c1", Some("work"), now).unwrap(), "taken");
        assert_eq!(store.get_connection("WORK").unwrap().id, "c0");
        assert_eq!(
            store.get_connection("c0").unwrap().alias.as_deref(),
            Some("Work")
        );
        assert!(store.set_alias("c0", None, now).unwrap());
        assert!(
            store.set_alias("c1", Some("work"), now).unwrap(),
            "free again"
        );
        assert_eq!(store.get_connection("work").unwrap().id, "c1");
        // Rows of the read preset were not opened to programs.
        assert!(!store.get_connection("c0").unwrap().programs_allowed);
        store.set_programs_allowed("c0", true, now).unwrap();
        assert!(store.get_connection("c0").unwrap().programs_allowed);
    }

    #[test]
    fn the_migration_opens_existing_mail_program_connections_to_programs() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        let before = super::super::MIGRATIONS
            .iter()
            .position(|m| *m == V3)
            .unwrap();
        let steps: Vec<_> = super::super::MIGRATIONS[..before]
            .iter()
            .map(|sql| rusqlite_migration::M::up(sql))
            .collect();
        rusqlite_migration::Migrations::new(steps)
            .to_latest(&mut conn)
            .unwrap();
        let now = Utc::now();
        conn.execute(
            "INSERT INTO registrations (id, name, client_id, kind, tenant, cloud, usage, audience, preset, redirect_uri, \
             has_secret, created_at, updated_at) VALUES ('r', 'App', 'cid', 'public', 'common', 'global', 'delegated', \
             'my_organization', 'read', 'http://localhost', 0, ?1, ?1)",
            [now],
        )
        .unwrap();
        for (id, preset) in [("m", "mail-programs"), ("f", "full")] {
            conn.execute(
                "INSERT INTO connections (id, registration_id, kind, account_key, address, account_type, preset, \
                 scopes_requested, scopes_granted, state, created_at, updated_at) VALUES (?1, 'r', 'delegated', ?1, ?1, \
                 'work', ?2, '', '', 'active', ?3, ?3)",
                params![id, preset, now],
            )
            .unwrap();
        }
        conn.execute_batch(V3).unwrap();
        let allowed = |id: &str| -> bool {
            conn.query_row(
                "SELECT programs_allowed FROM connections WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert!(allowed("m"));
        assert!(!allowed("f"));
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

    #[test]
    fn every_state_round_trips_through_its_columns() {
        let (store, now) = store_with(&["active"]);
        let at = now + TimeDelta::seconds(30);
        let states = [
            TokenState::ACTIVE,
            TokenState::Active {
                note: Some("no refresh token".into()),
            },
            TokenState::Refreshing,
            TokenState::Retrying {
                attempt: 3,
                next_at: at,
                last_error: "The identity provider could not be reached.".into(),
            },
            TokenState::NeedsSignIn {
                reason: "Sign in again.".into(),
                aadsts: Some(50173),
            },
            TokenState::NeedsConsent {
                reason: "Consent.".into(),
                aadsts: Some(65001),
            },
            TokenState::SecretExpired {
                reason: "Rotate the secret.".into(),
                aadsts: Some(7000222),
            },
            TokenState::NoAccess {
                reason: "Exchange keeps the app out.".into(),
                aadsts: None,
            },
            TokenState::Disconnected,
        ];
        for state in states {
            store.record_state("c0", &state, now).unwrap();
            let c = store.get_connection("c0").unwrap();
            assert_eq!(c.state, state);
            let retry = matches!(state, TokenState::Retrying { .. });
            assert_eq!(c.next_refresh_at, retry.then_some(at), "{state:?}");
        }
        // A stale attempt or AADSTS code left in a column does not leak into another state.
        store
            .conn()
            .execute(
                "UPDATE connections SET state = 'active', state_reason = NULL, retry_attempt = 4, state_aadsts = 50173 WHERE id = 'c0'",
                [],
            )
            .unwrap();
        let c = store.get_connection("c0").unwrap();
        assert_eq!(c.state, TokenState::ACTIVE);
        assert_eq!((c.state.attempt(), c.state.aadsts()), (0, None));
    }
}
