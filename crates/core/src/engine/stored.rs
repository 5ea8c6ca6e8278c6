//! Access tokens kept in the keychain beside the refresh token (`access-token/{id}/{audience}`),
//! so every process (the app, each `mailconn token` a mail program runs) hands out the same
//! token until it nears expiry instead of each one refreshing and rotating the refresh token.
//! A keychain that cannot store or read one is no failure: the token is then asked for again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Cached, Engine};
use crate::Sensitive;
use crate::keychain::SecretKey;
use crate::resource::Audience;

/// The keychain entry's value (JSON).
#[derive(Serialize, Deserialize)]
struct Entry {
    token: String,
    expires_at: DateTime<Utc>,
    obtained_at: DateTime<Utc>,
    requested: Vec<String>,
    granted: Vec<String>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

/// The keychain entry that shares an access token with other processes.
pub(super) fn stored_entry(
    id: &str,
    audience: Audience,
    c: &Cached,
) -> (SecretKey, Sensitive<String>) {
    let entry = Entry {
        token: c.token.expose().clone(),
        expires_at: c.expires_at,
        obtained_at: c.obtained_at,
        requested: c.requested.clone(),
        granted: c.granted.clone(),
    };
    let value = Sensitive::new(serde_json::to_string(&entry).unwrap_or_default());
    (SecretKey::access_token(id, audience.as_str()), value)
}

impl Engine {
    /// Stores an access token for other processes.
    pub(super) fn store_token(&self, id: &str, audience: Audience, c: &Cached) {
        let (key, value) = stored_entry(id, audience, c);
        if let Err(e) = self.secrets.set(&key, &value) {
            tracing::warn!(connection = %id, error = %e, "access token not shared through the keychain");
        }
    }

    /// The access token another process (or this one) stored, if any.
    pub(super) fn stored_token(&self, id: &str, audience: Audience) -> Option<Cached> {
        let key = SecretKey::access_token(id, audience.as_str());
        let value = self.secrets.get(&key).ok()??;
        let entry: Entry = serde_json::from_str(value.expose()).ok()?;
        Some(Cached {
            token: Sensitive::new(entry.token.clone()),
            expires_at: entry.expires_at,
            obtained_at: entry.obtained_at,
            requested: entry.requested.clone(),
            granted: entry.granted.clone(),
        })
    }

    /// Removes a connection's stored access tokens (a sign-in that no longer works).
    pub(super) fn unstore_tokens(&self, id: &str) {
        for audience in [Audience::Graph, Audience::Outlook] {
            let _ = self
                .secrets
                .delete(&SecretKey::access_token(id, audience.as_str()));
        }
    }
}
