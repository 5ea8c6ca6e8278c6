//! Application-access mailboxes, stored as rows of the `connections` table (kind `application`,
//! preset `application`, no refresh token). `account_key` is the mailbox's Graph user id; a
//! mailbox Graph could not resolve (unknown address, access denied before the id was known) keeps
//! `address:{address}` until a later check finds it. No new table: these functions only read and
//! update such rows; new rows go through [`Store::insert_connection`].

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, enum_text};
use crate::connection::{Connection, ConnectionKind, TokenState};
use crate::error::Result;

/// The `account_key` of a mailbox whose Graph id is not known yet.
pub fn unresolved_key(address: &str) -> String {
    format!("address:{}", address.to_ascii_lowercase())
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
    pub state_reason: Option<&'a str>,
    pub access_expires_at: Option<DateTime<Utc>>,
}

impl Store {
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
        let changed = self.conn().execute(
            "UPDATE connections SET account_key = ?2, address = ?3, display_name = ?4, tenant_id = ?5, \
             scopes_requested = ?6, scopes_granted = ?7, state = ?8, state_reason = ?9, updated_at = ?10, \
             last_refresh_at = ?10, access_expires_at = ?11 WHERE id = ?1 AND kind = ?12",
            params![
                id, m.account_key, m.address, m.display_name, m.tenant_id,
                m.scopes_requested.join(" "), m.scopes_granted.join(" "), enum_text(m.state),
                m.state_reason, now, m.access_expires_at, enum_text(ConnectionKind::Application),
            ],
        )?;
        Ok(changed == 1)
    }
}
