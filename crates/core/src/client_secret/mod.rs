//! Client-secret lifetime: expiry reminders and guided rotation.
//!
//! - [`reminders`]: pure functions of (secret end dates, thresholds, now): which stage each stored
//!   secret is in, when the next one starts, and whether it still needs a notification.
//! - [`watch`]: the reminder scheduler: computes at start, then sleeps until the next threshold
//!   (or until woken after a change); notifies once per threshold per secret.
//! - [`graph`]: the app registration's `passwordCredentials` read through Graph with the app-only
//!   token, and `addPassword` / `removePassword` for fully in-app rotation.
//! - [`rotation`]: verify the new secret before storing anything, swap it into the keychain
//!   (staged, crash-safe), then re-verify every connection of the registration.
//!
//! Secret values never leave memory here except into the keychain; the store keeps the hint.

pub mod credentials;
pub mod reminders;
pub mod rotation;
pub mod watch;

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{Error, Result};
use crate::registration::Registration;
use crate::store::Store;
use crate::store::registrations::SecretMeta;

/// Records the stored secret's end date (typed in, or read from Graph). An app without a client
/// secret has no end date to keep.
pub fn set_end_date(
    store: &Store,
    reg: &Registration,
    end: NaiveDate,
    now: DateTime<Utc>,
) -> Result<()> {
    if !reg.has_secret {
        return Err(Error::invalid(
            "app",
            format!("\"{}\" has no client secret.", reg.name),
        ));
    }
    store.set_secret_meta(
        &reg.id,
        &SecretMeta {
            present: true,
            hint: reg.secret_hint.clone(),
            label: reg.secret_label.clone(),
            expires: Some(end),
        },
        now,
    )
}
