//! Exit codes: stable, documented in `--help` and the README, so scripts can branch on them.

use std::process::ExitCode;

use mailconn_core::{Error, ErrorCode};

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  something needs attention (a failed check, a reminder due soon)
  2  wrong usage or invalid input
  3  the keychain is missing, locked or failing
  4  the data directory or database cannot be used
  5  the network or the identity provider failed (worth retrying)
  6  a sign-in or consent is needed
  7  not found
  8  cancelled or timed out
  9  programs may not fetch this connection's tokens (`mailconn programs C allow`)
 10  internal error";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Attention = 1,
    Usage = 2,
    Keychain = 3,
    Storage = 4,
    Network = 5,
    SignIn = 6,
    NotFound = 7,
    Cancelled = 8,
    NotAllowed = 9,
    Internal = 10,
}

impl Exit {
    pub fn from_error(e: &Error) -> Self {
        Self::from_code(e.code())
    }

    pub fn from_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Validation | ErrorCode::Conflict => Exit::Usage,
            ErrorCode::KeychainUnavailable | ErrorCode::KeychainLocked | ErrorCode::Keychain => {
                Exit::Keychain
            }
            ErrorCode::Database | ErrorCode::DataDir => Exit::Storage,
            ErrorCode::Network | ErrorCode::IdentityProvider => Exit::Network,
            ErrorCode::NeedsSignIn | ErrorCode::NeedsConsent => Exit::SignIn,
            ErrorCode::NotFound => Exit::NotFound,
            ErrorCode::NotAllowed => Exit::NotAllowed,
            ErrorCode::Cancelled | ErrorCode::Timeout => Exit::Cancelled,
            ErrorCode::Internal => Exit::Internal,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}
