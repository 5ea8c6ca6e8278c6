//! Adding organisation and shared mailboxes to a registration by address: each address is checked,
//! looked up in Graph with the app's token, and stored as a connection of kind `application`.
//! Many addresses run with bounded concurrency; throttling is waited out per mailbox; one
//! address's failure never undoes another's success.
//!
//! Before any lookup the app's token and permissions are checked once: a missing admin consent,
//! a wrong secret or a missing User.Read.All stops the whole run with the reason, instead of
//! failing every row the same way.

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use super::addresses::{self, ListEntry};
use super::permissions::{MailboxUse, PermissionCheck};
use super::token::{AppToken, AppTokenCache, require_app_credentials};
use crate::connect::disconnect;
use crate::connection::{Connection, ConnectionKind, StateKind, TokenState};
use crate::error::{Error, ErrorBody, ErrorCode, Result};
use crate::flow::identity::AccountType;
use crate::graph::users;
use crate::graph::{Failure, GraphUser, Problem};
use crate::keychain::Keychain;
use crate::registration::Registration;
use crate::scopes::Preset;
use crate::store::Store;
use crate::store::connections::{MailboxUpdate, NewConnection, unresolved_key};

/// Lookups in flight at once. Graph allows 4 concurrent requests per app and mailbox; staying at
/// 4 in all keeps well inside that and inside the app-wide limits however the list is made up.
pub const CONCURRENCY: usize = 4;

/// What happened to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Found and connected (new, or an earlier problem is gone).
    Connected,
    /// Already a working connection of this app; left as it was.
    AlreadyAdded,
    /// Stored, but the app cannot reach it (unknown address, no mailbox, access denied).
    NoAccess,
    /// Not an email address.
    Invalid,
    /// Listed twice; the first one counts.
    Duplicate,
    /// Could not be checked (Graph unavailable, still throttled...); nothing stored, try again.
    Failed,
    /// Not looked up because the run was cancelled.
    Cancelled,
}

impl RowStatus {
    /// Whether the row asks for someone's attention.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            RowStatus::NoAccess | RowStatus::Invalid | RowStatus::Failed
        )
    }
}

/// The result for one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct MailboxRow {
    /// 1-based line of the list (position for command-line arguments).
    pub line: u32,
    /// The text as given.
    pub input: String,
    /// The mailbox's address: Graph's primary address when found, else the normalised input.
    pub address: Option<String>,
    pub display_name: Option<String>,
    pub status: RowStatus,
    pub connection_id: Option<String>,
    /// What is wrong and what to do (message, fix, Graph request IDs).
    pub problem: Option<ErrorBody>,
}

/// One finished row while a run goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BulkProgress {
    pub done: u32,
    pub total: u32,
    pub row: MailboxRow,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BulkReport {
    pub registration_id: String,
    pub registration_name: String,
    pub permissions: PermissionCheck,
    /// In list order.
    pub rows: Vec<MailboxRow>,
    pub connected: u32,
    pub already_added: u32,
    /// Rows with a problem: no access, invalid, failed.
    pub problems: u32,
    pub cancelled: bool,
    pub summary: String,
}

/// The app's token and permissions for a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AccessReport {
    pub registration_id: String,
    pub registration_name: String,
    /// The tenant that issued the token.
    pub tenant_id: Option<String>,
    #[ts(type = "string")]
    pub token_expires_at: DateTime<Utc>,
    pub permissions: PermissionCheck,
}

/// Everything a lookup needs; the shells build one per call.
#[derive(Debug, Clone, Copy)]
pub struct Mailboxes<'a> {
    pub store: &'a Store,
    pub secrets: &'a dyn Keychain,
    pub http: &'a reqwest::Client,
    pub tokens: &'a AppTokenCache,
}

/// A registration set up for sign-in only is not used for application access.
fn require_application(reg: &Registration) -> Result<()> {
    require_app_credentials(reg)?;
    if reg.usage.application() {
        return Ok(());
    }
    Err(Error::invalid(
        "registration",
        format!("\"{}\" is set up for sign-in only, not for application access.", reg.name),
    )
    .with_fix("Edit the app and choose application access (or both), after adding its application permissions in the portal."))
}

struct Lookup {
    order: usize,
    line: u32,
    input: String,
    address: String,
    /// The stored connection with this address, when it had a problem before.
    existing: Option<Connection>,
}

impl Lookup {
    /// A row for this address before anything is known.
    fn row(&self) -> MailboxRow {
        MailboxRow {
            line: self.line,
            input: self.input.clone(),
            address: Some(self.address.clone()),
            display_name: None,
            status: RowStatus::Failed,
            connection_id: self.existing.as_ref().map(|e| e.id.clone()),
            problem: None,
        }
    }
}

/// Rows as they finish, reported to the caller one by one.
struct Run<F> {
    total: u32,
    rows: Vec<(usize, MailboxRow)>,
    progress: F,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<F: FnMut(BulkProgress)> Run<F> {
    fn new(total: usize, progress: F) -> Self {
        Self {
            total: count(total),
            rows: Vec::with_capacity(total),
            progress,
        }
    }

    fn push(&mut self, order: usize, row: MailboxRow) {
        (self.progress)(BulkProgress {
            done: count(self.rows.len() + 1),
            total: self.total,
            row: row.clone(),
        });
        self.rows.push((order, row));
    }

    fn finish(
        mut self,
        reg: &Registration,
        permissions: PermissionCheck,
        cancelled: bool,
    ) -> BulkReport {
        self.rows.sort_by_key(|(order, _)| *order);
        let rows: Vec<MailboxRow> = self.rows.into_iter().map(|(_, r)| r).collect();
        let with = |s: RowStatus| count(rows.iter().filter(|r| r.status == s).count());
        let problems = count(rows.iter().filter(|r| r.status.is_problem()).count());
        let (connected, already_added) =
            (with(RowStatus::Connected), with(RowStatus::AlreadyAdded));
        BulkReport {
            registration_id: reg.id.clone(),
            registration_name: reg.name.clone(),
            permissions,
            summary: summary(
                connected,
                already_added,
                problems,
                with(RowStatus::Cancelled),
            ),
            rows,
            connected,
            already_added,
            problems,
            cancelled,
        }
    }
}

impl Mailboxes<'_> {
    fn registration(&self, id_or_name: &str) -> Result<Registration> {
        let reg = self.store.find_registration(id_or_name)?;
        require_application(&reg)?;
        Ok(reg)
    }

    /// Gets (or, with `fresh`, renews) the app's token and reports its permissions. A missing
    /// admin consent is an error with code `needs_consent`.
    pub async fn check_access(
        &self,
        registration: &str,
        mailbox_use: MailboxUse,
        fresh: bool,
    ) -> Result<AccessReport> {
        let reg = self.registration(registration)?;
        if fresh {
            self.tokens.invalidate(&reg.id);
        }
        let token = self.tokens.token(&reg, self.secrets, self.http).await?;
        Ok(AccessReport {
            registration_id: reg.id,
            registration_name: reg.name,
            tenant_id: token.tenant_id.clone(),
            token_expires_at: token.expires_at,
            permissions: PermissionCheck::of_token(&token, mailbox_use),
        })
    }

    /// Adds mailboxes by address. Rows are reported through `progress` as they finish; the
    /// report lists them in input order. Errors only for what stops the whole run (unknown
    /// registration, token refused, no directory access).
    pub async fn add(
        &self,
        registration: &str,
        entries: &[ListEntry],
        mailbox_use: MailboxUse,
        cancel: &CancellationToken,
        progress: impl FnMut(BulkProgress),
    ) -> Result<BulkReport> {
        addresses::require_reasonable(entries)?;
        let reg = self.registration(registration)?;
        let token = self.tokens.token(&reg, self.secrets, self.http).await?;
        let permissions = PermissionCheck::of_token(&token, mailbox_use);
        permissions.require_lookup()?;
        let graph_base = reg.cloud()?.graph;

        let checked = addresses::check(entries);
        let mut run = Run::new(checked.len(), progress);
        let lookups = self.sort_out(&reg, checked, &mut run)?;
        let (reg_ref, graph_ref) = (&reg, graph_base.as_str());
        let mut results = futures_util::stream::iter(lookups)
            .map(|lookup| async move {
                let found = self
                    .resolve(reg_ref, graph_ref, &lookup.address, cancel)
                    .await;
                (lookup, found)
            })
            .buffer_unordered(CONCURRENCY);
        while let Some((lookup, found)) = results.next().await {
            let saved = self.save(reg_ref, &lookup, found, &token, &permissions, Utc::now());
            let row = saved.unwrap_or_else(|e| MailboxRow {
                status: RowStatus::Failed,
                problem: Some(e.body()),
                ..lookup.row()
            });
            run.push(lookup.order, row);
        }
        drop(results);
        let report = run.finish(&reg, permissions, cancel.is_cancelled());
        tracing::info!(registration = %reg.id, connected = report.connected, problems = report.problems, cancelled = report.cancelled, "mailboxes added");
        Ok(report)
    }

    /// Looks one stored mailbox up again (the refresh engine's check of an application-access
    /// connection) and stores what Graph says: active again, or no access with the reason.
    pub async fn recheck(
        &self,
        conn: &Connection,
        cancel: &CancellationToken,
    ) -> Result<MailboxRow> {
        let reg = self.registration(&conn.registration_id)?;
        let token = self.tokens.token(&reg, self.secrets, self.http).await?;
        let permissions =
            PermissionCheck::of_token(&token, MailboxUse::of_requested(&conn.scopes_requested));
        let graph_base = reg.cloud()?.graph;
        let lookup = Lookup {
            order: 0,
            line: 0,
            input: conn.address.clone(),
            address: conn.address.clone(),
            existing: Some(conn.clone()),
        };
        let found = self.resolve(&reg, &graph_base, &conn.address, cancel).await;
        self.save(&reg, &lookup, found, &token, &permissions, Utc::now())
    }

    /// Settles what needs no lookup (bad syntax, repeats, mailboxes that already work) and
    /// returns the rest.
    fn sort_out(
        &self,
        reg: &Registration,
        checked: Vec<addresses::CheckedEntry>,
        run: &mut Run<impl FnMut(BulkProgress)>,
    ) -> Result<Vec<Lookup>> {
        let mut lookups = Vec::new();
        for (order, c) in checked.into_iter().enumerate() {
            let row = |status, address: Option<String>, problem: Option<Error>| MailboxRow {
                line: c.line,
                input: c.input.clone(),
                address,
                display_name: None,
                status,
                connection_id: None,
                problem: problem.map(|e| e.body()),
            };
            match (c.address.clone(), c.problem.clone()) {
                (Some(address), Some(why)) => {
                    let e = Error::invalid("address", why).with_fix("Each mailbox is added once.");
                    run.push(order, row(RowStatus::Duplicate, Some(address), Some(e)));
                }
                (None, why) => {
                    let e = Error::invalid("address", why.unwrap_or_default())
                        .with_fix("Correct the address and add it again.");
                    run.push(order, row(RowStatus::Invalid, None, Some(e)));
                }
                (Some(address), None) => {
                    match self.store.find_application_mailbox(&reg.id, &address)? {
                        Some(existing) if existing.state == StateKind::Active => {
                            run.push(
                                order,
                                MailboxRow {
                                    display_name: existing.display_name.clone(),
                                    connection_id: Some(existing.id.clone()),
                                    ..row(
                                        RowStatus::AlreadyAdded,
                                        Some(existing.address.clone()),
                                        None,
                                    )
                                },
                            );
                        }
                        existing => lookups.push(Lookup {
                            order,
                            line: c.line,
                            input: c.input.clone(),
                            address,
                            existing,
                        }),
                    }
                }
            }
        }
        Ok(lookups)
    }

    /// Looks one address up with the app's current token, then (when the app may read mail)
    /// opens the mailbox's inbox: Exchange's application access policies and RBAC scopes, and a
    /// missing mailbox, show only there. A token Graph refuses is renewed once.
    async fn resolve(
        &self,
        reg: &Registration,
        graph_base: &str,
        address: &str,
        cancel: &CancellationToken,
    ) -> Outcome {
        if cancel.is_cancelled() {
            return Outcome::Failed(Failure::new(
                Problem::Cancelled,
                Error::new(ErrorCode::Cancelled, "Cancelled."),
            ));
        }
        let mut renewed = false;
        loop {
            let token = match self.tokens.token(reg, self.secrets, self.http).await {
                Ok(t) => t,
                Err(error) => {
                    return Outcome::Failed(Failure::new(Problem::Other, error));
                }
            };
            let bearer = &token.access_token;
            let found = users::get_user(self.http, graph_base, bearer, address, cancel).await;
            let probed = match &found {
                Ok(user) if can_read_mail(&token) => {
                    users::probe_mailbox(self.http, graph_base, bearer, &user.id, cancel).await
                }
                _ => Ok(()),
            };
            let outcome = match (found, probed) {
                (Ok(user), Ok(())) => Outcome::Reachable(user),
                (Ok(user), Err(failure)) => Outcome::from_failure(Some(user), failure),
                (Err(failure), _) => Outcome::from_failure(None, failure),
            };
            match outcome {
                Outcome::Failed(f) if f.problem == Problem::Unauthorized && !renewed => {
                    self.tokens.invalidate_if(&reg.id, bearer).await;
                    renewed = true;
                }
                other => return other,
            }
        }
    }

    /// Stores a lookup's result and says what happened.
    fn save(
        &self,
        reg: &Registration,
        lookup: &Lookup,
        outcome: Outcome,
        token: &AppToken,
        permissions: &PermissionCheck,
        now: DateTime<Utc>,
    ) -> Result<MailboxRow> {
        let requested = permissions.requested();
        let granted = if token.roles_known {
            token.roles.clone()
        } else {
            proven_by_graph(&requested, &outcome)
        };
        let unproven = (!token.roles_known && granted.len() < requested.len()).then(|| {
            format!(
                "The app's token does not show its permissions; Microsoft Graph has proven only {} so far (the rest shows when the app uses it).",
                if granted.is_empty() { "nothing".to_owned() } else { granted.join(" and ") }
            )
        });
        let stored = Stored {
            token,
            requested: &requested,
            granted: &granted,
            note: if permissions.roles_known {
                (!permissions.ok).then_some(permissions.summary.as_str())
            } else {
                unproven.as_deref()
            },
            now,
        };
        match outcome {
            Outcome::Reachable(user) => self.save_found(reg, lookup, &user, &stored),
            Outcome::Unreachable { user, failure } => {
                self.save_unreachable(reg, lookup, user.as_ref(), &failure.error, &stored)
            }
            Outcome::Failed(f) if f.problem == Problem::Cancelled => Ok(MailboxRow {
                status: RowStatus::Cancelled,
                ..lookup.row()
            }),
            Outcome::Failed(f) => Ok(MailboxRow {
                status: RowStatus::Failed,
                problem: Some(f.error.body()),
                ..lookup.row()
            }),
        }
    }

    /// A mailbox Graph found: a new connection, or an earlier one that works again.
    fn save_found(
        &self,
        reg: &Registration,
        lookup: &Lookup,
        user: &GraphUser,
        s: &Stored<'_>,
    ) -> Result<MailboxRow> {
        let address = user.address().unwrap_or(&lookup.address).to_owned();
        let update = MailboxUpdate {
            account_key: &user.id,
            address: &address,
            display_name: user.display_name.as_deref(),
            tenant_id: s.token.tenant_id.as_deref(),
            scopes_requested: s.requested,
            scopes_granted: s.granted,
            state: TokenState::Active {
                note: s.note.map(str::to_owned),
            },
            access_expires_at: Some(s.token.expires_at),
        };
        let mut row = MailboxRow {
            address: Some(address.clone()),
            display_name: user.display_name.clone(),
            status: RowStatus::Connected,
            ..lookup.row()
        };
        let same = self.store.find_connection_by_account(&reg.id, &user.id)?;
        let earlier = lookup.existing.as_ref();
        // An earlier no-access row for this address gives way to the row of the same mailbox.
        if let (Some(c), Some(e)) = (&same, earlier)
            && c.id != e.id
        {
            self.store.delete_connection(&e.id)?;
        }
        let id = match (same, earlier.cloned()) {
            // The same mailbox is connected already, under this or another address.
            (Some(c), _) if c.state == StateKind::Active => {
                row.status = RowStatus::AlreadyAdded;
                row.address = Some(c.address);
                c.id
            }
            (Some(Connection { id, .. }), _) | (None, Some(Connection { id, .. })) => {
                self.store.update_application_mailbox(&id, &update, s.now)?;
                let summary = format!("{address} is reachable with application access again");
                self.store
                    .add_event(&id, s.now, "verified", &summary, None)?;
                id
            }
            (None, None) => {
                let id = uuid::Uuid::new_v4().to_string();
                self.store
                    .insert_connection(&new_row(&id, reg, &update), s.now)?;
                let summary = format!("Added {address} with application access");
                self.store
                    .add_event(&id, s.now, "connected", &summary, None)?;
                id
            }
        };
        row.connection_id = Some(id);
        Ok(row)
    }

    /// A mailbox the app cannot reach: stored with the reason, so it can be rechecked once an
    /// administrator has changed what stood in the way. `user` is known when the directory found
    /// it but its mailbox was closed to the app.
    fn save_unreachable(
        &self,
        reg: &Registration,
        lookup: &Lookup,
        user: Option<&GraphUser>,
        error: &Error,
        s: &Stored<'_>,
    ) -> Result<MailboxRow> {
        let reason = reason_of(error);
        let same = match user {
            Some(u) => self.store.find_connection_by_account(&reg.id, &u.id)?,
            None => None,
        };
        if let (Some(c), Some(e)) = (&same, &lookup.existing)
            && c.id != e.id
        {
            self.store.delete_connection(&e.id)?;
        }
        let target = same.or_else(|| lookup.existing.clone());
        let key = match (user, &target) {
            (Some(u), _) => u.id.clone(),
            (None, Some(t)) => t.account_key.clone(),
            (None, None) => unresolved_key(&lookup.address),
        };
        let address = user
            .and_then(GraphUser::address)
            .unwrap_or(&lookup.address)
            .to_owned();
        let display_name = user
            .and_then(|u| u.display_name.clone())
            .or_else(|| target.as_ref().and_then(|t| t.display_name.clone()));
        let update = MailboxUpdate {
            account_key: &key,
            address: &address,
            display_name: display_name.as_deref(),
            tenant_id: s.token.tenant_id.as_deref(),
            scopes_requested: s.requested,
            scopes_granted: s.granted,
            state: TokenState::NoAccess {
                reason: reason.clone(),
                aadsts: None,
            },
            access_expires_at: None,
        };
        let id = if let Some(t) = &target {
            self.store
                .update_application_mailbox(&t.id, &update, s.now)?;
            t.id.clone()
        } else {
            let id = uuid::Uuid::new_v4().to_string();
            self.store
                .insert_connection(&new_row(&id, reg, &update), s.now)?;
            id
        };
        self.store
            .add_event(&id, s.now, "failed", &event_summary(error), error.detail())?;
        Ok(MailboxRow {
            address: Some(address),
            display_name,
            status: RowStatus::NoAccess,
            connection_id: Some(id),
            problem: Some(error.body()),
            ..lookup.row()
        })
    }
}

/// How one lookup ended.
#[derive(Debug)]
enum Outcome {
    /// Found, and (when the app may read mail) its inbox opened.
    Reachable(GraphUser),
    /// Unknown address, no mailbox, or closed to the app.
    Unreachable {
        user: Option<GraphUser>,
        failure: Failure,
    },
    /// Not decided: Graph unavailable, throttled too long, token refused, cancelled.
    Failed(Failure),
}

impl Outcome {
    fn from_failure(user: Option<GraphUser>, failure: Failure) -> Self {
        match failure.problem {
            Problem::NotFound | Problem::NoMailbox | Problem::AccessDenied => {
                Outcome::Unreachable { user, failure }
            }
            _ => Outcome::Failed(failure),
        }
    }
}

/// Mail roles that open a mailbox's inbox. Without one, "access denied" there would only mean the
/// permission is missing, so the mailbox is not opened.
const READ_ROLES: [&str; 4] = [
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.ReadBasic",
    "Mail.ReadBasic.All",
];

/// With roles unknown the inbox is opened anyway: Graph's answer is the only one there is.
fn can_read_mail(token: &AppToken) -> bool {
    !token.roles_known || READ_ROLES.iter().any(|r| token.has_role(r))
}

/// The requested permissions a lookup's outcome proves the app holds, for a token that does not
/// show its roles: finding the mailbox proves directory access, opening its inbox reading mail.
fn proven_by_graph(requested: &[String], outcome: &Outcome) -> Vec<String> {
    let (found, opened) = match outcome {
        Outcome::Reachable(_) => (true, true),
        Outcome::Unreachable { user: Some(_), .. } => (true, false),
        _ => (false, false),
    };
    requested
        .iter()
        .filter(|r| {
            let directory = r.eq_ignore_ascii_case("User.Read.All")
                || r.to_ascii_lowercase().starts_with("directory.")
                || r.eq_ignore_ascii_case("User.ReadWrite.All");
            let read = READ_ROLES.iter().any(|x| x.eq_ignore_ascii_case(r));
            (found && directory) || (opened && read)
        })
        .cloned()
        .collect()
}

/// What every stored row of a run shares.
struct Stored<'a> {
    token: &'a AppToken,
    requested: &'a [String],
    /// What the app is known to hold: the token's roles, or what Graph proved when it shows none.
    granted: &'a [String],
    /// Said on every connected row while the app lacks a permission the use needs.
    note: Option<&'a str>,
    now: DateTime<Utc>,
}

fn new_row<'a>(id: &'a str, reg: &'a Registration, m: &'a MailboxUpdate<'a>) -> NewConnection<'a> {
    NewConnection {
        id,
        registration_id: &reg.id,
        kind: ConnectionKind::Application,
        account_key: m.account_key,
        address: m.address,
        display_name: m.display_name,
        tenant_id: m.tenant_id,
        account_type: AccountType::Work,
        preset: Preset::Application,
        scopes_requested: m.scopes_requested,
        scopes_granted: m.scopes_granted,
        has_refresh_token: false,
        state: m.state.clone(),
        access_expires_at: m.access_expires_at,
    }
}

/// The stored reason: what is wrong and what to do, in one line.
fn reason_of(e: &Error) -> String {
    match e.detail().and_then(|d| d.fix.as_deref()) {
        Some(fix) => format!("{} {fix}", e.message()),
        None => e.message().to_owned(),
    }
}

/// The history line, with Graph's request ID for support.
fn event_summary(e: &Error) -> String {
    match e.detail().and_then(|d| d.request_id.as_deref()) {
        Some(id) => format!("{} (request-id {id})", e.message()),
        None => e.message().to_owned(),
    }
}

fn summary(connected: u32, already: u32, problems: u32, cancelled: u32) -> String {
    let plural = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![format!(
        "{} connected",
        plural(connected, "mailbox", "mailboxes")
    )];
    if already > 0 {
        parts.push(format!("{already} already added"));
    }
    if problems > 0 {
        parts.push(plural(problems, "needs attention", "need attention"));
    }
    if cancelled > 0 {
        parts.push(format!("{cancelled} not checked (cancelled)"));
    }
    format!("{}.", parts.join(", "))
}

/// Removes an application-access mailbox. Signed-in connections are removed with `disconnect`.
pub fn remove(store: &Store, secrets: &dyn Keychain, id_or_address: &str) -> Result<Connection> {
    let conn = store.get_connection(id_or_address)?;
    if conn.kind != ConnectionKind::Application {
        return Err(Error::invalid(
            "connection",
            format!(
                "{} is a signed-in connection, not an organisation mailbox.",
                conn.address
            ),
        )
        .with_fix("Remove it with `mailconn disconnect` or on the Connections page."));
    }
    disconnect(store, secrets, &conn.id)
}

#[cfg(test)]
mod tests;
