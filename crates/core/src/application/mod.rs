//! Application access: the app works on organisation and shared mailboxes as itself, through
//! client credentials with the registration's own tenant and admin-consented application
//! permissions. Nobody signs in, so there is no refresh token: only the client secret is stored
//! (in the keychain), and app-only access tokens live in memory.
//!
//! - [`token`]: app-only access tokens, one per registration, cached and renewed before expiry
//!   ([`AppTokenCache`], shared with the refresh engine).
//! - [`permissions`]: which application permissions (`roles`) the token carries against what a
//!   chosen use needs.
//! - [`addresses`]: mailbox address syntax and pasted or imported lists.
//! - [`graph`]: the Graph calls (`/users/{address}`), Graph's error body, `429 Retry-After`.
//! - [`mailbox`]: adding mailboxes by address, one or many (bounded concurrency), and storing
//!   them as connections of kind `application`.
//!
//! Exchange configuration (application access policies, RBAC for Applications) is the admin's:
//! this module says what is denied and what to change, it does not change it.

pub mod addresses;

pub mod mailbox;
pub mod permissions;
pub mod token;

#[cfg(test)]
mod testing;

pub use token::{AppToken, AppTokenCache};

use crate::error::Error;
use crate::registration::Registration;

/// Adds the admin consent link to an error that an administrator's consent resolves.
pub fn with_consent_link(e: Error, reg: &Registration) -> Error {
    if e.code() != crate::ErrorCode::NeedsConsent {
        return e;
    }
    let Ok(url) = crate::registration::admin_consent_url(reg) else {
        return e;
    };
    let fix = e
        .detail()
        .and_then(|d| d.fix.clone())
        .unwrap_or_else(|| "Have an administrator grant admin consent.".to_owned());
    e.with_fix(format!("{fix} Admin consent link: {url}"))
}
