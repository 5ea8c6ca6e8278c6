//! The `registrations` table: the user's Entra app registrations, without their secrets (those
//! are in the keychain, keyed by the registration's id).

/// Schema version 1.
pub(super) const V1: &str = "
CREATE TABLE registrations (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    client_id       TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('public', 'confidential')),
    tenant          TEXT NOT NULL,
    cloud           TEXT NOT NULL,
    authority_url   TEXT,
    graph_url       TEXT,
    usage           TEXT NOT NULL CHECK (usage IN ('delegated', 'application', 'both')),
    audience        TEXT NOT NULL,
    preset          TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    has_secret      INTEGER NOT NULL DEFAULT 0,
    secret_label    TEXT,
    secret_hint     TEXT,
    secret_expires  TEXT,
    last_test_at    TEXT,
    last_test_ok    INTEGER,
    last_test_note  TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
";

/// Schema version 8: the registration's own mail servers (`HOST:PORT`, checked by
/// `mail_servers::parse`), for custom and national clouds or in place of Microsoft's.
pub(super) const V2_MAIL_SERVERS: &str = "
ALTER TABLE registrations ADD COLUMN imap_server TEXT;
ALTER TABLE registrations ADD COLUMN pop_server TEXT;
ALTER TABLE registrations ADD COLUMN smtp_server TEXT;
";

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Store, enum_from, enum_text};
use crate::cloud::CloudId;
use crate::error::{Error, ErrorCode, Result};
use crate::mail_servers::MailProtocol;
use crate::registration::{Audience, ClientKind, LastTest, Registration, Usage, Valid};
use crate::scopes::Preset;

const COLUMNS: &str = "r.id, r.name, r.client_id, r.kind, r.tenant, r.cloud, r.authority_url, r.graph_url, \
    r.usage, r.audience, r.preset, r.redirect_uri, r.has_secret, r.secret_label, r.secret_hint, \
    r.secret_expires, r.last_test_at, r.last_test_ok, r.last_test_note, r.created_at, r.updated_at, \
    (SELECT COUNT(*) FROM connections c WHERE c.registration_id = r.id), \
    r.imap_server, r.pop_server, r.smtp_server";

/// Secret metadata kept beside the registration (never the value).
#[derive(Debug, Clone, Default)]
pub struct SecretMeta {
    pub present: bool,
    pub hint: Option<String>,
    pub label: Option<String>,
    pub expires: Option<NaiveDate>,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Registration> {
    let last_test = match row.get::<_, Option<DateTime<Utc>>>(16)? {
        Some(at) => Some(LastTest {
            at,
            ok: row.get::<_, Option<bool>>(17)?.unwrap_or(false),
            summary: row.get::<_, Option<String>>(18)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Registration {
        id: row.get(0)?,
        name: row.get(1)?,
        client_id: row.get(2)?,
        kind: enum_from::<ClientKind>(row.get(3)?)?,
        tenant: row.get(4)?,
        cloud: enum_from::<CloudId>(row.get(5)?)?,
        authority_url: row.get(6)?,
        graph_url: row.get(7)?,
        imap_server: row.get(22)?,
        pop_server: row.get(23)?,
        smtp_server: row.get(24)?,
        usage: enum_from::<Usage>(row.get(8)?)?,
        audience: enum_from::<Audience>(row.get(9)?)?,
        preset: enum_from::<Preset>(row.get(10)?)?,
        redirect_uri: row.get(11)?,
        has_secret: row.get(12)?,
        secret_label: row.get(13)?,
        secret_hint: row.get(14)?,
        secret_expires: row.get(15)?,
        last_test,
        created_at: row.get(19)?,
        updated_at: row.get(20)?,
        connections: row.get(21)?,
    })
}

/// The stored text of the registration's own server for a protocol.
fn server_text(v: &Valid, protocol: MailProtocol) -> Option<String> {
    v.mail_servers.get(protocol).map(ToString::to_string)
}

fn name_taken(e: rusqlite::Error, name: &str) -> Error {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Error::new(
                ErrorCode::Conflict,
                format!("An app named \"{name}\" already exists. Choose another name."),
            )
            .with_detail(crate::ErrorDetail {
                field: Some("name".into()),
                ..Default::default()
            })
        }
        _ => e.into(),
    }
}

impl Store {
    pub fn insert_registration(
        &self,
        id: &str,
        v: &Valid,
        secret: &SecretMeta,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let custom = v.cloud.id == CloudId::Custom;
        self.conn()
            .execute(
                "INSERT INTO registrations (id, name, client_id, kind, tenant, cloud, authority_url, graph_url, usage, \
                 audience, preset, redirect_uri, has_secret, secret_label, secret_hint, secret_expires, created_at, updated_at, \
                 imap_server, pop_server, smtp_server) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17, ?18, ?19, ?20)",
                params![
                    id, v.name, v.client_id, enum_text(v.kind), v.tenant, v.cloud.id.as_str(),
                    custom.then_some(&v.cloud.authority), custom.then_some(&v.cloud.graph),
                    enum_text(v.usage), enum_text(v.audience), v.preset.as_str(), v.redirect_uri,
                    secret.present, secret.label, secret.hint, secret.expires, now,
                    server_text(v, MailProtocol::Imap), server_text(v, MailProtocol::Pop),
                    server_text(v, MailProtocol::Smtp),
                ],
            )
            .map_err(|e| name_taken(e, &v.name))?;
        Ok(())
    }

    /// Replaces every field; secret metadata only when `secret` is given.
    pub fn update_registration(
        &self,
        id: &str,
        v: &Valid,
        secret: Option<&SecretMeta>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let custom = v.cloud.id == CloudId::Custom;
        let conn = self.conn();
        let n = conn
            .execute(
                "UPDATE registrations SET name = ?2, client_id = ?3, kind = ?4, tenant = ?5, cloud = ?6, authority_url = ?7, \
                 graph_url = ?8, usage = ?9, audience = ?10, preset = ?11, redirect_uri = ?12, updated_at = ?13, \
                 imap_server = ?14, pop_server = ?15, smtp_server = ?16 WHERE id = ?1",
                params![
                    id, v.name, v.client_id, enum_text(v.kind), v.tenant, v.cloud.id.as_str(),
                    custom.then_some(&v.cloud.authority), custom.then_some(&v.cloud.graph),
                    enum_text(v.usage), enum_text(v.audience), v.preset.as_str(), v.redirect_uri, now,
                    server_text(v, MailProtocol::Imap), server_text(v, MailProtocol::Pop),
                    server_text(v, MailProtocol::Smtp),
                ],
            )
            .map_err(|e| name_taken(e, &v.name))?;
        if n == 0 {
            return Err(Error::not_found("That app registration no longer exists."));
        }
        if let Some(s) = secret {
            conn.execute(
                "UPDATE registrations SET has_secret = ?2, secret_label = ?3, secret_hint = ?4, secret_expires = ?5 WHERE id = ?1",
                params![id, s.present, s.label, s.hint, s.expires],
            )?;
        }
        Ok(())
    }

    pub fn list_registrations(&self) -> Result<Vec<Registration>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM registrations r ORDER BY r.name COLLATE NOCASE"
        ))?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Finds a registration by id, or by name (case-insensitive), as the CLI accepts either.
    pub fn find_registration(&self, id_or_name: &str) -> Result<Registration> {
        let conn = self.conn();
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM registrations r WHERE r.id = ?1 OR r.name = ?1 COLLATE NOCASE ORDER BY r.id = ?1 DESC LIMIT 1"),
            [id_or_name],
            from_row,
        )
        .optional()?
        .ok_or_else(|| {
            Error::not_found(format!("No app registration is called \"{id_or_name}\"."))
                .with_fix("List them with `mailconn app list`.")
        })
    }

    pub fn record_registration_test(&self, id: &str, test: &LastTest) -> Result<()> {
        self.conn().execute(
            "UPDATE registrations SET last_test_at = ?2, last_test_ok = ?3, last_test_note = ?4 WHERE id = ?1",
            params![id, test.at, test.ok, test.summary],
        )?;
        Ok(())
    }

    pub fn delete_registration(&self, id: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM events WHERE connection_id IN (SELECT id FROM connections WHERE registration_id = ?1)", [id])?;
        tx.execute("DELETE FROM connections WHERE registration_id = ?1", [id])?;
        tx.execute("DELETE FROM registrations WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// The ids of the connections that use a registration.
    pub fn connection_ids_of(&self, registration_id: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id FROM connections WHERE registration_id = ?1")?;
        let ids = stmt
            .query_map([registration_id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids)
    }
}
