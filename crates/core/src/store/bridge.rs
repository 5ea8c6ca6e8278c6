//! The bridge's tables: `bridge_passwords` (a local password per program or device, bound to one
//! connection: its public lookup key, an Argon2id hash of the rest, its last use and count) and
//! `bridge_settings` (one row: the listeners' settings as JSON and the bridge's certificate, whose
//! private key is in the keychain). No password is stored here, only its hash.

/// Schema version 9.
pub(super) const V1: &str = "
CREATE TABLE bridge_passwords (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    program       TEXT NOT NULL,
    hash          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    last_peer     TEXT,
    use_count     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX bridge_passwords_by_program ON bridge_passwords (connection_id, program COLLATE NOCASE);
CREATE TABLE bridge_settings (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    settings    TEXT,
    certificate TEXT
);
";

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::Store;
use crate::error::{Error, ErrorCode, Result};
use serde::Serialize;
use ts_rs::TS;

/// A local password as lists show it (never the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BridgePassword {
    pub id: String,
    pub connection_id: String,
    /// The local user name: the mailbox address.
    pub address: String,
    pub program: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The address the last login came from.
    pub last_peer: Option<String>,
    #[ts(type = "number")]
    pub use_count: u64,
}

const COLUMNS: &str = "p.id, p.connection_id, c.address, p.program, p.created_at, p.last_used_at, p.last_peer, p.use_count";

fn password_row(r: &Row<'_>) -> rusqlite::Result<BridgePassword> {
    Ok(BridgePassword {
        id: r.get(0)?,
        connection_id: r.get(1)?,
        address: r.get(2)?,
        program: r.get(3)?,
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
        last_peer: r.get(6)?,
        use_count: r.get(7)?,
    })
}

impl Store {
    /// Adds a local password; refused when the connection already has one for this program.
    pub fn add_bridge_password(
        &self,
        id: &str,
        connection_id: &str,
        program: &str,
        hash: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let n = self.conn().execute(
            "INSERT INTO bridge_passwords (id, connection_id, program, hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![id, connection_id, program, hash, at],
        )?;
        if n == 0 {
            return Err(Error::new(
                ErrorCode::Validation,
                format!("This connection already has a bridge password for \"{program}\"."),
            )
            .with_fix(
                "Give the program or device another name, or remove its password first and add a new one.",
            ));
        }
        Ok(())
    }

    /// Every local password (of one connection when given), oldest first.
    pub fn bridge_passwords(&self, connection_id: Option<&str>) -> Result<Vec<BridgePassword>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM bridge_passwords p JOIN connections c ON c.id = p.connection_id
             WHERE ?1 IS NULL OR p.connection_id = ?1 ORDER BY p.created_at, p.id"
        ))?;
        let rows = stmt
            .query_map(params![connection_id], password_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// One password and its hash, by its lookup key.
    pub fn bridge_password(&self, id: &str) -> Result<Option<(BridgePassword, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS}, p.hash FROM bridge_passwords p JOIN connections c ON c.id = p.connection_id
             WHERE p.id = ?1"
        ))?;
        Ok(stmt
            .query_row(params![id], |r| Ok((password_row(r)?, r.get(8)?)))
            .optional()?)
    }

    /// Removes a password; false when there was none.
    pub fn remove_bridge_password(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM bridge_passwords WHERE id = ?1", params![id])?
            > 0)
    }

    /// Records a successful local login.
    pub fn record_bridge_use(&self, id: &str, at: DateTime<Utc>, peer: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE bridge_passwords SET last_used_at = ?2, last_peer = ?3, use_count = use_count + 1 WHERE id = ?1",
            params![id, at, peer],
        )?;
        Ok(())
    }

    /// The connections that have at least one bridge password (kept refreshed while the bridge
    /// runs).
    pub fn bridge_connections(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT DISTINCT connection_id FROM bridge_passwords ORDER BY 1")?;
        let rows = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    /// The bridge's settings as stored (JSON), if ever saved.
    pub fn bridge_settings_json(&self) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT settings FROM bridge_settings WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    pub fn save_bridge_settings_json(&self, json: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO bridge_settings (id, settings) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET settings = excluded.settings",
            params![json],
        )?;
        Ok(())
    }

    /// The bridge's certificate (PEM; public).
    pub fn bridge_certificate(&self) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT certificate FROM bridge_settings WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Saves the certificate; the settings stay as they were (none saved: the defaults).
    pub fn save_bridge_certificate(&self, pem: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO bridge_settings (id, certificate) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET certificate = excluded.certificate",
            params![pem],
        )?;
        Ok(())
    }
}
