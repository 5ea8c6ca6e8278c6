//! What a verification reports: one [`Step`] per check (Graph profile, newest message, test
//! message, calendar; IMAP, POP and SMTP logins), each passed, failed or skipped with a plain
//! message, the code the server gave (AADSTS, Graph's error code, an SMTP/IMAP answer) and how
//! long it took. The checks themselves are in `graph`, `mail` and `engine::verify`.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::ErrorBody;

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// Not tried: the connection's scopes do not allow it, it was not asked for, or an earlier
    /// step it depends on failed. The message says which.
    Skipped,
}

/// What a step talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StepProtocol {
    /// The token request to the identity provider.
    Token,
    Graph,
    Imap,
    Pop,
    Smtp,
}

/// One check and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Step {
    /// Stable name: `token`; `graph_profile`, `graph_newest_message`, `graph_send_test`,
    /// `graph_calendar`; `imap_connect`, `imap_login`, `imap_select`; `pop_connect`, `pop_login`,
    /// `pop_stat`; `smtp_connect`, `smtp_tls`, `smtp_login`; `application_mailbox`.
    pub name: String,
    pub protocol: StepProtocol,
    pub outcome: Outcome,
    /// What happened, in plain words (for a failure: what it means).
    pub message: String,
    /// What to do about a failure, when something can be done.
    pub fix: Option<String>,
    /// The code the other side gave: `AADSTS70000`, Graph's `ErrorAccessDenied`, `535 5.7.139`,
    /// `NO`...
    pub code: Option<String>,
    /// Whole milliseconds the step took (0 when skipped).
    #[ts(type = "number")]
    pub duration_ms: u64,
}

impl Step {
    pub fn passed(name: &str, protocol: StepProtocol, message: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            protocol,
            outcome: Outcome::Passed,
            message: message.into(),
            fix: None,
            code: None,
            duration_ms: 0,
        }
    }

    pub fn failed(name: &str, protocol: StepProtocol, message: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Failed,
            ..Self::passed(name, protocol, message)
        }
    }

    pub fn skipped(name: &str, protocol: StepProtocol, why: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Skipped,
            ..Self::passed(name, protocol, why)
        }
    }

    #[must_use]
    pub fn with_fix(mut self, fix: Option<String>) -> Self {
        self.fix = fix;
        self
    }

    #[must_use]
    pub fn with_code(mut self, code: Option<String>) -> Self {
        self.code = code;
        self
    }

    /// Sets the duration from when the step started.
    #[must_use]
    pub fn timed(mut self, started: Instant) -> Self {
        self.duration_ms = millis(started.elapsed());
        self
    }
}

pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What a verification may do beyond reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, TS)]
pub struct VerifyOptions {
    /// Send a test message to the mailbox itself (Graph `sendMail`), marked as a test.
    #[serde(default)]
    pub send_test: bool,
}

/// A whole verification of one connection. `connection`, `requested`, `rotated` and `error` keep
/// the shape of a refresh report (`error` is the first failure, for callers that show one);
/// `steps` has every check.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Verification {
    pub connection: crate::connection::Connection,
    /// Whether a token request was made for this verification.
    pub requested: bool,
    pub rotated: bool,
    pub error: Option<ErrorBody>,
    pub steps: Vec<Step>,
}

impl Verification {
    /// No step failed (and the token could be had).
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.steps.iter().all(|s| s.outcome != Outcome::Failed)
    }
}
