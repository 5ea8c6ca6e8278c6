//! Verification: proves a connection works end to end, one [`Step`] per check, each only when
//! the granted scopes allow it (a skipped step names the scope it lacks):
//!
//! - the access token (refreshed first when it is within the margin);
//! - Graph: the profile (`/me`), the newest inbox message's subject and date (read scopes), a
//!   test message to the mailbox itself (send scopes, only when asked), the calendar (calendar
//!   scopes); after a failed profile call the other Graph steps are skipped;
//! - IMAP, POP and SMTP logins with XOAUTH2 (`mail`), against the registration's mail servers or
//!   Microsoft's for the cloud and account type.
//!
//! For application access it is the mailbox check. The outcome is recorded in the history as
//! `verified` or `failed`; the connection's state is not changed by a refused mail login.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::{AccessToken, Engine};
use crate::connection::{Connection, ConnectionKind};
use crate::error::{Error, ErrorCode, Result};
use crate::flow::identity::AccountType;
use crate::graph::{self as graph_api, GraphUser, checks, users};
use crate::mail::{self, Login};
use crate::mail_servers::{MailProtocol, MailServers};
use crate::resource::{Resource, default_resource};
use crate::scopes::OUTLOOK_RESOURCE;
use crate::verification::{Outcome, Step, StepProtocol, Verification, VerifyOptions};

const READ_SCOPES: &[&str] = &["Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic"];
const PROFILE_SCOPES: &[&str] = &[
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "Directory.Read.All",
];
const SEND_SCOPES: &[&str] = &["Mail.Send"];
const CALENDAR_SCOPES: &[&str] = &["Calendars.Read", "Calendars.ReadWrite"];

/// The scope each mail protocol needs (Outlook resource).
fn mail_scope(protocol: MailProtocol) -> &'static str {
    match protocol {
        MailProtocol::Imap => "IMAP.AccessAsUser.All",
        MailProtocol::Pop => "POP.AccessAsUser.All",
        MailProtocol::Smtp => "SMTP.Send",
    }
}

fn is_outlook(scope: &str) -> bool {
    let s = scope.to_ascii_lowercase();
    s.starts_with("https://outlook.office.com/") || s.starts_with("https://outlook.office365.com/")
}

/// The short name of a Graph scope (`Mail.Read`, `https://graph.microsoft.com/Mail.Read`).
fn graph_short(scope: &str) -> Option<String> {
    if is_outlook(scope) {
        return None;
    }
    Some(
        scope
            .rsplit('/')
            .next()
            .unwrap_or(scope)
            .to_ascii_lowercase(),
    )
}

/// Which of `wanted` Graph scopes the connection holds.
fn has_graph(conn: &Connection, wanted: &[&str]) -> bool {
    conn.scopes_granted
        .iter()
        .filter_map(|s| graph_short(s))
        .any(|g| wanted.iter().any(|w| w.eq_ignore_ascii_case(&g)))
}

fn has_outlook(conn: &Connection, name: &str) -> bool {
    conn.scopes_granted.iter().any(|s| {
        is_outlook(s)
            && s.rsplit('/')
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

fn missing(wanted: &[&str]) -> String {
    format!(
        "Skipped: the connection was not granted {}.",
        wanted.join(" or ")
    )
}

impl Engine {
    /// Verifies every connection that can be (a few at a time), in the list's order.
    pub async fn verify_all(self: &Arc<Self>, options: VerifyOptions) -> Result<Vec<Verification>> {
        let ids: Vec<String> = self
            .store
            .list_connections()?
            .into_iter()
            .filter(|c| c.kind == ConnectionKind::Application || c.has_refresh_token)
            .map(|c| c.id)
            .collect();
        let permits = Arc::new(tokio::sync::Semaphore::new(
            self.config().concurrency.max(1),
        ));
        let mut tasks = tokio::task::JoinSet::new();
        for (n, id) in ids.into_iter().enumerate() {
            let (engine, permits) = (self.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (n, engine.verify(&id, options).await)
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

    /// Verifies one connection (see the module's comment).
    pub async fn verify(&self, id: &str, options: VerifyOptions) -> Result<Verification> {
        let conn = self.store.get_connection(id)?;
        if conn.kind == ConnectionKind::Application {
            return self.verify_application(&conn).await;
        }
        let before = self.token_requests();
        let started = Instant::now();
        // The token step asks for the resource the connection signed in for (Graph, or the mail
        // servers' Outlook audience); the mail logins then ask for theirs.
        let first =
            default_resource(&[&conn.scopes_requested[..], &conn.scopes_granted[..]].concat());
        let token = match self.access_token(&conn.id, first).await {
            Ok(t) => t,
            Err(e) => {
                let step = Step::failed("token", StepProtocol::Token, e.message())
                    .with_fix(e.detail().and_then(|d| d.fix.clone()))
                    .with_code(
                        e.detail()
                            .and_then(|d| d.aadsts)
                            .map(|c| format!("AADSTS{c}")),
                    )
                    .timed(started);
                return Ok(Verification {
                    connection: self.store.get_connection(&conn.id)?,
                    requested: true,
                    rotated: false,
                    error: Some(e.body()),
                    steps: vec![step],
                });
            }
        };
        let requested = self.token_requests() > before;
        let conn = token.connection.clone();
        let mut steps = vec![
            Step::passed(
                "token",
                StepProtocol::Token,
                if requested {
                    "A fresh access token was obtained"
                } else {
                    "The access token held in memory is still valid"
                },
            )
            .timed(started),
        ];
        let reg = self.store.find_registration(&conn.registration_id)?;
        let mut first_error: Option<Error> = None;
        let mut who = None;
        if first == Resource::Graph {
            let graph = reg.cloud()?.graph;
            who = self
                .graph_steps(&conn, &graph, &token, options, &mut steps, &mut first_error)
                .await;
        } else {
            for name in [
                "graph_profile",
                "graph_newest_message",
                "graph_send_test",
                "graph_calendar",
            ] {
                steps.push(Step::skipped(
                    name,
                    StepProtocol::Graph,
                    "Skipped: the connection's permissions are for mail programs (IMAP, POP, SMTP), not Microsoft Graph.",
                ));
            }
        }
        let servers = reg.mail_servers(conn.account_type == AccountType::Personal);
        self.mail_steps(&conn, &servers, &mut steps, &mut first_error)
            .await;
        self.record_verification(&conn, who.as_deref(), &steps, first_error.as_ref())?;
        self.emit_changed(&conn.id);
        Ok(Verification {
            connection: self.store.get_connection(&conn.id)?,
            requested,
            rotated: false,
            error: first_error.map(|e| e.body()),
            steps,
        })
    }

    /// Application access: the mailbox check, as one step.
    async fn verify_application(&self, conn: &Connection) -> Result<Verification> {
        let started = Instant::now();
        let report = self.refresh(&conn.id).await?;
        let step = match &report.error {
            None => Step::passed(
                "application_mailbox",
                StepProtocol::Graph,
                format!("The app can open {}", conn.address),
            ),
            Some(e) => Step::failed(
                "application_mailbox",
                StepProtocol::Graph,
                e.message.clone(),
            )
            .with_fix(e.detail.as_ref().and_then(|d| d.fix.clone()))
            .with_code(e.detail.as_ref().and_then(|d| d.graph_error.clone())),
        }
        .timed(started);
        Ok(Verification {
            connection: report.connection,
            requested: report.requested,
            rotated: report.rotated,
            error: report.error,
            steps: vec![step],
        })
    }

    /// The Graph steps; the address Graph answered for when the profile passed.
    async fn graph_steps(
        &self,
        conn: &Connection,
        graph: &str,
        token: &AccessToken,
        options: VerifyOptions,
        steps: &mut Vec<Step>,
        first_error: &mut Option<Error>,
    ) -> Option<String> {
        let mut out = GraphOut { steps, first_error };
        let who = if has_graph(conn, PROFILE_SCOPES) {
            let started = Instant::now();
            match self
                .graph_get::<GraphUser>(users::me_url(graph), token)
                .await
            {
                Ok(me) => {
                    let address = me.address().unwrap_or(&conn.address).to_owned();
                    let name = me.display_name.as_deref().map(|n| format!(" ({n})"));
                    let said = format!(
                        "Microsoft Graph answered for {address}{}",
                        name.unwrap_or_default()
                    );
                    out.record("graph_profile", Ok(said), started);
                    Some(address)
                }
                Err(f) => {
                    out.record("graph_profile", Err(f), started);
                    for name in ["graph_newest_message", "graph_send_test", "graph_calendar"] {
                        out.skip(
                            name,
                            "Skipped: the profile request to Microsoft Graph failed.",
                        );
                    }
                    return None;
                }
            }
        } else {
            out.skip("graph_profile", &missing(PROFILE_SCOPES));
            None
        };

        if has_graph(conn, READ_SCOPES) {
            let started = Instant::now();
            let said = self
                .graph_get::<checks::Messages>(checks::newest_message_url(graph), token)
                .await
                .map(|page| match page.value.first() {
                    Some(m) => format!(
                        "Newest inbox message: \"{}\", received {}",
                        m.subject.as_deref().unwrap_or("(no subject)"),
                        m.received_date_time.as_deref().unwrap_or("(no date)")
                    ),
                    None => "The inbox is readable and empty".to_owned(),
                });
            out.record("graph_newest_message", said, started);
        } else {
            out.skip("graph_newest_message", &missing(READ_SCOPES));
        }

        let address = who.clone().unwrap_or_else(|| conn.address.clone());
        if !has_graph(conn, SEND_SCOPES) {
            out.skip("graph_send_test", &missing(SEND_SCOPES));
        } else if options.send_test {
            let started = Instant::now();
            let body = checks::test_message(&address, self.clock.now());
            let said = match checks::send_mail_url(graph) {
                Ok(url) => graph_api::post_json::<serde_json::Value>(
                    &self.http,
                    &url,
                    &token.token,
                    &body,
                    &CancellationToken::new(),
                )
                .await
                .map(|_| {
                    format!(
                        "A test message (\"{}\") was sent to {address}",
                        checks::TEST_SUBJECT
                    )
                }),
                Err(e) => Err(graph_api::Failure::new(graph_api::Problem::Other, e)),
            };
            out.record("graph_send_test", said, started);
        } else {
            out.skip(
                "graph_send_test",
                "Skipped: a test message is sent only when asked (--send-test).",
            );
        }

        self.calendar_step(conn, graph, token, &mut out).await;
        who
    }

    async fn calendar_step(
        &self,
        conn: &Connection,
        graph: &str,
        token: &AccessToken,
        out: &mut GraphOut<'_>,
    ) {
        if has_graph(conn, CALENDAR_SCOPES) {
            let started = Instant::now();
            let said = self
                .graph_get::<checks::Events>(checks::events_url(graph), token)
                .await
                .map(|page| match page.value.first() {
                    Some(e) => format!(
                        "The calendar is readable; an event: \"{}\"{}",
                        e.subject.as_deref().unwrap_or("(no subject)"),
                        e.start
                            .as_ref()
                            .and_then(|s| s.date_time.as_deref())
                            .map(|d| format!(" starting {d}"))
                            .unwrap_or_default()
                    ),
                    None => "The calendar is readable and has no events".to_owned(),
                });
            out.record("graph_calendar", said, started);
        } else {
            out.skip("graph_calendar", &missing(CALENDAR_SCOPES));
        }
    }

    async fn graph_get<T: serde::de::DeserializeOwned>(
        &self,
        url: Result<url::Url>,
        token: &AccessToken,
    ) -> std::result::Result<T, graph_api::Failure> {
        match url {
            Ok(url) => {
                graph_api::get_json::<T>(&self.http, &url, &token.token, &CancellationToken::new())
                    .await
            }
            Err(e) => Err(graph_api::Failure::new(graph_api::Problem::Other, e)),
        }
    }

    /// IMAP, POP and SMTP, each when its scope was granted.
    async fn mail_steps(
        &self,
        conn: &Connection,
        servers: &MailServers,
        steps: &mut Vec<Step>,
        first_error: &mut Option<Error>,
    ) {
        for protocol in MailProtocol::ALL {
            let step_protocol = match protocol {
                MailProtocol::Imap => StepProtocol::Imap,
                MailProtocol::Pop => StepProtocol::Pop,
                MailProtocol::Smtp => StepProtocol::Smtp,
            };
            let name = format!("{}_login", protocol.label().to_ascii_lowercase());
            let scope = mail_scope(protocol);
            if !has_outlook(conn, scope) {
                steps.push(Step::skipped(
                    &name,
                    step_protocol,
                    format!("Skipped: the connection was not granted {OUTLOOK_RESOURCE}/{scope}."),
                ));
                continue;
            }
            let Some(server) = servers.get(protocol) else {
                let step = Step::failed(
                    &name,
                    step_protocol,
                    format!("No {} server is known for this app's cloud.", protocol.label()),
                )
                .with_fix(Some(format!(
                    "Add the server to the app registration (`mailconn app add ... --{} HOST:PORT`, or edit the app in the window).",
                    protocol.field().replace('_', "-")
                )));
                note_failure(&step, first_error);
                steps.push(step);
                continue;
            };
            let resource = match protocol {
                MailProtocol::Imap => Resource::Imap,
                MailProtocol::Pop => Resource::Pop,
                MailProtocol::Smtp => Resource::Smtp,
            };
            let token = match self.access_token(&conn.id, resource).await {
                Ok(t) => t.token,
                Err(e) => {
                    let step = Step::failed(&name, step_protocol, e.message())
                        .with_fix(e.detail().and_then(|d| d.fix.clone()));
                    note_failure(&step, first_error);
                    steps.push(step);
                    continue;
                }
            };
            let login = Login::new(server.clone(), &conn.address, token);
            for step in mail::check(protocol, &login).await {
                note_failure(&step, first_error);
                steps.push(step);
            }
        }
    }

    /// One history entry for the whole verification.
    fn record_verification(
        &self,
        conn: &Connection,
        who: Option<&str>,
        steps: &[Step],
        first_error: Option<&Error>,
    ) -> Result<()> {
        let now = self.clock.now();
        let passed: Vec<&str> = steps
            .iter()
            .filter(|s| s.outcome == Outcome::Passed && s.name.ends_with("_login"))
            .map(|s| match s.protocol {
                StepProtocol::Imap => "IMAP",
                StepProtocol::Pop => "POP",
                _ => "SMTP",
            })
            .collect();
        match first_error {
            None => {
                let mut summary = match who {
                    Some(who) => format!("Microsoft Graph answered for {who}"),
                    None => format!("Verified {}", conn.address),
                };
                if !passed.is_empty() {
                    let _ = write!(summary, "; {} login works", passed.join(", "));
                }
                self.store
                    .add_event(&conn.id, now, "verified", &summary, None)?;
            }
            Some(e) => {
                let summary = format!("Verification failed: {}", e.message());
                self.store
                    .add_event(&conn.id, now, "failed", &summary, e.detail())?;
            }
        }
        Ok(())
    }
}

/// Where the Graph steps go: the list, and the first failure as the verification's error.
struct GraphOut<'a> {
    steps: &'a mut Vec<Step>,
    first_error: &'a mut Option<Error>,
}

impl GraphOut<'_> {
    fn record(
        &mut self,
        name: &str,
        result: std::result::Result<String, graph_api::Failure>,
        started: Instant,
    ) {
        match result {
            Ok(said) => self
                .steps
                .push(Step::passed(name, StepProtocol::Graph, said).timed(started)),
            Err(f) => {
                let (step, error) = graph_failure(name, &f, started);
                self.steps.push(step);
                if self.first_error.is_none() {
                    *self.first_error = Some(error);
                }
            }
        }
    }

    fn skip(&mut self, name: &str, why: &str) {
        self.steps
            .push(Step::skipped(name, StepProtocol::Graph, why));
    }
}

/// A failed Graph step in words for a signed-in mailbox (not application access): 403 means
/// the token lacks the permission. Also the error for callers that show one.
fn graph_failure(name: &str, f: &graph_api::Failure, started: Instant) -> (Step, Error) {
    let code = f.error.detail().and_then(|d| d.graph_error.clone());
    let (message, fix) = if f.status.map(|s| s.as_u16()) == Some(403) {
        (
            format!(
                "Microsoft Graph refused: the connection's token lacks the permission for this call{}.",
                code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
            ),
            Some("Reconnect with a preset that includes it, and check that the app registration lists the permission (and an administrator consented where required).".to_owned()),
        )
    } else {
        (
            f.error.message().to_owned(),
            f.error.detail().and_then(|d| d.fix.clone()),
        )
    };
    let mut detail = f.error.detail().cloned().unwrap_or_default();
    detail.fix.clone_from(&fix);
    let error = if f.status.map(|s| s.as_u16()) == Some(403) {
        Error::new(ErrorCode::NeedsConsent, message.clone()).with_detail(detail)
    } else {
        Error::new(f.error.code(), message.clone()).with_detail(detail)
    };
    let step = Step::failed(name, StepProtocol::Graph, message)
        .with_fix(fix)
        .with_code(code.or_else(|| f.status.map(|s| format!("HTTP {}", s.as_u16()))))
        .timed(started);
    (step, error)
}

/// The first failed mail step becomes the verification's error (for callers that show one).
fn note_failure(step: &Step, first_error: &mut Option<Error>) {
    if step.outcome != Outcome::Failed || first_error.is_some() {
        return;
    }
    let code = match step.code.as_deref() {
        Some(c) if c.contains("5.7.139") => ErrorCode::NeedsConsent,
        Some(_) if step.name.ends_with("_login") => ErrorCode::NeedsSignIn,
        _ => ErrorCode::Network,
    };
    let mut e = Error::new(code, step.message.clone());
    if let Some(fix) = &step.fix {
        e = e.with_fix(fix.clone());
    }
    *first_error = Some(e);
}
