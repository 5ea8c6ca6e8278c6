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

pub mod graph;
pub mod reminders;
pub mod rotation;
pub mod watch;
