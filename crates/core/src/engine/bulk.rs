//! Bulk refreshes ("refresh all", the scheduler's due connections) as one pipeline, so a
//! thousand connections cost what their token requests and one write per batch cost:
//!
//! 1. **Read once.** The registrations are read once per run, each confidential app's client
//!    secret once (one `get_many`). Connections are taken in chunks ([`CHUNK`]): the chunk's
//!    locks are taken without waiting (the in-process single flight, then the lock file, so the
//!    app and the CLI never request tokens for one connection at the same time), then its rows
//!    are read in one query (what another process may have just changed) and its refresh tokens
//!    in one `get_many`. A connection whose lock someone else holds (an access-token request
//!    here, a refresh in another process) is left for the end, where it goes the ordinary way
//!    (`refresh.rs`: it waits for that refresh and takes its result), so no one waits while
//!    holding locks. Application-access mailboxes go that way too (their check is a Graph call).
//!    Bulk runs write no `refreshing` state per connection.
//! 2. **Requests** run `config.concurrency` at a time (a stream, not a task per connection).
//! 3. **Writes are batched.** What finished since the last write (at most [`BATCH`]) is written
//!    together, on a blocking thread while the next requests run: first the batch's secrets in
//!    one `Keychain::set_many` (rotated refresh tokens first, then the access tokens shared with
//!    other processes), then the rows (state, schedule) and the history entries in ONE `SQLite`
//!    transaction. Only then are the access tokens handed to waiting callers and the locks
//!    released.
//!
//! A rotated refresh token reaches the secret store before the row says anything, per batch. A
//! crash before a batch is written loses nothing: Microsoft keeps a refresh token valid after it
//! has issued a rotated one (docs/MICROSOFT.md; the test provider does the same), so the token
//! still stored works, and the next run refreshes those connections again. A secret store that
//! fails the batch's write leaves those rows as they were (nothing claims a token that is not
//! stored) and reports each of them failed with the keychain's message; the next run retries.
//! Failed requests are sorted as in a single refresh (`classify.rs`) and written in the batch.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, FuturesUnordered, StreamExt};

use super::classify::Failure;
use super::credentials::transient;
use super::{Cached, Engine, RefreshReport, lock, request, schedule, stored};
use crate::Sensitive;
use crate::cloud::Cloud;
use crate::connection::{Connection, ConnectionKind, StateKind, TokenState};
use crate::error::{Error, ErrorCode, Result};
use crate::keychain::{KeychainError, SecretKey};
use crate::oauth::Tokens;
use crate::registration::{ClientKind, Registration};
use crate::resource::Audience;
use crate::store::connections::{Refreshed, RowChange};
use crate::store::events::NewEvent;

/// Connections whose locks, rows and refresh tokens are taken together, at most. The first
/// chunks are smaller (1, 2, 4, ...), so the first request leaves after one token is read even
/// when each keychain read is slow.
const CHUNK: usize = 32;
/// The most finished refreshes written in one keychain call and one transaction.
const BATCH: usize = 64;

/// What the connections of one app share in a run.
struct App {
    registration: Registration,
    cloud: Result<Cloud>,
    secret: Secret,
}

enum Secret {
    /// A public client.
    None,
    Stored(Sensitive<String>),
    Missing,
    Unreadable(KeychainError),
}

/// The locks a refresh holds until its result is written.
struct Held {
    _turn: tokio::sync::OwnedMutexGuard<()>,
    _file: lock::Held,
}

/// A connection ready for its token request.
struct Job {
    n: usize,
    conn: Connection,
    app: Arc<App>,
    refresh_token: Sensitive<String>,
    held: Held,
}

enum Outcome {
    /// The token request succeeded.
    Tokens {
        tokens: Tokens,
        scopes: Vec<String>,
        rotated: bool,
    },
    /// The request (or what it needs) failed: a state to record.
    Failed(Failure),
    /// Failed before anything could be recorded (a lock file, the database).
    Unrecorded(Error),
    /// Another process refreshed it after this run was asked for.
    Elsewhere,
}

struct Finished {
    n: usize,
    conn: Connection,
    outcome: Outcome,
    done: DateTime<Utc>,
    #[allow(
        dead_code,
        reason = "dropping it, once the batch is written, releases the locks"
    )]
    held: Held,
}

enum Step {
    Finished(Box<Finished>),
    /// Someone else holds its lock, or it is an application-access mailbox: the ordinary way.
    Later(usize, String),
    /// Failed before its row was read (a lock file, the database): nothing to write.
    Reported(Box<Written>),
}

/// What a written batch says about one connection, for its report.
struct Written {
    n: usize,
    id: String,
    requested: bool,
    rotated: bool,
    error: Option<Error>,
    /// The row as the batch left it (`None`: read it for the report).
    row: Option<Connection>,
}

impl Engine {
    /// Refreshes these connections (refresh now: the audience each sign-in asked for), unless
    /// another process refreshed one after `asked_at`. Reports come in the order of `ids`.
    pub(super) async fn refresh_bulk(
        self: &Arc<Self>,
        ids: Vec<String>,
        asked_at: DateTime<Utc>,
    ) -> Result<Vec<RefreshReport>> {
        let apps = Arc::new(self.apps()?);
        let chunks = chunks(ids);
        let engine = self.clone();
        let concurrency = self.config().concurrency.max(1);
        let steps = stream::iter(chunks)
            .then(move |chunk| {
                let (engine, apps) = (engine.clone(), apps.clone());
                async move {
                    let fallback: Vec<Step> = chunk
                        .iter()
                        .map(|(n, id)| Step::Later(*n, id.clone()))
                        .collect();
                    tokio::task::spawn_blocking(move || engine.prepare(chunk, &apps, asked_at))
                        .await
                        .unwrap_or(fallback.into_iter().map(Ready::Step).collect())
                }
            })
            .flat_map(stream::iter)
            .map(|ready| {
                let engine = self.clone();
                async move {
                    match ready {
                        Ready::Job(job) => Step::Finished(Box::new(engine.send(*job).await)),
                        Ready::Step(step) => step,
                    }
                }
            })
            .buffer_unordered(concurrency);
        let mut steps = std::pin::pin!(steps);
        let mut pending: Vec<Finished> = Vec::new();
        let mut writes = FuturesUnordered::new();
        let (mut written, mut later) = (Vec::new(), Vec::new());
        let mut upstream_done = false;
        loop {
            if writes.is_empty() && !pending.is_empty() {
                let batch: Vec<Finished> = pending.drain(..pending.len().min(BATCH)).collect();
                let engine = self.clone();
                writes.push(tokio::task::spawn_blocking(move || {
                    engine.write_batch(batch)
                }));
            }
            if upstream_done && writes.is_empty() && pending.is_empty() {
                break;
            }
            tokio::select! {
                Some(done) = writes.next(), if !writes.is_empty() => {
                    written.extend(done.map_err(|e| Error::internal(e.to_string()))?);
                }
                step = steps.next(), if !upstream_done => match step {
                    Some(Step::Finished(f)) => pending.push(*f),
                    Some(Step::Later(n, id)) => later.push((n, id)),
                    Some(Step::Reported(w)) => written.push(*w),
                    None => upstream_done = true,
                },
            }
        }
        self.wake();
        self.reports(written, later, concurrency, asked_at).await
    }

    /// The reports: the rows the batches read after writing (the few without one in one
    /// query), then the connections left for the ordinary way, refreshed a few at a time.
    async fn reports(
        self: &Arc<Self>,
        written: Vec<Written>,
        later: Vec<(usize, String)>,
        concurrency: usize,
        asked_at: DateTime<Utc>,
    ) -> Result<Vec<RefreshReport>> {
        let mut out: Vec<(usize, RefreshReport)> = Vec::with_capacity(written.len() + later.len());
        let unread: Vec<&str> = written
            .iter()
            .filter(|w| w.row.is_none())
            .map(|w| w.id.as_str())
            .collect();
        let mut rows: HashMap<String, Connection> = self
            .store
            .connections_with_notices(&unread)?
            .into_iter()
            .map(|(c, _)| (c.id.clone(), c))
            .collect();
        for w in written {
            // A connection removed meanwhile has nothing to report.
            if let Some(connection) = w.row.or_else(|| rows.remove(&w.id)) {
                out.push((
                    w.n,
                    RefreshReport {
                        connection,
                        requested: w.requested,
                        rotated: w.rotated,
                        error: w.error.as_ref().map(Error::body),
                    },
                ));
            }
        }
        let singles: Vec<(usize, Result<RefreshReport>)> = stream::iter(later)
            .map(|(n, id)| {
                let engine = self.clone();
                async move { (n, engine.refresh_since(&id, asked_at).await) }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for (n, report) in singles {
            out.push((n, report?));
        }
        out.sort_by_key(|(n, _)| *n);
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    /// Every registration, with its client secret (all of them in one keychain call).
    fn apps(&self) -> Result<HashMap<String, Arc<App>>> {
        let registrations = self.store.list_registrations()?;
        let confidential: Vec<&Registration> = registrations
            .iter()
            .filter(|r| r.kind == ClientKind::Confidential)
            .collect();
        let keys: Vec<SecretKey> = confidential
            .iter()
            .map(|r| SecretKey::client_secret(&r.id))
            .collect();
        let mut secrets: HashMap<String, Secret> = HashMap::new();
        match self.secrets.get_many(&keys) {
            Ok(values) => {
                for (r, v) in confidential.iter().zip(values) {
                    let s = v.map_or(Secret::Missing, Secret::Stored);
                    secrets.insert(r.id.clone(), s);
                }
            }
            Err(e) => {
                for r in &confidential {
                    secrets.insert(r.id.clone(), Secret::Unreadable(e.clone()));
                }
            }
        }
        Ok(registrations
            .into_iter()
            .map(|registration| {
                let secret = secrets.remove(&registration.id).unwrap_or(Secret::None);
                let app = App {
                    cloud: registration.cloud(),
                    secret,
                    registration,
                };
                (app.registration.id.clone(), Arc::new(app))
            })
            .collect())
    }

    /// Takes a chunk's locks (what is free now), reads its rows and refresh tokens, and says
    /// what becomes of each connection.
    fn prepare(
        &self,
        chunk: Vec<(usize, String)>,
        apps: &HashMap<String, Arc<App>>,
        asked_at: DateTime<Utc>,
    ) -> Vec<Ready> {
        let mut out = Vec::with_capacity(chunk.len());
        let mut locked = Vec::with_capacity(chunk.len());
        for (n, id) in chunk {
            let Ok(turn) = self.flight(&id).try_lock_owned() else {
                out.push(Ready::Step(Step::Later(n, id)));
                continue;
            };
            match lock::try_acquire(&self.locks, &id) {
                Ok(Some(file)) => locked.push((
                    n,
                    id,
                    Held {
                        _turn: turn,
                        _file: file,
                    },
                )),
                Ok(None) => out.push(Ready::Step(Step::Later(n, id))),
                Err(e) => out.push(unrecorded(n, id, e)),
            }
        }
        let ids: Vec<&str> = locked.iter().map(|(_, id, _)| id.as_str()).collect();
        let mut rows: HashMap<String, Connection> = match self.store.connections_with_notices(&ids)
        {
            Ok(rows) => rows.into_iter().map(|(c, _)| (c.id.clone(), c)).collect(),
            Err(e) => {
                let message = e.message().to_owned();
                for (n, id, _) in locked {
                    let e = Error::new(e.code(), message.clone());
                    out.push(unrecorded(n, id, e));
                }
                return out;
            }
        };
        // Connections removed meanwhile drop out here (their locks are released).
        let current: Vec<(usize, Connection, Held)> = locked
            .into_iter()
            .filter_map(|(n, id, held)| rows.remove(&id).map(|c| (n, c, held)))
            .collect();
        let mut to_read = Vec::new();
        for (n, conn, held) in current {
            if conn.last_refresh_at.is_some_and(|at| at >= asked_at) {
                out.push(settled(n, conn, Outcome::Elsewhere, held, asked_at));
            } else if conn.kind == ConnectionKind::Application {
                drop(held);
                out.push(Ready::Step(Step::Later(n, conn.id)));
            } else {
                to_read.push((n, conn, held));
            }
        }
        let keys: Vec<SecretKey> = to_read
            .iter()
            .map(|(_, c, _)| SecretKey::refresh_token(&c.id))
            .collect();
        // One read for the chunk; when it fails (one damaged sealed row, say), each token is read
        // on its own, so only the connection whose token cannot be read fails.
        let mut tokens: Vec<Result<Option<Sensitive<String>>, KeychainError>> = if keys.is_empty() {
            Vec::new()
        } else {
            match self.secrets.get_many(&keys) {
                Ok(values) => values.into_iter().map(Ok).collect(),
                Err(_) => keys.iter().map(|k| self.secrets.get(k)).collect(),
            }
        };
        tokens.resize_with(keys.len(), || Ok(None));
        let now = self.clock.now();
        for ((n, conn, held), token) in to_read.into_iter().zip(tokens) {
            out.push(match self.job(n, conn, apps, token) {
                Ok(job) => Ready::Job(Box::new(Job::from(job, held))),
                Err((conn, failure)) => settled(n, conn, Outcome::Failed(failure), held, now),
            });
        }
        out
    }

    /// What a connection's request needs, checked as a single refresh checks it
    /// (`credentials.rs`): the registration, the refresh token, the client secret.
    #[allow(
        clippy::result_large_err,
        reason = "the connection comes back with its failure"
    )]
    fn job(
        &self,
        n: usize,
        conn: Connection,
        apps: &HashMap<String, Arc<App>>,
        token: std::result::Result<Option<Sensitive<String>>, KeychainError>,
    ) -> std::result::Result<UnheldJob, (Connection, Failure)> {
        let stop = |state, error| Failure::Permanent { state, error };
        let Some(app) = apps.get(&conn.registration_id) else {
            let e = self
                .store
                .find_registration(&conn.registration_id)
                .err()
                .unwrap_or_else(|| Error::internal("the app registration changed during the run"));
            return Err((conn, stop(StateKind::NeedsSignIn, e)));
        };
        let refresh_token = match token {
            Ok(Some(t)) => t,
            Ok(None) => {
                let e = Error::new(
                    ErrorCode::NeedsSignIn,
                    "No refresh token is stored for this connection.",
                );
                return Err((
                    conn,
                    stop(StateKind::NeedsSignIn, e.with_fix("Sign in again.")),
                ));
            }
            Err(e) => return Err((conn, transient(e))),
        };
        match &app.secret {
            Secret::Missing => {
                let e = Error::invalid(
                    "secret",
                    format!(
                        "No client secret is stored for \"{}\".",
                        app.registration.name
                    ),
                );
                let fix = "Rotate the app's client secret: paste a new secret's Value.";
                return Err((conn, stop(StateKind::SecretExpired, e.with_fix(fix))));
            }
            Secret::Unreadable(e) => return Err((conn, transient(e.clone()))),
            Secret::None | Secret::Stored(_) => {}
        }
        if let Err(e) = &app.cloud {
            let e = Error::new(e.code(), e.message().to_owned());
            return Err((conn, stop(StateKind::NeedsSignIn, e)));
        }
        Ok(UnheldJob {
            n,
            conn,
            app: app.clone(),
            refresh_token,
        })
    }

    /// The token request of one prepared connection.
    async fn send(&self, job: Job) -> Finished {
        let Job {
            n,
            conn,
            app,
            refresh_token,
            held,
        } = job;
        let audience = Audience::primary(&conn.scopes_requested);
        let scopes = audience.request_scopes(&conn.scopes_requested, &conn.scopes_granted);
        let reg = &app.registration;
        let tenant = conn.tenant_id.as_deref().unwrap_or(&reg.tenant);
        let secret = match &app.secret {
            Secret::Stored(s) => Some(s),
            _ => None,
        };
        let Ok(cloud) = &app.cloud else {
            unreachable!("checked when the job was made")
        };
        self.token_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = request::refresh(
            &request::RefreshRequest {
                cloud,
                tenant,
                client_id: &reg.client_id,
                secret,
                refresh_token: &refresh_token,
                scopes: &scopes,
            },
            &self.http,
            self.clock.now(),
        )
        .await;
        let outcome = match result {
            Ok(tokens) => {
                let rotated = tokens
                    .refresh_token
                    .as_ref()
                    .is_some_and(|new| new.expose() != refresh_token.expose());
                Outcome::Tokens {
                    tokens,
                    scopes,
                    rotated,
                }
            }
            Err(failure) => Outcome::Failed(failure),
        };
        Finished {
            n,
            conn,
            outcome,
            done: self.clock.now(),
            held,
        }
    }

    /// Writes a batch: its secrets in one keychain call, then its rows and history in one
    /// transaction; then hands the access tokens to this process's callers, tells listeners, and
    /// releases the locks (when the batch is dropped).
    fn write_batch(&self, mut batch: Vec<Finished>) -> Vec<Written> {
        let cached = self.store_secrets(&mut batch);
        let now = self.clock.now();
        let plans: Vec<Plan> = batch
            .iter()
            .zip(&cached)
            .map(|(f, c)| self.plan(f, c.as_ref(), now))
            .collect();
        let committed = self.commit(&batch, &plans, now);
        if let Err(e) = &committed {
            tracing::warn!(error = %e, count = batch.len(), "a batch of refreshes was not recorded");
        }

        // This process's callers get the tokens; listeners hear of every change.
        let mut touched: Vec<String> = Vec::new();
        let mut out = Vec::with_capacity(batch.len());
        for ((f, plan), c) in batch.iter().zip(plans).zip(cached) {
            let (requested, mut rotated, mut error) = match &f.outcome {
                Outcome::Elsewhere => (false, false, None),
                Outcome::Unrecorded(e) => (true, false, Some(copy(e))),
                Outcome::Tokens { rotated, .. } => (true, *rotated, None),
                Outcome::Failed(_) => (true, false, None),
            };
            match (&plan, &committed) {
                (Plan::Nothing, _) => {}
                (_, Err(e)) => {
                    rotated = false;
                    error = Some(copy(e));
                }
                (Plan::Refreshed { .. }, Ok(())) => {
                    if let Some(c) = c {
                        let audience = Audience::primary(&f.conn.scopes_requested);
                        self.remember(&f.conn.id, audience, c);
                    }
                    tracing::debug!(connection = %f.conn.id, rotated, "refreshed");
                    touched.push(f.conn.id.clone());
                }
                (
                    Plan::Failed {
                        affected,
                        error: e,
                        permanent,
                        ..
                    },
                    Ok(()),
                ) => {
                    for id in affected {
                        if *permanent {
                            self.forget_tokens(id);
                        }
                        touched.push(id.clone());
                    }
                    error = Some(copy(e));
                }
            }
            out.push(Written {
                n: f.n,
                id: f.conn.id.clone(),
                requested,
                rotated,
                error,
                row: None,
            });
        }
        let refreshed = out.iter().filter(|w| w.error.is_none()).count();
        tracing::info!(
            count = batch.len(),
            refreshed,
            "a batch of refreshes written"
        );
        self.tell(&touched, &mut out);
        drop(batch);
        out
    }

    /// The batch's secrets in one keychain call: rotated refresh tokens first, then the access
    /// tokens shared with other processes. A refused write turns the batch's refreshes into
    /// failures that record nothing. Returns the access tokens to hand out.
    fn store_secrets(&self, batch: &mut [Finished]) -> Vec<Option<Cached>> {
        let mut secrets: Vec<(SecretKey, Sensitive<String>)> = Vec::new();
        for f in batch.iter() {
            if let Outcome::Tokens {
                tokens,
                rotated: true,
                ..
            } = &f.outcome
                && let Some(new) = &tokens.refresh_token
            {
                secrets.push((SecretKey::refresh_token(&f.conn.id), new.clone()));
            }
        }
        let cached: Vec<Option<Cached>> = batch
            .iter()
            .map(|f| match &f.outcome {
                Outcome::Tokens { tokens, scopes, .. } => Some(Cached {
                    token: tokens.access_token.clone(),
                    expires_at: tokens.expires_at,
                    obtained_at: f.done,
                    requested: scopes.clone(),
                    granted: tokens.granted.clone(),
                }),
                _ => None,
            })
            .collect();
        for (f, c) in batch.iter().zip(&cached) {
            if let Some(c) = c {
                let audience = Audience::primary(&f.conn.scopes_requested);
                secrets.push(stored::stored_entry(&f.conn.id, audience, c));
            }
        }
        if !secrets.is_empty()
            && let Err(e) = self.secrets.set_many(&secrets)
        {
            tracing::warn!(error = %e, count = batch.len(), "a batch of refreshed tokens was not stored");
            for f in batch.iter_mut() {
                if matches!(f.outcome, Outcome::Tokens { .. }) {
                    f.outcome = Outcome::Unrecorded(not_stored(&e));
                }
            }
        }
        cached
    }

    /// The batch's rows and history, in one transaction.
    fn commit(&self, batch: &[Finished], plans: &[Plan], now: DateTime<Utc>) -> Result<()> {
        let mut rows = Vec::with_capacity(plans.len());
        let mut events = Vec::with_capacity(plans.len());
        for (f, plan) in batch.iter().zip(plans) {
            match plan {
                Plan::Refreshed {
                    granted,
                    expires,
                    next,
                    summary,
                    recovered,
                } => {
                    rows.push(RowChange::Refreshed {
                        id: &f.conn.id,
                        row: Refreshed {
                            scopes_granted: granted,
                            has_refresh_token: true,
                            access_expires_at: *expires,
                            next_refresh_at: *next,
                        },
                        at: f.done,
                    });
                    events.push(NewEvent {
                        connection_id: &f.conn.id,
                        at: f.done,
                        kind: "refreshed",
                        summary: summary.clone(),
                        detail: None,
                    });
                    if *recovered {
                        events.push(NewEvent {
                            connection_id: &f.conn.id,
                            at: f.done,
                            kind: "recovered",
                            summary: "Working again after failed refreshes".to_owned(),
                            detail: None,
                        });
                    }
                }
                Plan::Failed {
                    state,
                    affected,
                    summary,
                    error,
                    ..
                } => {
                    for id in affected {
                        rows.push(RowChange::State { id, state, at: now });
                        events.push(NewEvent {
                            connection_id: id,
                            at: now,
                            kind: "failed",
                            summary: summary.clone(),
                            detail: error.detail(),
                        });
                    }
                }
                Plan::Nothing => {}
            }
        }
        if rows.is_empty() {
            Ok(())
        } else {
            self.store.record_refresh_batch(&rows, &events)
        }
    }

    /// What a batch writes for one finished refresh.
    fn plan(&self, f: &Finished, cached: Option<&Cached>, now: DateTime<Utc>) -> Plan {
        let conn = &f.conn;
        match &f.outcome {
            Outcome::Tokens {
                tokens, rotated, ..
            } => {
                let audience = Audience::primary(&conn.scopes_requested);
                let granted = audience.merge_granted(&conn.scopes_granted, &tokens.granted);
                let mut after = conn.clone();
                after.state = TokenState::ACTIVE;
                after.last_refresh_at = Some(f.done);
                after.has_refresh_token = true;
                after.access_expires_at = Some(tokens.expires_at);
                let next = schedule::next_refresh(
                    &after,
                    cached.map(|c| c.expires_at),
                    &self.config(),
                    now,
                    rand::random::<f64>(),
                );
                let summary = if *rotated {
                    "Refreshed; the new refresh token is stored"
                } else {
                    "Refreshed; the refresh token did not change"
                };
                Plan::Refreshed {
                    granted,
                    expires: tokens.expires_at,
                    next,
                    summary: summary.to_owned(),
                    recovered: conn.state == StateKind::Retrying || conn.needs_attention(),
                }
            }
            Outcome::Failed(failure) => {
                let error = failure.error();
                let class = failure.class_label();
                let aadsts = error.detail().and_then(|d| d.aadsts);
                tracing::warn!(connection = %conn.id, class, aadsts = ?aadsts, "refresh failed");
                let state = failure.next_state(&conn.state, &self.config(), now, rand::random());
                // An expired or wrong client secret breaks every connection of the app at once.
                let affected = if state == StateKind::SecretExpired {
                    self.store
                        .connections_of_registration(&conn.registration_id)
                        .map_or_else(
                            |_| vec![conn.id.clone()],
                            |all| all.into_iter().map(|c| c.id).collect(),
                        )
                } else {
                    vec![conn.id.clone()]
                };
                Plan::Failed {
                    summary: format!("Refresh failed ({class}): {}", error.message()),
                    error: copy(error),
                    permanent: matches!(failure, Failure::Permanent { .. }),
                    state,
                    affected,
                }
            }
            Outcome::Unrecorded(_) | Outcome::Elsewhere => Plan::Nothing,
        }
    }

    /// Reads the batch's rows (and those a failure changed) in one query: listeners hear about
    /// every changed one, and about new problems once, as [`Self::after_change`] does for one;
    /// the reports take the rows.
    fn tell(&self, touched: &[String], written: &mut [Written]) {
        let mut ids: Vec<&str> = written.iter().map(|w| w.id.as_str()).collect();
        ids.extend(touched.iter().map(String::as_str));
        ids.sort_unstable();
        ids.dedup();
        let rows = match self.store.connections_with_notices(&ids) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the refreshed connections");
                return;
            }
        };
        let touched: std::collections::HashSet<&str> = touched.iter().map(String::as_str).collect();
        let mut by_id: HashMap<String, (Connection, Option<String>)> =
            rows.into_iter().map(|r| (r.0.id.clone(), r)).collect();
        for w in written.iter_mut() {
            if let Some((conn, _)) = by_id.get(&w.id) {
                w.row = Some(conn.clone());
            }
        }
        if !touched.is_empty() {
            self.wake();
        }
        for (id, (conn, told)) in by_id.drain() {
            if touched.contains(id.as_str()) {
                self.told(conn, told.as_deref());
            }
        }
    }
}

/// A prepared connection before its locks are attached.
struct UnheldJob {
    n: usize,
    conn: Connection,
    app: Arc<App>,
    refresh_token: Sensitive<String>,
}

impl Job {
    fn from(job: UnheldJob, held: Held) -> Self {
        Self {
            n: job.n,
            conn: job.conn,
            app: job.app,
            refresh_token: job.refresh_token,
            held,
        }
    }
}

enum Ready {
    Job(Box<Job>),
    Step(Step),
}

enum Plan {
    Refreshed {
        granted: Vec<String>,
        expires: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
        summary: String,
        recovered: bool,
    },
    Failed {
        state: TokenState,
        affected: Vec<String>,
        summary: String,
        error: Error,
        permanent: bool,
    },
    Nothing,
}

/// The run's connections, numbered, in chunks of 1, 2, 4, ... up to [`CHUNK`].
fn chunks(ids: Vec<String>) -> Vec<Vec<(usize, String)>> {
    let mut out = Vec::new();
    let mut ids = ids.into_iter().enumerate().peekable();
    let mut size = 1;
    while ids.peek().is_some() {
        out.push(ids.by_ref().take(size).collect());
        size = (size * 2).min(CHUNK);
    }
    out
}

fn unrecorded(n: usize, id: String, error: Error) -> Ready {
    Ready::Step(Step::Reported(Box::new(Written {
        n,
        id,
        requested: true,
        rotated: false,
        error: Some(error),
        row: None,
    })))
}

fn settled(n: usize, conn: Connection, outcome: Outcome, held: Held, done: DateTime<Utc>) -> Ready {
    Ready::Step(Step::Finished(Box::new(Finished {
        n,
        conn,
        outcome,
        done,
        held,
    })))
}

/// The report's copy of an error (its code, message and detail).
fn copy(e: &Error) -> Error {
    let copy = Error::new(e.code(), e.message().to_owned());
    match e.detail() {
        Some(d) => copy.with_detail(d.clone()),
        None => copy,
    }
}

/// Why a batch's refreshes were not recorded: its new tokens did not reach the secret store.
fn not_stored(e: &KeychainError) -> Error {
    let told = Error::from(e.clone());
    let message = format!(
        "The new tokens could not be stored ({e}), so nothing was changed; the next refresh \
         tries again (the stored refresh token still works). {}",
        told.message()
    );
    let copy = Error::new(told.code(), message);
    match told.detail() {
        Some(d) => copy.with_detail(d.clone()),
        None => copy,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_grow_to_the_cap_and_keep_the_order() {
        let ids: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let chunks = super::chunks(ids);
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 2, 4, 8, 16, 32, 32, 5]);
        let flat: Vec<usize> = chunks.into_iter().flatten().map(|(n, _)| n).collect();
        assert_eq!(flat, (0..100).collect::<Vec<_>>());
    }
}
