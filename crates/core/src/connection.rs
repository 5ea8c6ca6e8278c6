//! Connections: one connected mailbox each, delegated (someone signed in) or application access.
//! The refresh token lives in the keychain under `refresh-token/{connection id}`; this module
//! stores the rest and decides what a sign-in result means for an existing connection.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::connect::Prepared;
use crate::error::{Error, ErrorCode, Result};
use crate::flow::identity::{AccountType, Identity};
use crate::flow::{Tokens, missing_scopes};
use crate::keychain::{Keychain, SecretKey};
use crate::scopes::Preset;
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    Delegated,
    Application,
}

/// Where a connection's tokens stand. Stored with a reason so the UI and CLI say the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    Active,
    Refreshing,
    /// A transient failure (network, 5xx, 429); retrying with backoff.
    Retrying,
    NeedsSignIn,
    NeedsConsent,
    /// The registration's client secret expired or is wrong: rotate it.
    SecretExpired,
    /// Application access: the app's token works but this mailbox is out of its reach (unknown
    /// address, or an Exchange application access policy / RBAC scope denies it).
    NoAccess,
    Disconnected,
}

/// A connection as the UI and CLI see it. No token values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Connection {
    pub id: String,
    pub registration_id: String,
    pub registration_name: String,
    pub kind: ConnectionKind,
    pub account_key: String,
    pub address: String,
    pub display_name: Option<String>,
    pub tenant_id: Option<String>,
    pub account_type: AccountType,
    pub preset: Preset,
    pub scopes_requested: Vec<String>,
    pub scopes_granted: Vec<String>,
    /// Requested but not granted (`offline_access` missing means no refresh token).
    pub scopes_missing: Vec<String>,
    pub has_refresh_token: bool,
    pub state: TokenState,
    pub state_reason: Option<String>,
    #[ts(type = "string")]
    pub created_at: DateTime<Utc>,
    #[ts(type = "string")]
    pub updated_at: DateTime<Utc>,
    #[ts(type = "string | null")]
    pub last_refresh_at: Option<DateTime<Utc>>,
    #[ts(type = "string | null")]
    pub access_expires_at: Option<DateTime<Utc>>,
    /// Failed attempts in a row while `Retrying`.
    pub retry_attempt: u32,
    /// When the engine next refreshes: before the access token expires, the keep-alive, or the
    /// next retry. None when nothing is scheduled (e.g. it needs sign-in).
    #[ts(type = "string | null")]
    pub next_refresh_at: Option<DateTime<Utc>>,
    /// When an access token was last handed out (verification, a program, the app).
    #[ts(type = "string | null")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The AADSTS code behind the current state, when there is one.
    pub state_aadsts: Option<u32>,
    /// Delegated connections: when Microsoft forgets the refresh token if it is never used
    /// (90 days after the last refresh).
    #[ts(type = "string | null")]
    pub inactivity_deadline: Option<DateTime<Utc>>,
}

/// Microsoft revokes a refresh token that has not been used for 90 days.
pub const INACTIVITY_LIMIT: chrono::TimeDelta = chrono::TimeDelta::days(90);

impl Connection {
    /// Whether the user must act (sign in, consent, rotate a secret, grant access).
    pub fn needs_attention(&self) -> bool {
        matches!(
            self.state,
            TokenState::NeedsSignIn
                | TokenState::NeedsConsent
                | TokenState::SecretExpired
                | TokenState::NoAccess
        )
    }
}

/// Stores a delegated sign-in: a new connection, or the same account and app again (updated in
/// place, never duplicated). The refresh token reaches the keychain before the row says so.
pub fn save_sign_in(
    store: &Store,
    secrets: &dyn Keychain,
    request: &Prepared,
    tokens: &Tokens,
    identity: &Identity,
    now: DateTime<Utc>,
) -> Result<(Connection, bool)> {
    let (reg, preset, requested) = (&request.registration, request.preset, &request.scopes);
    let existing = store.find_connection_by_account(&reg.id, &identity.account_key())?;
    let id = existing
        .as_ref()
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), |c| c.id.clone());
    let key = SecretKey::refresh_token(&id);
    match &tokens.refresh_token {
        Some(rt) => secrets.set(&key, rt)?,
        None => secrets.delete(&key)?,
    }
    let missing = missing_scopes(requested, &tokens.granted);
    let reason = if tokens.refresh_token.is_none() {
        Some("Microsoft issued no refresh token (offline_access was not granted), so this connection stops working when the access token expires in about an hour.".to_owned())
    } else {
        None
    };
    let row = crate::store::connections::NewConnection {
        id: &id,
        registration_id: &reg.id,
        kind: ConnectionKind::Delegated,
        account_key: &identity.account_key(),
        address: &identity.address,
        display_name: identity.display_name.as_deref(),
        tenant_id: Some(&identity.tenant_id),
        account_type: identity.account_type,
        preset,
        scopes_requested: requested,
        scopes_granted: &tokens.granted,
        has_refresh_token: tokens.refresh_token.is_some(),
        state: TokenState::Active,
        state_reason: reason.as_deref(),
        access_expires_at: Some(tokens.expires_at),
    };
    let created = existing.is_none();
    let written = if created {
        store.insert_connection(&row, now)
    } else {
        store.update_connection_sign_in(&row, now)
    };
    if let Err(e) = written {
        if created {
            let _ = secrets.delete(&key);
        }
        return Err(e);
    }
    store.add_event(
        &id,
        now,
        if created {
            "connected"
        } else {
            "signed_in_again"
        },
        &format!("Signed in as {}", identity.address),
        None,
    )?;
    if !missing.is_empty() {
        tracing::warn!(connection = %id, missing = ?missing, "scopes requested but not granted");
    }
    Ok((store.get_connection(&id)?, created))
}

/// Removes a connection and its refresh token.
pub fn disconnect(store: &Store, secrets: &dyn Keychain, id: &str) -> Result<Connection> {
    let conn = store.get_connection(id)?;
    secrets.delete(&SecretKey::refresh_token(&conn.id))?;
    store.delete_connection(&conn.id)?;
    tracing::info!(connection = %conn.id, "disconnected");
    Ok(conn)
}

/// The error for an unknown connection id or address.
pub fn not_found(id: &str) -> Error {
    Error::new(
        ErrorCode::NotFound,
        format!("No connection is called \"{id}\"."),
    )
    .with_fix("List them with `mailconn list`.")
}
