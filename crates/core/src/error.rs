//! The one error type of the core, and the shape in which errors reach the UI and the CLI.
//!
//! Every error carries an [`ErrorCode`] the UI branches on (never on message text), a message a
//! person can act on, and optional [`ErrorDetail`]: the form field it belongs to, the AADSTS code,
//! trace and correlation IDs, Microsoft Graph's error code and request IDs, the fix in words and
//! the [`Remedy`] the interface offers as a button. Messages never contain secret values.

use std::fmt;

use serde::Serialize;
use ts_rs::TS;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure this is; the UI and the CLI's exit code branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Input the user typed or pasted is wrong; `detail.field` names the field.
    Validation,
    NotFound,
    Conflict,
    /// There is no keychain service on this system (no Secret Service on the session bus).
    KeychainUnavailable,
    /// The keychain exists but is locked or refused access.
    KeychainLocked,
    /// Any other keychain failure.
    Keychain,
    Database,
    DataDir,
    /// The network or the identity provider could not be reached; worth retrying.
    Network,
    /// The identity provider answered with an error (AADSTS code in `detail`).
    IdentityProvider,
    NeedsSignIn,
    NeedsConsent,
    /// The connection does not let programs fetch its tokens (its "programs" switch is off).
    NotAllowed,
    Cancelled,
    Timeout,
    Internal,
}

/// The one-click way out the app offers for an error; crosses IPC in the error's detail so the
/// interface picks its buttons from it (never from the code number or the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Remedy {
    /// The sign-in is no longer valid: sign in again (reconnect).
    SignInAgain,
    /// The sign-in attempt itself went wrong or was declined: start it again.
    Retry,
    /// An administrator must approve the app: offer the admin consent link.
    AdminConsent,
    /// The client secret is wrong or expired: rotate it.
    RotateSecret,
    /// The tenant (or the account's audience) does not fit: use another tenant value.
    ChangeTenant,
    /// The redirect URI registered in the portal does not match: fix it there.
    FixRedirectUri,
    /// The registration's platform, client ID or secret setting is wrong: check the app's settings.
    FixRegistration,
    /// Blocked by policy: only an administrator can help.
    ContactAdmin,
}

/// Extra facts about an error, for display next to the message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
pub struct ErrorDetail {
    /// The form field (or CLI option) the error belongs to.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Microsoft's AADSTS error number, when there is one.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aadsts: Option<u32>,
    /// The OAuth `error` value (`invalid_grant`, `access_denied`, ...).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth_error: Option<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Microsoft Graph's error code (`ErrorAccessDenied`, `Request_ResourceNotFound`, ...).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_error: Option<String>,
    /// Microsoft Graph's `request-id` of the failed call (support asks for it).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The `client-request-id` the app sent with the failed Graph call.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    /// What the user should do about it, in words.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The one-click way out the interface offers (from the AADSTS catalogue entry).
    #[ts(optional, inline)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
}

/// An error as it crosses IPC and as the CLI prints it with `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<ErrorDetail>,
}

/// The core's error. Boxed so that `Result`s stay small on the happy path.
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    code: ErrorCode,
    message: String,
    detail: Option<ErrorDetail>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            code,
            message: message.into(),
            detail: None,
            source: None,
        }))
    }

    /// A validation error attached to one input field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message).with_detail(ErrorDetail {
            field: Some(field.to_owned()),
            ..ErrorDetail::default()
        })
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    #[must_use]
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.0.detail = Some(detail);
        self
    }

    #[must_use]
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.0.detail.get_or_insert_with(ErrorDetail::default).fix = Some(fix.into());
        self
    }

    /// Adds a fix unless the error already carries a more specific one.
    #[must_use]
    pub fn with_fix_if_missing(self, fix: &str) -> Self {
        if self.detail().and_then(|d| d.fix.as_ref()).is_some() {
            self
        } else {
            self.with_fix(fix)
        }
    }

    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn detail(&self) -> Option<&ErrorDetail> {
        self.0.detail.as_ref()
    }

    pub fn field(&self) -> Option<&str> {
        self.detail().and_then(|d| d.field.as_deref())
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.0.code,
            message: self.0.message.clone(),
            detail: self.0.detail.clone(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::new(ErrorCode::Database, format!("The database failed: {e}")).with_source(e)
    }
}

impl From<rusqlite_migration::Error> for Error {
    fn from(e: rusqlite_migration::Error) -> Self {
        Error::new(
            ErrorCode::Database,
            format!("The database could not be upgraded: {e}"),
        )
        .with_source(e)
    }
}
