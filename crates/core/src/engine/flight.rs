//! Single flight: one token request per connection at a time, whatever the audience, so the
//! refresh token rotates once at a time. In this process a per-connection async mutex makes late
//! callers wait and take the result of the refresh they waited for; across processes (the app
//! and the CLI) a lock file in the data directory (`lock.rs`) does the same, and a caller takes
//! the access token another process has just stored in the keychain (`stored.rs`), or, when it
//! only wanted a refresh, skips one another process has just made.
//! Handing out access tokens (cached while they have more than the margin left) lives here too.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{AccessToken, Cached, Engine, lock};
use crate::Sensitive;
use crate::connection::{Connection, ConnectionKind, StateKind};
use crate::error::{Error, ErrorCode, ErrorDetail, Remedy, Result};
use crate::resource::{Audience, Resource};

/// The outcome of one token request (or of the one a caller waited for).
pub(super) enum Got {
    Token {
        token: Sensitive<String>,
        expires_at: DateTime<Utc>,
        granted: Vec<String>,
        rotated: bool,
        requested: bool,
    },
    /// Another process refreshed it just now; this one has no access token from it.
    Elsewhere,
}

impl Got {
    fn from_cached(c: &Cached) -> Self {
        Self::Token {
            token: c.token.clone(),
            expires_at: c.expires_at,
            granted: c.granted.clone(),
            rotated: false,
            requested: false,
        }
    }
}

/// Whether two scope lists say the same, without regard to order or case.
fn same_scopes(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_ascii_lowercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    norm(a) == norm(b)
}

/// Why a connection hands out no token until someone acts, and the command that fixes it.
fn stopped(conn: &Connection) -> Error {
    let who = &conn.address;
    let reason = conn.state.reason().unwrap_or("");
    let (code, message, fix, remedy) = match conn.state.kind() {
        StateKind::NeedsConsent => (
            ErrorCode::NeedsConsent,
            format!("{who} needs consent before it can be used: {reason}"),
            format!(
                "Sign in again and accept: `mailconn reconnect {who}` (or Reconnect in the app)."
            ),
            Remedy::SignInAgain,
        ),
        StateKind::SecretExpired => (
            ErrorCode::NeedsSignIn,
            format!(
                "The client secret of \"{}\" no longer works: {reason}",
                conn.registration_name
            ),
            format!(
                "Give the app a new client secret: `mailconn app rotate-secret {}` (or Rotate in the app).",
                conn.registration_name
            ),
            Remedy::RotateSecret,
        ),
        StateKind::NoAccess => (
            ErrorCode::NeedsConsent,
            format!("The app has no access to {who}: {reason}"),
            "An administrator must grant the app access to this mailbox.".to_owned(),
            Remedy::ContactAdmin,
        ),
        _ => (
            ErrorCode::NeedsSignIn,
            format!("{who} needs you to sign in again: {reason}"),
            format!("Sign in again: `mailconn reconnect {who}` (or Reconnect in the app)."),
            Remedy::SignInAgain,
        ),
    };
    Error::new(code, message.trim_end_matches([' ', ':']).to_owned()).with_detail(ErrorDetail {
        aadsts: conn.state.aadsts(),
        fix: Some(fix),
        remedy: Some(remedy),
        ..ErrorDetail::default()
    })
}

impl Engine {
    /// A valid access token for a connection and resource: the one held here or in the keychain
    /// while it has more than the margin left, else a refresh for that resource's audience
    /// (shared with any other caller asking at the same time, here or in another process).
    ///
    /// Never starts a sign-in: a connection that needs one, or whose consent does not reach the
    /// resource, is an error that says what to run. Marks the connection in use, so the
    /// scheduler refreshes it before the token expires.
    pub async fn access_token(&self, id: &str, resource: Resource) -> Result<AccessToken> {
        let conn = self.store.get_connection(id)?;
        let audience = resource.audience();
        if conn.kind == ConnectionKind::Application && audience != Audience::Graph {
            return Err(Error::invalid(
                "resource",
                format!(
                    "{} is an application-access mailbox: it has Microsoft Graph tokens only, not {}.",
                    conn.address,
                    resource.label()
                ),
            )
            .with_fix("Use --resource graph, or connect the mailbox by signing in with --preset mail-programs."));
        }
        if conn.needs_attention() || conn.state == StateKind::Disconnected {
            return Err(stopped(&conn));
        }
        if conn.kind == ConnectionKind::Delegated {
            let consented = [&conn.scopes_requested[..], &conn.scopes_granted[..]].concat();
            if !resource.allowed_by(&consented) {
                return Err(resource.not_consented(&conn.address));
            }
        }
        let now = self.clock.now();
        self.store.record_used(&conn.id, now)?;
        let requested = audience.request_scopes(&conn.scopes_requested, &conn.scopes_granted);
        let got = if let Some(c) = self.usable(&conn.id, audience, &requested, now) {
            // In use now: the scheduler (here or in the app) renews it before it expires.
            if conn
                .next_refresh_at
                .is_none_or(|at| at > c.expires_at - self.config().margin)
            {
                self.reschedule(&conn.id)?;
            }
            Got::from_cached(&c)
        } else {
            match self.refresh_flight(&conn, now, Some(audience)).await {
                Ok(got) => got,
                Err(e) => return Err(self.explained(&conn.id, e)),
            }
        };
        let Got::Token {
            token,
            expires_at,
            granted,
            ..
        } = got
        else {
            return Err(Error::internal("a token was requested but none was kept"));
        };
        if conn.kind == ConnectionKind::Delegated
            && resource.permission().is_some()
            && !resource.allowed_by(&granted)
        {
            return Err(resource.not_consented(&conn.address));
        }
        Ok(AccessToken {
            token,
            expires_at,
            resource,
            scopes: granted,
            connection: self.store.get_connection(&conn.id)?,
        })
    }

    /// A failed refresh that left the connection needing someone to act is told as that state
    /// (the reason and the command that fixes it), keeping Microsoft's support IDs.
    fn explained(&self, id: &str, e: Error) -> Error {
        match self.store.get_connection(id) {
            Ok(after) if after.needs_attention() => {
                let mut told = stopped(&after);
                if let (Some(from), Some(to)) = (e.detail(), told.detail().cloned()) {
                    told = told.with_detail(ErrorDetail {
                        aadsts: from.aadsts.or(to.aadsts),
                        trace_id: from.trace_id.clone(),
                        correlation_id: from.correlation_id.clone(),
                        timestamp: from.timestamp.clone(),
                        oauth_error: from.oauth_error.clone(),
                        ..to
                    });
                }
                told
            }
            _ => e,
        }
    }

    /// A token held here, else one stored in the keychain, asked for with `requested` and with
    /// more than the margin left.
    fn usable(
        &self,
        id: &str,
        audience: Audience,
        requested: &[String],
        now: DateTime<Utc>,
    ) -> Option<Cached> {
        let fits = |c: &Cached| {
            c.expires_at - self.config().margin > now && same_scopes(&c.requested, requested)
        };
        let held = {
            let cache = self.cache.lock().expect("cache poisoned");
            cache.get(&(id.to_owned(), audience)).cloned()
        };
        if let Some(c) = held.filter(|c| fits(c)) {
            return Some(c);
        }
        let stored = self.stored_token(id, audience).filter(|c| fits(c))?;
        self.remember(id, audience, stored.clone());
        Some(stored)
    }

    pub(super) fn flight(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.flights
            .lock()
            .expect("flights poisoned")
            .entry(id.to_owned())
            .or_default()
            .clone()
    }

    /// One refresh per connection: waits for a running one and takes its result, else takes the
    /// cross-process lock and refreshes (unless another process just did: then a caller that
    /// needs a token takes the one it stored, and one that only wanted a refresh is done).
    /// `want` is the audience of the token needed, `None` for "refresh now" (the primary one).
    pub(super) async fn refresh_flight(
        &self,
        conn: &Connection,
        asked_at: DateTime<Utc>,
        want: Option<Audience>,
    ) -> Result<Got> {
        let audience = want.unwrap_or_else(|| Audience::primary(&conn.scopes_requested));
        let flight = self.flight(&conn.id);
        let _turn = flight.lock().await;
        if let Some(got) = self.fresh_since(&conn.id, audience, asked_at) {
            return Ok(got);
        }
        let _file = lock::acquire(&self.locks, &conn.id, self.config().lock_wait).await?;
        let current = self.store.get_connection(&conn.id)?;
        match want {
            Some(audience) if current.kind == ConnectionKind::Delegated => {
                let requested =
                    audience.request_scopes(&current.scopes_requested, &current.scopes_granted);
                if let Some(c) = self.usable(&current.id, audience, &requested, asked_at) {
                    return Ok(Got::from_cached(&c));
                }
            }
            Some(_) => {}
            None => {
                if current.last_refresh_at.is_some_and(|at| at >= asked_at) {
                    return Ok(Got::Elsewhere);
                }
            }
        }
        self.refresh_locked(&current, audience).await
    }

    /// A token this process obtained after `asked_at` (the refresh the caller waited for).
    fn fresh_since(&self, id: &str, audience: Audience, asked_at: DateTime<Utc>) -> Option<Got> {
        let cache = self.cache.lock().expect("cache poisoned");
        let c = cache.get(&(id.to_owned(), audience))?;
        (c.obtained_at >= asked_at).then(|| Got::from_cached(c))
    }
}
