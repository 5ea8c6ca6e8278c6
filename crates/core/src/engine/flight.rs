//! Single flight: one token request per connection at a time. In this process a per-connection
//! async mutex makes late callers wait and take the result of the refresh they waited for; across
//! processes (the app and the CLI) a lock file in the data directory (`lock.rs`) does the
//! same, and a caller that only wanted a refresh skips one another process has just made.
//! Handing out access tokens (cached while they have more than the margin left) lives here too.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{AccessToken, Engine, lock};
use crate::Sensitive;
use crate::connection::Connection;
use crate::error::{Error, Result};

/// The outcome of one token request (or of the one a caller waited for).
pub(super) enum Got {
    Token {
        token: Sensitive<String>,
        expires_at: DateTime<Utc>,
        rotated: bool,
        requested: bool,
    },
    /// Another process refreshed it just now; this one has no access token from it.
    Elsewhere,
}

impl Engine {
    /// A valid access token for a connection: the cached one while it has more than the margin
    /// left, else a refresh (shared with any other caller asking at the same time).
    pub async fn access_token(&self, id: &str) -> Result<AccessToken> {
        let conn = self.store.get_connection(id)?;
        let now = self.clock.now();
        self.store.record_used(&conn.id, now)?;
        if let Some((token, expires_at)) = self.cached(&conn.id, now) {
            return Ok(AccessToken {
                token,
                expires_at,
                connection: self.store.get_connection(&conn.id)?,
            });
        }
        match self.refresh_flight(&conn, now, true).await? {
            Got::Token {
                token, expires_at, ..
            } => Ok(AccessToken {
                token,
                expires_at,
                connection: self.store.get_connection(&conn.id)?,
            }),
            Got::Elsewhere => Err(Error::internal("a token was requested but none was kept")),
        }
    }

    fn cached(&self, id: &str, now: DateTime<Utc>) -> Option<(Sensitive<String>, DateTime<Utc>)> {
        let cache = self.cache.lock().expect("cache poisoned");
        let c = cache.get(id)?;
        (c.expires_at - self.config.margin > now).then(|| (c.token.clone(), c.expires_at))
    }

    fn flight(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.flights
            .lock()
            .expect("flights poisoned")
            .entry(id.to_owned())
            .or_default()
            .clone()
    }

    /// One refresh per connection: waits for a running one and takes its result, else takes the
    /// cross-process lock and refreshes (unless another process just did and no token is needed).
    pub(super) async fn refresh_flight(
        &self,
        conn: &Connection,
        asked_at: DateTime<Utc>,
        need_token: bool,
    ) -> Result<Got> {
        let flight = self.flight(&conn.id);
        let _turn = flight.lock().await;
        if let Some(got) = self.fresh_since(&conn.id, asked_at) {
            return Ok(got);
        }
        let _file = lock::acquire(&self.locks, &conn.id, self.config.lock_wait).await?;
        let current = self.store.get_connection(&conn.id)?;
        if !need_token && current.last_refresh_at.is_some_and(|at| at >= asked_at) {
            return Ok(Got::Elsewhere);
        }
        self.refresh_locked(&current).await
    }

    /// A token this process obtained after `asked_at` (the refresh the caller waited for).
    fn fresh_since(&self, id: &str, asked_at: DateTime<Utc>) -> Option<Got> {
        let cache = self.cache.lock().expect("cache poisoned");
        let c = cache.get(id)?;
        (c.obtained_at >= asked_at).then(|| Got::Token {
            token: c.token.clone(),
            expires_at: c.expires_at,
            rotated: false,
            requested: false,
        })
    }
}
