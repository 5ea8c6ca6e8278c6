//! Connections: one connected mailbox each, delegated (someone signed in) or application access.
//! The refresh token lives in the keychain under `refresh-token/{connection id}`; this module
//! stores the rest and decides what a sign-in result means for an existing connection.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Sensitive;
use crate::error::{Error, ErrorCode, Result};
use crate::flow::identity::AccountType;
use crate::keychain::{Keychain, SecretKey};
use crate::scopes::Preset;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    Delegated,
    Application,
}

/// Where a connection's tokens stand, with what belongs to that state: the attempt and next time
/// of a retry, the reason and AADSTS code of a problem. Stored in the `state`, `state_reason`,
/// `state_aadsts` and `retry_attempt` columns, mapped in one place (`store::connections`).
///
/// Over IPC and in `--json` it is flattened into the connection: `state` is the variant's name
/// and the variant's fields keep their column names (`state_reason`, `state_aadsts`,
/// `retry_attempt`).
#[derive(Debug, Clone, PartialEq, Eq, TS)]
#[ts(tag = "state", rename_all = "snake_case")]
pub enum TokenState {
    /// Working. `note` is a warning that does not stop it (Microsoft issued no refresh token, or
    /// something to know about an application-access mailbox).
    Active {
        #[ts(rename = "state_reason")]
        note: Option<String>,
    },
    /// A token request is under way (seen by the other process and the UI).
    Refreshing,
    /// A transient failure (network, 5xx, 429): retrying with backoff, the refresh token kept.
    Retrying {
        /// Failed attempts in a row (1 after the first failure).
        #[ts(rename = "retry_attempt")]
        attempt: u32,
        /// When the next attempt runs (the connection's `next_refresh_at`, which carries it over
        /// IPC).
        #[ts(skip)]
        next_at: DateTime<Utc>,
        #[ts(rename = "state_reason")]
        last_error: String,
    },
    /// The refresh token no longer works: only a new sign-in helps.
    NeedsSignIn {
        #[ts(rename = "state_reason")]
        reason: String,
        #[ts(rename = "state_aadsts")]
        aadsts: Option<u32>,
    },
    /// An administrator (or the user) must consent to the permissions.
    NeedsConsent {
        #[ts(rename = "state_reason")]
        reason: String,
        #[ts(rename = "state_aadsts")]
        aadsts: Option<u32>,
    },
    /// The registration's client secret expired or is wrong: rotate it.
    SecretExpired {
        #[ts(rename = "state_reason")]
        reason: String,
        #[ts(rename = "state_aadsts")]
        aadsts: Option<u32>,
    },
    /// Application access: the app's token works but this mailbox is out of its reach (unknown
    /// address, or an Exchange application access policy / RBAC scope denies it).
    NoAccess {
        #[ts(rename = "state_reason")]
        reason: String,
        #[ts(rename = "state_aadsts")]
        aadsts: Option<u32>,
    },
    Disconnected,
}

/// Every connection's JSON (IPC and `--json`) has the same four state fields, whatever the state:
/// `state` and `state_reason`, `state_aadsts` and `retry_attempt` (null or 0 where the state has
/// no such data), as before the state carried its data, so scripts reading them keep working.
impl Serialize for TokenState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("state", self.kind().as_str())?;
        map.serialize_entry("state_reason", &self.reason())?;
        map.serialize_entry("state_aadsts", &self.aadsts())?;
        map.serialize_entry("retry_attempt", &self.attempt())?;
        map.end()
    }
}

/// Which [`TokenState`] a connection is in, without its data: for comparisons, notices, filters.
/// Serialized as the state's name (`needs_sign_in`), the same text as the `state` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    Active,
    Refreshing,
    Retrying,
    NeedsSignIn,
    NeedsConsent,
    SecretExpired,
    NoAccess,
    Disconnected,
}

impl StateKind {
    pub const ALL: [Self; 8] = [
        Self::Active,
        Self::Refreshing,
        Self::Retrying,
        Self::NeedsSignIn,
        Self::NeedsConsent,
        Self::SecretExpired,
        Self::NoAccess,
        Self::Disconnected,
    ];

    /// The state's name, as stored and as sent over IPC.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Refreshing => "refreshing",
            Self::Retrying => "retrying",
            Self::NeedsSignIn => "needs_sign_in",
            Self::NeedsConsent => "needs_consent",
            Self::SecretExpired => "secret_expired",
            Self::NoAccess => "no_access",
            Self::Disconnected => "disconnected",
        }
    }

    /// Whether the user must act (sign in, consent, rotate a secret, grant access).
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            Self::NeedsSignIn | Self::NeedsConsent | Self::SecretExpired | Self::NoAccess
        )
    }
}

impl TokenState {
    /// Working, with nothing to note.
    pub const ACTIVE: Self = Self::Active { note: None };

    pub fn kind(&self) -> StateKind {
        match self {
            Self::Active { .. } => StateKind::Active,
            Self::Refreshing => StateKind::Refreshing,
            Self::Retrying { .. } => StateKind::Retrying,
            Self::NeedsSignIn { .. } => StateKind::NeedsSignIn,
            Self::NeedsConsent { .. } => StateKind::NeedsConsent,
            Self::SecretExpired { .. } => StateKind::SecretExpired,
            Self::NoAccess { .. } => StateKind::NoAccess,
            Self::Disconnected => StateKind::Disconnected,
        }
    }

    /// A state someone must act on: `kind` is one of the problem kinds (any other kind gives
    /// `NeedsSignIn`, the problem a token request reports when nothing more specific is known).
    pub fn problem(kind: StateKind, reason: String, aadsts: Option<u32>) -> Self {
        match kind {
            StateKind::NeedsConsent => Self::NeedsConsent { reason, aadsts },
            StateKind::SecretExpired => Self::SecretExpired { reason, aadsts },
            StateKind::NoAccess => Self::NoAccess { reason, aadsts },
            _ => Self::NeedsSignIn { reason, aadsts },
        }
    }

    /// What the UI and CLI show next to the state: the problem, the last error of a retry, or an
    /// active connection's note.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Active { note } => note.as_deref(),
            Self::Retrying { last_error, .. } => Some(last_error),
            Self::NeedsSignIn { reason, .. }
            | Self::NeedsConsent { reason, .. }
            | Self::SecretExpired { reason, .. }
            | Self::NoAccess { reason, .. } => Some(reason),
            Self::Refreshing | Self::Disconnected => None,
        }
    }

    /// The AADSTS code behind a problem, when Microsoft sent one.
    pub fn aadsts(&self) -> Option<u32> {
        match self {
            Self::NeedsSignIn { aadsts, .. }
            | Self::NeedsConsent { aadsts, .. }
            | Self::SecretExpired { aadsts, .. }
            | Self::NoAccess { aadsts, .. } => *aadsts,
            _ => None,
        }
    }

    /// Failed attempts in a row while retrying; 0 in any other state.
    pub fn attempt(&self) -> u32 {
        match self {
            Self::Retrying { attempt, .. } => *attempt,
            _ => 0,
        }
    }

    pub fn needs_attention(&self) -> bool {
        self.kind().needs_attention()
    }
}

impl PartialEq<StateKind> for TokenState {
    fn eq(&self, other: &StateKind) -> bool {
        self.kind() == *other
    }
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
    #[serde(flatten)]
    pub state: TokenState,
    #[ts(type = "string")]
    pub created_at: DateTime<Utc>,
    #[ts(type = "string")]
    pub updated_at: DateTime<Utc>,
    #[ts(type = "string | null")]
    pub last_refresh_at: Option<DateTime<Utc>>,
    #[ts(type = "string | null")]
    pub access_expires_at: Option<DateTime<Utc>>,
    /// When the engine next refreshes: before the access token expires, the keep-alive, or the
    /// next retry. None when nothing is scheduled (e.g. it needs sign-in).
    #[ts(type = "string | null")]
    pub next_refresh_at: Option<DateTime<Utc>>,
    /// When an access token was last handed out (verification, a program, the app).
    #[ts(type = "string | null")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Delegated connections: when Microsoft forgets the refresh token if it is never used
    /// (90 days after the last refresh).
    #[ts(type = "string | null")]
    pub inactivity_deadline: Option<DateTime<Utc>>,
    /// A short name the user gave it, usable wherever an id or address is.
    pub alias: Option<String>,
    /// Whether programs and scripts may fetch its access tokens (`mailconn token`).
    pub programs_allowed: bool,
}

/// Microsoft revokes a refresh token that has not been used for 90 days.
pub const INACTIVITY_LIMIT: chrono::TimeDelta = chrono::TimeDelta::days(90);

/// When Microsoft forgets a connection's refresh token if it is never used: 90 days after the
/// last refresh, for delegated connections that have one.
pub fn inactivity_deadline(
    kind: ConnectionKind,
    has_refresh_token: bool,
    last_refresh_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match kind {
        ConnectionKind::Delegated if has_refresh_token => {
            last_refresh_at.map(|at| at + INACTIVITY_LIMIT)
        }
        _ => None,
    }
}

impl Connection {
    /// Whether the user must act (sign in, consent, rotate a secret, grant access).
    pub fn needs_attention(&self) -> bool {
        self.state.needs_attention()
    }

    /// Sets the fields that follow from the others (missing scopes, inactivity deadline).
    #[must_use]
    pub fn with_derived_fields(mut self) -> Self {
        self.scopes_missing = match self.kind {
            ConnectionKind::Delegated => crate::scopes::missing_for_tokens(
                &self.scopes_requested,
                &self.scopes_granted,
                self.has_refresh_token,
            ),
            ConnectionKind::Application => {
                crate::scopes::missing(&self.scopes_requested, &self.scopes_granted)
            }
        };
        self.inactivity_deadline =
            inactivity_deadline(self.kind, self.has_refresh_token, self.last_refresh_at);
        self
    }
}

/// How a token response changes a connection's stored refresh token.
#[derive(Debug, Clone, Copy)]
pub enum RefreshTokenChange<'a> {
    /// Microsoft issued this one (a sign-in, or a refresh that rotated it): store it.
    Store(&'a Sensitive<String>),
    /// A sign-in without a refresh token (`offline_access` not granted): none is kept.
    Remove,
    /// The stored one stays (a refresh that sent none, or the same one again).
    Keep,
}

/// Persists tokens Microsoft just issued for a connection, in the order that survives a crash:
/// the refresh token reaches the keychain first, then `write_row` writes the row that says so.
/// If the keychain write fails nothing else happens (the old token is still there and, at
/// Microsoft, still valid); if the row write fails its error is returned and the keychain keeps
/// the new token. Used by every refresh and by every sign-in.
pub fn persist_tokens(
    secrets: &dyn Keychain,
    connection_id: &str,
    refresh_token: RefreshTokenChange<'_>,
    write_row: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let key = SecretKey::refresh_token(connection_id);
    match refresh_token {
        RefreshTokenChange::Store(token) => secrets.set(&key, token)?,
        RefreshTokenChange::Remove => secrets.delete(&key)?,
        RefreshTokenChange::Keep => {}
    }
    write_row()
}

/// The longest alias: short enough to type, and never as long as a connection id (36).
pub const ALIAS_MAX: usize = 32;

/// Checks a connection alias: 1 to 32 letters, digits, `-`, `_` or `.`, starting with a letter
/// (so it never looks like an address, an id or an option).
pub fn validate_alias(alias: &str) -> Result<String> {
    let alias = alias.trim();
    let bad = |why: &str| {
        Error::invalid("alias", format!("The alias \"{alias}\" cannot be used: {why}."))
            .with_fix("Choose a short name of letters, digits, '-', '_' or '.', starting with a letter, e.g. `work` or `home-mail`.")
    };
    if alias.is_empty() {
        return Err(bad("it is empty"));
    }
    if alias.chars().count() > ALIAS_MAX {
        return Err(bad(&format!("it is longer than {ALIAS_MAX} characters")));
    }
    if !alias.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(bad("it must start with a letter"));
    }
    if let Some(c) = alias
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(bad(&format!(
            "'{}' is not allowed in it",
            c.escape_default()
        )));
    }
    Ok(alias.to_owned())
}

/// The error for an unknown connection id or address.
pub fn not_found(id: &str) -> Error {
    Error::new(
        ErrorCode::NotFound,
        format!("No connection is called \"{id}\"."),
    )
    .with_fix("List them with `mailconn list`.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_short_names_that_look_like_nothing_else() {
        assert_eq!(validate_alias(" work ").unwrap(), "work");
        assert_eq!(validate_alias("home-mail_2.x").unwrap(), "home-mail_2.x");
        for (alias, why) in [
            ("", "it is empty"),
            ("2work", "it must start with a letter"),
            ("-work", "it must start with a letter"),
            ("alice@contoso.test", "'@' is not allowed in it"),
            ("my mail", "' ' is not allowed in it"),
            ("caf\u{e9}", "'\\u{e9}' is not allowed in it"),
        ] {
            let e = validate_alias(alias).unwrap_err();
            assert_eq!(e.code(), ErrorCode::Validation);
            assert!(
                e.message().ends_with(&format!("{why}.")),
                "{alias}: {}",
                e.message()
            );
            assert_eq!(e.field(), Some("alias"));
        }
        let long = "a".repeat(ALIAS_MAX + 1);
        assert!(
            validate_alias(&long)
                .unwrap_err()
                .message()
                .contains("longer than 32")
        );
        assert!(validate_alias(&"a".repeat(ALIAS_MAX)).is_ok());
    }

    #[test]
    fn a_state_serializes_as_its_name_and_the_same_four_fields_whatever_the_state() {
        let retrying = TokenState::Retrying {
            attempt: 2,
            next_at: Utc::now(),
            last_error: "down".into(),
        };
        assert_eq!(
            serde_json::to_value(&retrying).unwrap(),
            serde_json::json!({"state": "retrying", "retry_attempt": 2, "state_reason": "down", "state_aadsts": null})
        );
        let signed_out =
            TokenState::problem(StateKind::NeedsSignIn, "Sign in.".into(), Some(50173));
        assert_eq!(
            serde_json::to_value(&signed_out).unwrap(),
            serde_json::json!({"state": "needs_sign_in", "state_reason": "Sign in.", "state_aadsts": 50173, "retry_attempt": 0})
        );
        assert_eq!(
            serde_json::to_value(TokenState::ACTIVE).unwrap(),
            serde_json::json!({"state": "active", "state_reason": null, "state_aadsts": null, "retry_attempt": 0})
        );
        for kind in StateKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
    }
}
