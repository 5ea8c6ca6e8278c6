//! How a refresh works, start to finish.
//!
//! 1. [`Engine::refresh`] (or an access-token request, or the scheduler) enters the connection's
//!    single flight (`flight.rs`): one token request per connection at a time, whatever the
//!    audience. "Refresh now" and the scheduler refresh the audience the sign-in asked for (its
//!    primary one); an access-token request the audience of the resource asked for.
//! 2. The connection is marked `refreshing`; the registration, the stored refresh token and, for
//!    a confidential app, the client secret are read (`credentials.rs`).
//! 3. The token request goes to Microsoft (`request.rs`) with the identity scopes and the
//!    scopes of ONE audience (Graph, or Outlook for IMAP/POP/SMTP).
//! 4. Success: the tokens are persisted by [`persist_tokens`], the one function every refresh and
//!    every sign-in stores tokens through. A rotated refresh token reaches the keychain *before*
//!    the row says anything, so a crash at any point leaves a usable token (the old one is still
//!    valid at Microsoft). The access token is kept in memory and in the keychain (for the other
//!    process, `stored.rs`); the granted scopes of the other audience stay as they were; the
//!    next refresh is scheduled.
//! 5. Failure: `classify.rs` sorts it and says the next state: `retrying` (attempt, next time,
//!    last error; the refresh token is kept) or a problem someone must act on (reason and AADSTS
//!    code, no retry). A wrong or expired client secret breaks every connection of the app
//!    at once, so all of them are marked.

use chrono::{DateTime, Utc};

use super::classify::Failure;
use super::credentials::{Credentials, transient};
use super::flight::Got;
use super::{Cached, Engine, RefreshReport, request};
use crate::connection::{
    Connection, ConnectionKind, RefreshTokenChange, StateKind, persist_tokens,
};
use crate::error::Result;
use crate::resource::Audience;
use crate::store::connections::Refreshed;

impl Engine {
    /// Refreshes now ("refresh now", `mailconn refresh`). Failures are recorded on the connection
    /// and returned in the report, not as `Err` (that is for a missing connection or database).
    pub async fn refresh(&self, id: &str) -> Result<RefreshReport> {
        self.refresh_since(id, self.clock.now()).await
    }

    /// [`Self::refresh`] unless this process or another refreshed it after `asked_at` (a bulk
    /// run's connections that someone else was refreshing when the run came to them).
    pub(super) async fn refresh_since(
        &self,
        id: &str,
        asked_at: DateTime<Utc>,
    ) -> Result<RefreshReport> {
        let conn = self.store.get_connection(id)?;
        let result = self.refresh_flight(&conn, asked_at, None).await;
        let connection = self.store.get_connection(&conn.id)?;
        let (requested, rotated, error) = match result {
            Ok(Got::Token {
                rotated, requested, ..
            }) => (requested, rotated, None),
            Ok(Got::Elsewhere) => (false, false, None),
            Err(e) => (true, false, Some(e.body())),
        };
        Ok(RefreshReport {
            connection,
            requested,
            rotated,
            error,
        })
    }

    /// Runs under the connection's single flight (both locks held).
    pub(super) async fn refresh_locked(
        &self,
        conn: &Connection,
        audience: Audience,
    ) -> Result<Got> {
        if conn.kind == ConnectionKind::Application {
            return self.check_application(conn).await;
        }
        let now = self.clock.now();
        self.store.record_refreshing(&conn.id, now)?;
        self.emit_changed(&conn.id);
        match self.request(conn, now, audience).await {
            Ok(got) => Ok(got),
            Err(failure) => {
                self.record_failure(conn, &failure)?;
                Err(failure.into_error())
            }
        }
    }

    /// The token request, and storing what it brought.
    async fn request(
        &self,
        conn: &Connection,
        now: DateTime<Utc>,
        audience: Audience,
    ) -> Result<Got, Failure> {
        let Credentials {
            registration: reg,
            refresh_token,
            secret,
        } = self.credentials(conn)?;
        let cloud = reg.cloud().map_err(|error| Failure::Permanent {
            state: StateKind::NeedsSignIn,
            error,
        })?;
        let tenant = conn.tenant_id.clone().unwrap_or_else(|| reg.tenant.clone());
        let scopes = audience.request_scopes(&conn.scopes_requested, &conn.scopes_granted);
        let primary = audience == Audience::primary(&conn.scopes_requested);
        self.token_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tokens = request::refresh(
            &request::RefreshRequest {
                cloud: &cloud,
                tenant: &tenant,
                client_id: &reg.client_id,
                secret: secret.as_ref(),
                refresh_token: &refresh_token,
                scopes: &scopes,
            },
            &self.http,
            now,
        )
        .await?;
        let change = match &tokens.refresh_token {
            Some(new) if new.expose() != refresh_token.expose() => RefreshTokenChange::Store(new),
            _ => RefreshTokenChange::Keep,
        };
        let rotated = matches!(change, RefreshTokenChange::Store(_));
        let done = self.clock.now();
        let granted = audience.merge_granted(&conn.scopes_granted, &tokens.granted);
        let row = Refreshed {
            scopes_granted: &granted,
            has_refresh_token: true,
            // The row shows the primary audience's token (the one the schedule is about).
            access_expires_at: if primary {
                tokens.expires_at
            } else {
                conn.access_expires_at.unwrap_or(tokens.expires_at)
            },
            next_refresh_at: None,
        };
        persist_tokens(self.secrets.as_ref(), &conn.id, change, || {
            self.store.record_refreshed(&conn.id, &row, done)
        })
        .map_err(transient)?;
        let which = match audience {
            _ if primary => "",
            Audience::Graph => " for Microsoft Graph",
            Audience::Outlook => " for IMAP, POP and SMTP",
        };
        let summary = if rotated {
            format!("Refreshed{which}; the new refresh token is stored")
        } else {
            format!("Refreshed{which}; the refresh token did not change")
        };
        let _ = self
            .store
            .add_event(&conn.id, done, "refreshed", &summary, None);
        if conn.state == StateKind::Retrying || conn.needs_attention() {
            let recovered = "Working again after failed refreshes";
            let _ = self
                .store
                .add_event(&conn.id, done, "recovered", recovered, None);
        }
        let cached = Cached {
            token: tokens.access_token.clone(),
            expires_at: tokens.expires_at,
            obtained_at: done,
            requested: scopes.clone(),
            granted: tokens.granted.clone(),
        };
        self.store_token(&conn.id, audience, &cached);
        self.remember(&conn.id, audience, cached);
        tracing::info!(connection = %conn.id, rotated, audience = audience.as_str(), "refreshed");
        self.reschedule(&conn.id).map_err(transient)?;
        self.after_change(&conn.id);
        Ok(Got::Token {
            token: tokens.access_token,
            expires_at: tokens.expires_at,
            granted: tokens.granted,
            rotated,
            requested: true,
        })
    }

    /// Stores the state a failure leaves the connection in, with a history entry.
    pub(super) fn record_failure(&self, conn: &Connection, failure: &Failure) -> Result<()> {
        let now = self.clock.now();
        let error = failure.error();
        let class = failure.class_label();
        let summary = format!("Refresh failed ({class}): {}", error.message());
        let aadsts = error.detail().and_then(|d| d.aadsts);
        tracing::warn!(connection = %conn.id, class, aadsts = ?aadsts, "refresh failed");
        let state = failure.next_state(&conn.state, &self.config(), now, rand::random::<f64>());
        // An expired or wrong client secret breaks every connection of the app at once.
        let affected = if state == StateKind::SecretExpired {
            self.store
                .connections_of_registration(&conn.registration_id)?
        } else {
            vec![conn.clone()]
        };
        for c in affected {
            self.store.record_state(&c.id, &state, now)?;
            self.store
                .add_event(&c.id, now, "failed", &summary, error.detail())?;
            if matches!(failure, Failure::Permanent { .. }) {
                self.forget_tokens(&c.id);
            }
            self.after_change(&c.id);
        }
        Ok(())
    }
}
