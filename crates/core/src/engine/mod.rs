//! The refresh engine: keeps every connection alive and says how each one stands.
//!
//! - Access tokens live in memory only; refresh tokens in the keychain.
//! - A refresh writes the new refresh token to the keychain before anything else happens, so a
//!   crash at any point leaves a usable token (the old one or the new one).
//! - One refresh per connection at a time: in-process through a per-connection async mutex (late
//!   callers take the result of the refresh they waited for), across processes (the app and the
//!   CLI) through a lock file in the data directory.
//! - Failures are sorted ([`classify`]): transient ones are retried with exponential backoff and
//!   jitter, honouring `Retry-After`; permanent ones stop and set the state that says who must act.
//! - The scheduler sleeps until the earliest `next_refresh_at` (or until woken): a refresh before
//!   the access token expires for connections in use, a keep-alive for idle delegated ones.

pub mod classify;
mod lock;
pub mod request;
pub mod schedule;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::Sensitive;
use crate::application::AppTokenCache;
use crate::application::mailbox::{Mailboxes, RowStatus};
use crate::clock::Clock;
use crate::connection::{Connection, ConnectionKind, TokenState};
use crate::error::{Error, ErrorCode, Result};
use crate::graph::{self as graph_api, GraphUser};
use crate::keychain::Keychain;
use crate::keychain::SecretKey;
use crate::registration::ClientKind;
use crate::store::Store;
use crate::store::lifecycle::{Refreshed, StateChange};
use classify::Failure;
pub use schedule::Config;

/// An access token handed out, with the connection it belongs to.
#[derive(Debug)]
pub struct AccessToken {
    pub token: Sensitive<String>,
    pub expires_at: DateTime<Utc>,
    pub connection: Connection,
}

/// Something the user should be told about once (a desktop notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Notice {
    pub connection_id: String,
    pub address: String,
    pub state: TokenState,
    pub title: String,
    pub body: String,
}

/// What the engine reports as it works.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// A connection's state or schedule changed.
    Changed(Box<Connection>),
    /// A new problem to tell the user about (never repeated while it stays the same).
    Notice(Notice),
    /// A problem the user was told about is gone.
    Resolved(String),
}

/// What a refresh call ended with.
#[derive(Debug, Clone, Serialize, TS)]
pub struct RefreshReport {
    pub connection: Connection,
    /// Whether this call made the token request (false: shared one that had just finished).
    pub requested: bool,
    /// Whether Microsoft sent a new refresh token (stored).
    pub rotated: bool,
    pub error: Option<crate::ErrorBody>,
}

#[derive(Debug)]
struct Cached {
    token: Sensitive<String>,
    expires_at: DateTime<Utc>,
    obtained_at: DateTime<Utc>,
}

/// The outcome of one token request (or of the one a caller waited for).
enum Got {
    Token {
        token: Sensitive<String>,
        expires_at: DateTime<Utc>,
        rotated: bool,
        requested: bool,
    },
    /// Another process refreshed it just now; this one has no access token from it.
    Elsewhere,
}

#[derive(Debug)]
pub struct Engine {
    store: Arc<Store>,
    secrets: Arc<dyn Keychain>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    locks: PathBuf,
    config: Config,
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    cache: Mutex<HashMap<String, Cached>>,
    wake: Notify,
    events: broadcast::Sender<EngineEvent>,
    token_requests: AtomicU64,
    /// Application access: the app-only token per registration (shared with the shell's
    /// "add mailboxes"), used to check application-access mailboxes.
    app_tokens: Arc<AppTokenCache>,
}

impl Engine {
    pub fn new(
        store: Arc<Store>,
        secrets: Arc<dyn Keychain>,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        locks: PathBuf,
        config: Config,
    ) -> Self {
        Self {
            store,
            secrets,
            http,
            clock,
            locks,
            config,
            flights: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            events: broadcast::channel(1024).0,
            token_requests: AtomicU64::new(0),
            app_tokens: Arc::new(AppTokenCache::new()),
        }
    }

    /// Shares the shell's app-only token cache, so a mailbox check and "add mailboxes" use one
    /// token per registration.
    #[must_use]
    pub fn with_app_tokens(mut self, app_tokens: Arc<AppTokenCache>) -> Self {
        self.app_tokens = app_tokens;
        self
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Token requests this engine has made (diagnostics and tests).
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// Makes the scheduler look at the schedule again (a connection was added or changed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A valid access token for a connection: the cached one while it has more than the margin
    /// left, else a refresh (shared with any other caller asking at the same time).
    pub async fn access_token(&self, id: &str) -> Result<AccessToken> {
        let conn = self.store.get_connection(id)?;
        let now = self.clock.now();
        self.store.record_used(&conn.id, now)?;
        if let Some(token) = self.cached(&conn.id, now) {
            return Ok(token_for(token, self.store.get_connection(&conn.id)?));
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

    /// Refreshes now ("refresh now", `mailconn refresh`). Failures are recorded on the connection
    /// and returned in the report, not as `Err` (that is for a missing connection or database).
    pub async fn refresh(&self, id: &str) -> Result<RefreshReport> {
        let conn = self.store.get_connection(id)?;
        let now = self.clock.now();
        let result = self.refresh_flight(&conn, now, false).await;
        let connection = self.store.get_connection(&conn.id)?;
        Ok(match result {
            Ok(Got::Token {
                rotated, requested, ..
            }) => RefreshReport {
                connection,
                requested,
                rotated,
                error: None,
            },
            Ok(Got::Elsewhere) => RefreshReport {
                connection,
                requested: false,
                rotated: false,
                error: None,
            },
            Err(e) => RefreshReport {
                connection,
                requested: true,
                rotated: false,
                error: Some(e.body()),
            },
        })
    }

    /// Refreshes every connection that can be refreshed, a few at a time.
    pub async fn refresh_all(self: &Arc<Self>) -> Result<Vec<RefreshReport>> {
        let ids: Vec<String> = self
            .store
            .list_connections()?
            .into_iter()
            .filter(|c| c.kind == ConnectionKind::Application || c.has_refresh_token)
            .map(|c| c.id)
            .collect();
        self.refresh_many(ids).await
    }

    async fn refresh_many(self: &Arc<Self>, ids: Vec<String>) -> Result<Vec<RefreshReport>> {
        let permits = Arc::new(tokio::sync::Semaphore::new(self.config.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for (n, id) in ids.into_iter().enumerate() {
            let (engine, permits) = (self.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (n, engine.refresh(&id).await)
            });
        }
        let mut out = Vec::new();
        while let Some(done) = tasks.join_next().await {
            let (n, report) = done.map_err(|e| Error::internal(e.to_string()))?;
            out.push((n, report?));
        }
        out.sort_by_key(|(n, _)| *n);
        Ok(out.into_iter().map(|(_, r)| r).collect())
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
    async fn refresh_flight(
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

    async fn refresh_locked(&self, conn: &Connection) -> Result<Got> {
        if conn.kind == ConnectionKind::Application {
            return self.check_application(conn).await;
        }
        let now = self.clock.now();
        self.store.record_refreshing(&conn.id, now)?;
        self.emit_changed(&conn.id);
        match self.request(conn, now).await {
            Ok(got) => Ok(got),
            Err(failure) => {
                self.record_failure(conn, &failure)?;
                Err(failure.into_error())
            }
        }
    }

    /// The registration, the stored refresh token and (confidential apps) the client secret.
    #[allow(
        clippy::type_complexity,
        reason = "a private triple, named at its one call site"
    )]
    fn credentials(
        &self,
        conn: &Connection,
    ) -> Result<
        (
            crate::registration::Registration,
            Sensitive<String>,
            Option<Sensitive<String>>,
        ),
        Failure,
    > {
        let keychain = |e: crate::keychain::KeychainError| Failure::Transient {
            error: e.into(),
            retry_after: None,
        };
        let reg = self
            .store
            .find_registration(&conn.registration_id)
            .map_err(|error| Failure::Permanent {
                state: TokenState::NeedsSignIn,
                error,
            })?;
        let Some(refresh_token) = self
            .secrets
            .get(&SecretKey::refresh_token(&conn.id))
            .map_err(keychain)?
        else {
            return Err(Failure::Permanent {
                state: TokenState::NeedsSignIn,
                error: Error::new(
                    ErrorCode::NeedsSignIn,
                    "No refresh token is stored for this connection.",
                )
                .with_fix("Sign in again."),
            });
        };
        let secret = match reg.kind {
            ClientKind::Confidential => Some(
                self.secrets
                    .get(&SecretKey::client_secret(&reg.id))
                    .map_err(keychain)?
                    .ok_or_else(|| Failure::Permanent {
                        state: TokenState::SecretExpired,
                        error: Error::invalid(
                            "secret",
                            format!("No client secret is stored for \"{}\".", reg.name),
                        )
                        .with_fix("Rotate the app's client secret: paste a new secret's Value."),
                    })?,
            ),
            ClientKind::Public => None,
        };
        Ok((reg, refresh_token, secret))
    }

    async fn request(&self, conn: &Connection, now: DateTime<Utc>) -> Result<Got, Failure> {
        let (reg, refresh_token, secret) = self.credentials(conn)?;
        let keychain = |e: crate::keychain::KeychainError| Failure::Transient {
            error: e.into(),
            retry_after: None,
        };
        let cloud = reg.cloud().map_err(|error| Failure::Permanent {
            state: TokenState::NeedsSignIn,
            error,
        })?;
        let tenant = conn.tenant_id.clone().unwrap_or_else(|| reg.tenant.clone());
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let tokens = request::refresh(
            &request::RefreshRequest {
                cloud: &cloud,
                tenant: &tenant,
                client_id: &reg.client_id,
                secret: secret.as_ref(),
                refresh_token: &refresh_token,
                scopes: &conn.scopes_requested,
            },
            &self.http,
            now,
        )
        .await?;
        // Durability: the new refresh token is in the keychain before the row or the access token
        // says anything. If this write fails the old token is still there and still valid.
        let rotated = match &tokens.refresh_token {
            Some(new) if new.expose() != refresh_token.expose() => {
                self.secrets
                    .set(&SecretKey::refresh_token(&conn.id), new)
                    .map_err(keychain)?;
                true
            }
            _ => false,
        };
        let done = self.clock.now();
        self.store
            .record_refreshed(
                &conn.id,
                &Refreshed {
                    scopes_granted: &tokens.granted,
                    has_refresh_token: true,
                    access_expires_at: tokens.expires_at,
                    next_refresh_at: None,
                    reason: None,
                },
                done,
            )
            .map_err(|error| Failure::Transient {
                error,
                retry_after: None,
            })?;
        let summary = if rotated {
            "Refreshed; the new refresh token is stored"
        } else {
            "Refreshed; the refresh token did not change"
        };
        let _ = self
            .store
            .add_event(&conn.id, done, "refreshed", summary, None);
        if conn.state == TokenState::Retrying || conn.needs_attention() {
            let _ = self.store.add_event(
                &conn.id,
                done,
                "recovered",
                "Working again after failed refreshes",
                None,
            );
        }
        self.cache.lock().expect("cache poisoned").insert(
            conn.id.clone(),
            Cached {
                token: tokens.access_token.clone(),
                expires_at: tokens.expires_at,
                obtained_at: done,
            },
        );
        tracing::info!(connection = %conn.id, rotated, "refreshed");
        self.reschedule(&conn.id)
            .map_err(|error| Failure::Transient {
                error,
                retry_after: None,
            })?;
        self.after_change(&conn.id);
        Ok(Got::Token {
            token: tokens.access_token,
            expires_at: tokens.expires_at,
            rotated,
            requested: true,
        })
    }

    fn record_failure(&self, conn: &Connection, failure: &Failure) -> Result<()> {
        let now = self.clock.now();
        let error = failure.error();
        let aadsts = error.detail().and_then(|d| d.aadsts);
        let summary = format!(
            "Refresh failed ({}): {}",
            failure.class_label(),
            error.message()
        );
        tracing::warn!(connection = %conn.id, class = failure.class_label(), aadsts = ?aadsts, "refresh failed");
        match failure {
            Failure::Transient { retry_after, .. } => {
                let attempt = if conn.state == TokenState::Retrying {
                    conn.retry_attempt + 1
                } else {
                    1
                };
                let next = classify::retry_at(
                    now,
                    attempt,
                    self.config.retry_base,
                    self.config.retry_max,
                    *retry_after,
                    rand::random::<f64>(),
                );
                self.store.record_state(
                    &conn.id,
                    &StateChange {
                        state: TokenState::Retrying,
                        reason: Some(error.message()),
                        aadsts,
                        retry_attempt: attempt,
                        next_refresh_at: Some(next),
                    },
                    now,
                )?;
                self.store
                    .add_event(&conn.id, now, "failed", &summary, error.detail())?;
                self.after_change(&conn.id);
            }
            Failure::Permanent { state, .. } => {
                let reason = match error.detail().and_then(|d| d.fix.as_deref()) {
                    Some(fix) => format!("{} {fix}", error.message()),
                    None => error.message().to_owned(),
                };
                // An expired or wrong client secret breaks every connection of the app at once.
                let affected = if *state == TokenState::SecretExpired {
                    self.store
                        .connections_of_registration(&conn.registration_id)?
                } else {
                    vec![conn.clone()]
                };
                for c in affected {
                    self.store.record_state(
                        &c.id,
                        &StateChange {
                            state: *state,
                            reason: Some(&reason),
                            aadsts,
                            retry_attempt: 0,
                            next_refresh_at: None,
                        },
                        now,
                    )?;
                    self.store
                        .add_event(&c.id, now, "failed", &summary, error.detail())?;
                    self.cache.lock().expect("cache poisoned").remove(&c.id);
                    self.after_change(&c.id);
                }
            }
        }
        Ok(())
    }

    /// An application-access mailbox has no refresh token: its "refresh" is a check through
    /// Graph with the app-only token (renewed by the cache before it expires), which stores the
    /// mailbox's state (active, or no access with the reason).
    async fn check_application(&self, conn: &Connection) -> Result<Got> {
        let mailboxes = Mailboxes {
            store: &self.store,
            secrets: self.secrets.as_ref(),
            http: &self.http,
            tokens: &self.app_tokens,
        };
        let cancel = CancellationToken::new();
        let checked = mailboxes.recheck(conn, &cancel).await;
        let failure = match checked {
            Ok(row) if row.status != RowStatus::Failed => {
                self.reschedule(&conn.id)?;
                self.after_change(&conn.id);
                let token = self
                    .app_tokens
                    .token(
                        &self.store.find_registration(&conn.registration_id)?,
                        self.secrets.as_ref(),
                        &self.http,
                    )
                    .await?;
                return Ok(Got::Token {
                    token: token.access_token.clone(),
                    expires_at: token.expires_at,
                    rotated: false,
                    requested: true,
                });
            }
            Ok(row) => {
                let body = row
                    .problem
                    .unwrap_or_else(|| Error::internal("the mailbox could not be checked").body());
                Failure::Transient {
                    error: Error::new(body.code, body.message)
                        .with_detail(body.detail.unwrap_or_default()),
                    retry_after: None,
                }
            }
            Err(error) => match classify::classify(error, None, None) {
                Failure::Permanent {
                    state: TokenState::NeedsSignIn,
                    error,
                } => Failure::Permanent {
                    state: TokenState::NoAccess,
                    error,
                },
                other => other,
            },
        };
        self.record_failure(conn, &failure)?;
        Err(failure.into_error())
    }

    /// Proves a connection works end to end: a call to Microsoft Graph with its access token
    /// (`/me` for someone who signed in; the mailbox itself for application access). Recorded in
    /// the history as `verified` or `failed`.
    pub async fn verify(&self, id: &str) -> Result<RefreshReport> {
        let conn = self.store.get_connection(id)?;
        if conn.kind == ConnectionKind::Application {
            return self.refresh(id).await;
        }
        let token = match self.access_token(id).await {
            Ok(t) => t,
            Err(e) => {
                return Ok(RefreshReport {
                    connection: self.store.get_connection(id)?,
                    requested: true,
                    rotated: false,
                    error: Some(e.body()),
                });
            }
        };
        let graph = self
            .store
            .find_registration(&conn.registration_id)?
            .cloud()?
            .graph;
        let mut url = url::Url::parse(&graph).map_err(|e| {
            Error::invalid("graph_url", format!("The Graph address is not a URL: {e}"))
        })?;
        url.path_segments_mut()
            .map_err(|()| Error::invalid("graph_url", "The Graph address cannot hold a path."))?
            .pop_if_empty()
            .extend(["v1.0", "me"]);
        url.set_query(Some("$select=id,displayName,mail,userPrincipalName"));
        let now = self.clock.now();
        let answer = graph_api::get_json::<GraphUser>(
            &self.http,
            &url,
            &token.token,
            &CancellationToken::new(),
        )
        .await;
        let error = match answer {
            Ok(me) => {
                let who = me.address().unwrap_or(&conn.address).to_owned();
                self.store.add_event(
                    &conn.id,
                    now,
                    "verified",
                    &format!("Microsoft Graph answered for {who}"),
                    None,
                )?;
                None
            }
            Err(f) => {
                let summary = format!("Verification failed: {}", f.error.message());
                self.store
                    .add_event(&conn.id, now, "failed", &summary, f.error.detail())?;
                Some(f.error.body())
            }
        };
        self.emit_changed(&conn.id);
        Ok(RefreshReport {
            connection: self.store.get_connection(id)?,
            requested: true,
            rotated: false,
            error,
        })
    }

    /// Stores when the scheduler should next act on a connection, from its state and cache.
    pub fn reschedule(&self, id: &str) -> Result<()> {
        let conn = self.store.get_connection(id)?;
        let cached = self
            .cache
            .lock()
            .expect("cache poisoned")
            .get(id)
            .map(|c| c.expires_at);
        let next = schedule::next_refresh(
            &conn,
            cached,
            &self.config,
            self.clock.now(),
            rand::random::<f64>(),
        );
        self.store.set_next_refresh(id, next)?;
        self.wake();
        Ok(())
    }

    fn emit_changed(&self, id: &str) {
        if let Ok(conn) = self.store.get_connection(id) {
            let _ = self.events.send(EngineEvent::Changed(Box::new(conn)));
        }
    }

    /// Tells listeners about a change, and about a new problem once; the scheduler looks at the
    /// (possibly new) schedule again.
    fn after_change(&self, id: &str) {
        self.wake();
        let Ok(conn) = self.store.get_connection(id) else {
            return;
        };
        if let Err(e) = self.notice(&conn) {
            tracing::warn!(connection = %id, error = %e, "cannot record the notification");
        }
        let _ = self.events.send(EngineEvent::Changed(Box::new(conn)));
    }

    fn notice(&self, conn: &Connection) -> Result<()> {
        let told = self.store.notified_problem(&conn.id)?;
        match notice_for(conn) {
            Some((key, notice)) if told.as_deref() != Some(key.as_str()) => {
                self.store.set_notified_problem(&conn.id, Some(&key))?;
                let _ = self.events.send(EngineEvent::Notice(notice));
            }
            None if told.is_some() && conn.state == TokenState::Active => {
                self.store.set_notified_problem(&conn.id, None)?;
                let _ = self.events.send(EngineEvent::Resolved(conn.id.clone()));
            }
            _ => {}
        }
        Ok(())
    }

    /// Records a new sign-in (or a connection made elsewhere) with the engine: schedule, wake.
    pub fn connected(&self, id: &str) -> Result<()> {
        self.reschedule(id)?;
        self.after_change(id);
        Ok(())
    }

    /// Forgets a disconnected connection's access token.
    pub fn forget(&self, id: &str) {
        self.cache.lock().expect("cache poisoned").remove(id);
        self.flights.lock().expect("flights poisoned").remove(id);
    }

    /// One pass of the scheduler: schedule what has no schedule, refresh what is due.
    /// Returns how many refreshes it ran.
    pub async fn run_due(self: &Arc<Self>) -> Result<usize> {
        for conn in self.store.connections_unscheduled()? {
            self.reschedule(&conn.id)?;
        }
        let now = self.clock.now();
        let due: Vec<String> = self
            .store
            .connections_due(now, 500)?
            .into_iter()
            .map(|c| c.id)
            .collect();
        let n = due.len();
        if n > 0 {
            tracing::debug!(count = n, "refreshing due connections");
            for report in self.refresh_many(due).await? {
                // A refresh that failed without recording a state (e.g. the lock) must not spin.
                if report.error.is_some()
                    && report
                        .connection
                        .next_refresh_at
                        .is_some_and(|at| at <= now)
                {
                    let at = now
                        + chrono::TimeDelta::from_std(self.config.retry_base).unwrap_or_default();
                    self.store
                        .set_next_refresh(&report.connection.id, Some(at))?;
                }
            }
        }
        if let Ok(pruned) = self.store.prune_events(now - self.config.history)
            && pruned > 0
        {
            tracing::debug!(pruned, "old history pruned");
        }
        Ok(n)
    }

    /// Runs the scheduler until cancelled: sleeps until the next due time or a wake-up.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            if let Err(e) = self.run_due().await {
                tracing::error!(error = %e, "scheduler pass failed");
            }
            let now = self.clock.now();
            let sleep = match self.store.next_refresh_due() {
                Ok(Some(at)) => (at - now).to_std().unwrap_or(Duration::ZERO),
                Ok(None) => self.config.idle_wake,
                Err(_) => self.config.retry_base,
            }
            .min(self.config.idle_wake);
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.wake.notified() => {}
                () = cancel.cancelled() => return,
            }
        }
    }
}

fn token_for(
    (token, expires_at): (Sensitive<String>, DateTime<Utc>),
    connection: Connection,
) -> AccessToken {
    AccessToken {
        token,
        expires_at,
        connection,
    }
}

/// The notification for a connection's problem, and the key that makes it "the same problem".
pub fn notice_for(conn: &Connection) -> Option<(String, Notice)> {
    let title = match conn.state {
        TokenState::NeedsSignIn => format!("{} needs you to sign in again", conn.address),
        TokenState::NeedsConsent => format!("{} needs consent", conn.address),
        TokenState::SecretExpired => format!(
            "The client secret of \"{}\" no longer works",
            conn.registration_name
        ),
        TokenState::NoAccess => format!("The app cannot reach {}", conn.address),
        _ => return None,
    };
    let key = format!(
        "{}:{}",
        crate::store::enum_text(conn.state),
        conn.state_aadsts.unwrap_or(0)
    );
    Some((
        key,
        Notice {
            connection_id: conn.id.clone(),
            address: conn.address.clone(),
            state: conn.state,
            title,
            body: conn.state_reason.clone().unwrap_or_default(),
        },
    ))
}
