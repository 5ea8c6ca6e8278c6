//! The `connections` table: one row per connected mailbox (delegated sign-in or application
//! access). Refresh tokens are in the keychain under the connection's id, never here.

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

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Store, enum_from, enum_text};
use crate::connection::{Connection, ConnectionKind, INACTIVITY_LIMIT, TokenState, not_found};
use crate::error::Result;
use crate::flow::identity::AccountType;
use crate::flow::missing_scopes;
use crate::scopes::Preset;

/// The fields a sign-in writes.
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
    pub state_reason: Option<&'a str>,
    pub access_expires_at: Option<DateTime<Utc>>,
}

pub(super) const COLUMNS: &str = "c.id, c.registration_id, r.name, c.kind, c.account_key, c.address, c.display_name, c.tenant_id, \
    c.account_type, c.preset, c.scopes_requested, c.scopes_granted, c.has_refresh_token, c.state, c.state_reason, \
    c.created_at, c.updated_at, c.last_refresh_at, c.access_expires_at, c.retry_attempt, c.next_refresh_at, c.last_used_at, \
    c.state_aadsts";

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Connection> {
    let requested = words(&row.get::<_, String>(10)?);
    let granted = words(&row.get::<_, String>(11)?);
    let kind: ConnectionKind = enum_from(row.get(3)?)?;
    let has_refresh_token: bool = row.get(12)?;
    let last_refresh_at: Option<DateTime<Utc>> = row.get(17)?;
    let inactivity_deadline = match kind {
        ConnectionKind::Delegated if has_refresh_token => {
            last_refresh_at.map(|at| at + INACTIVITY_LIMIT)
        }
        _ => None,
    };
    Ok(Connection {
        id: row.get(0)?,
        registration_id: row.get(1)?,
        registration_name: row.get(2)?,
        kind,
        account_key: row.get(4)?,
        address: row.get(5)?,
        display_name: row.get(6)?,
        tenant_id: row.get(7)?,
        account_type: enum_from(row.get(8)?)?,
        preset: enum_from(row.get(9)?)?,
        scopes_missing: missing_scopes(&requested, &granted),
        scopes_requested: requested,
        scopes_granted: granted,
        has_refresh_token,
        state: enum_from(row.get(13)?)?,
        state_reason: row.get(14)?,
        created_at: row.get(15)?,
        updated_at: row.get(16)?,
        last_refresh_at,
        access_expires_at: row.get(18)?,
        retry_attempt: row.get(19)?,
        next_refresh_at: row.get(20)?,
        last_used_at: row.get(21)?,
        state_aadsts: row.get(22)?,
        inactivity_deadline,
    })
}

impl Store {
    pub fn insert_connection(&self, c: &NewConnection<'_>, now: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "INSERT INTO connections (id, registration_id, kind, account_key, address, display_name, tenant_id, account_type, \
             preset, scopes_requested, scopes_granted, has_refresh_token, state, state_reason, created_at, updated_at, \
             last_refresh_at, access_expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?15, ?16)",
            params![
                c.id, c.registration_id, enum_text(c.kind), c.account_key, c.address, c.display_name, c.tenant_id,
                enum_text(c.account_type), c.preset.as_str(), c.scopes_requested.join(" "), c.scopes_granted.join(" "),
                c.has_refresh_token, enum_text(c.state), c.state_reason, now, c.access_expires_at,
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
        self.conn().execute(
            "UPDATE connections SET address = ?2, display_name = ?3, tenant_id = ?4, account_type = ?5, preset = ?6, \
             scopes_requested = ?7, scopes_granted = ?8, has_refresh_token = ?9, state = ?10, state_reason = ?11, \
             updated_at = ?12, last_refresh_at = ?12, access_expires_at = ?13, retry_attempt = 0, next_refresh_at = NULL, \
             state_aadsts = NULL, notified_problem = NULL WHERE id = ?1",
            params![
                c.id, c.address, c.display_name, c.tenant_id, enum_text(c.account_type), c.preset.as_str(),
                c.scopes_requested.join(" "), c.scopes_granted.join(" "), c.has_refresh_token, enum_text(c.state),
                c.state_reason, now, c.access_expires_at,
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

    /// By id, or by address when exactly one connection has it.
    pub fn get_connection(&self, id_or_address: &str) -> Result<Connection> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM connections c JOIN registrations r ON r.id = c.registration_id \
             WHERE c.id = ?1 OR c.address = ?1 COLLATE NOCASE ORDER BY c.id = ?1 DESC LIMIT 2"
        ))?;
        let rows = stmt
            .query_map([id_or_address], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        match rows.as_slice() {
            [only] => Ok(only.clone()),
            [first, _] if first.id == id_or_address => Ok(first.clone()),
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

    pub fn delete_connection(&self, id: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM events WHERE connection_id = ?1", [id])?;
        tx.execute("DELETE FROM connections WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }
}
