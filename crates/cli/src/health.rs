//! `mailconn status`, `refresh`, `history`: how connections stand, keeping them alive by hand,
//! and what happened to them. The same engine and the same stored states as the desktop app.

use std::fmt::Write as _;

use chrono::{DateTime, Local, Utc};
use mailconn_core::connection::{Connection, TokenState};
use mailconn_core::engine::RefreshReport;
use mailconn_core::store::enum_text;
use mailconn_core::store::events::Event;
use mailconn_core::verification::{Outcome, Verification, VerifyOptions};
use mailconn_core::{Error, ErrorBody, Result, Service};

use crate::exit::Exit;
use crate::output::Output;

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// "active", "retrying (attempt 2) at 14:05", "needs sign-in".
pub fn state_line(c: &Connection) -> String {
    let words = c.state.kind().as_str().replace('_', " ");
    match &c.state {
        TokenState::Retrying { attempt, .. } => format!(
            "offline, retrying (attempt {}) at {}",
            attempt,
            c.next_refresh_at.map_or_else(
                || "-".to_owned(),
                |t| t.with_timezone(&Local).format("%H:%M:%S").to_string()
            )
        ),
        _ => words,
    }
}

pub async fn status(id: Option<&str>, service: &Service, out: Output) -> Result<Exit> {
    let list = match id {
        Some(id) => vec![service.connection(id).await?],
        None => service.connections().await?,
    };
    let attention = list.iter().any(Connection::needs_attention);
    if out.json() {
        if id.is_some() {
            Output::print_json(&list[0]);
        } else {
            Output::print_json(&list);
        }
    } else if list.is_empty() {
        println!("No connections yet. Connect one with `mailconn connect --app NAME`.");
    } else {
        let now = Utc::now();
        for c in &list {
            println!(
                "{}  ({}, {})",
                c.address,
                c.registration_name,
                enum_text(c.kind)
            );
            println!("  state:          {}", state_line(c));
            if let Some(alias) = &c.alias {
                println!("  alias:          {alias}");
            }
            println!(
                "  programs:       {}",
                if c.programs_allowed {
                    "may fetch tokens (`mailconn token`)"
                } else {
                    "may not fetch tokens"
                }
            );
            if let Some(reason) = c.state.reason() {
                println!("  reason:         {reason}");
            }
            println!("  last refresh:   {}", when(c.last_refresh_at));
            println!("  next refresh:   {}", when(c.next_refresh_at));
            println!("  access token:   expires {}", when(c.access_expires_at));
            if let Some(deadline) = c.inactivity_deadline {
                println!(
                    "  inactivity:     {} days left (refresh token unused until {})",
                    (deadline - now).num_days().max(0),
                    when(Some(deadline))
                );
            }
            println!("  granted:        {}", c.scopes_granted.join(" "));
            if !c.scopes_missing.is_empty() {
                println!("  missing:        {}", c.scopes_missing.join(" "));
            }
        }
    }
    Ok(if attention { Exit::Attention } else { Exit::Ok })
}

pub async fn refresh(id: Option<&str>, all: bool, service: &Service, out: Output) -> Result<Exit> {
    let reports: Vec<RefreshReport> = match (id, all) {
        (Some(id), false) => vec![service.refresh(id).await?],
        (None, true) => service.refresh_all().await?,
        _ => {
            return Err(Error::invalid(
                "connection",
                "Name one connection (id or address), or use --all.",
            ));
        }
    };
    if out.json() {
        Output::print_json(&reports);
    } else if reports.is_empty() {
        println!("Nothing to refresh.");
    } else {
        // One write for all of them (a thousand lines are one buffer, not a thousand writes).
        let mut text = String::with_capacity(reports.len() * 64);
        for r in &reports {
            let c = &r.connection;
            let _ = match &r.error {
                None if !r.requested => writeln!(
                    text,
                    "{}: refreshed a moment ago by another process",
                    c.address
                ),
                None if r.rotated => {
                    writeln!(text, "{}: refreshed, new refresh token stored", c.address)
                }
                None => writeln!(text, "{}: refreshed", c.address),
                Some(e) => {
                    let _ = writeln!(text, "{}: {} - {}", c.address, state_line(c), e.message);
                    match e.detail.as_ref().and_then(|d| d.fix.as_ref()) {
                        Some(fix) => writeln!(text, "  fix: {fix}"),
                        None => Ok(()),
                    }
                }
            };
        }
        print!("{text}");
    }
    let first_error: Option<&ErrorBody> = reports.iter().find_map(|r| r.error.as_ref());
    Ok(first_error.map_or(Exit::Ok, |e| Exit::from_code(e.code)))
}

pub async fn verify(
    id: Option<&str>,
    all: bool,
    send_test: bool,
    service: &Service,
    out: Output,
) -> Result<Exit> {
    let options = VerifyOptions { send_test };
    let reports = match (id, all) {
        (Some(id), false) => vec![service.verify(id, options).await?],
        (None, true) => service.verify_all(options).await?,
        _ => {
            return Err(Error::invalid(
                "connection",
                "Name one connection (id or address), or use --all.",
            ));
        }
    };
    if out.json() {
        if all {
            Output::print_json(&reports);
        } else {
            Output::print_json(&reports[0]);
        }
    } else if reports.is_empty() {
        println!("Nothing to verify.");
    } else {
        for report in &reports {
            print_verification(report);
        }
    }
    let failed = reports.iter().find(|r| !r.passed());
    Ok(match failed {
        None => Exit::Ok,
        Some(r) => r
            .error
            .as_ref()
            .map_or(Exit::Attention, |e| Exit::from_code(e.code)),
    })
}

fn print_verification(report: &Verification) {
    let address = &report.connection.address;
    for step in &report.steps {
        let mark = match step.outcome {
            Outcome::Passed => "ok  ",
            Outcome::Failed => "FAIL",
            Outcome::Skipped => "skip",
        };
        let mut line = format!("  {mark} {:<22} {}", step.name, step.message);
        if let Some(code) = &step.code {
            let _ = write!(line, "  [{code}]");
        }
        if step.outcome != Outcome::Skipped {
            let _ = write!(line, "  ({} ms)", step.duration_ms);
        }
        println!("{line}");
        if let Some(fix) = step
            .fix
            .as_ref()
            .filter(|_| step.outcome == Outcome::Failed)
        {
            println!("       fix: {fix}");
        }
    }
    let graph = report
        .steps
        .iter()
        .any(|s| s.name == "graph_profile" && s.outcome == Outcome::Passed);
    let mail: Vec<&str> = report
        .steps
        .iter()
        .filter(|s| s.outcome == Outcome::Passed && s.name.ends_with("_login"))
        .map(|s| s.name.trim_end_matches("_login"))
        .collect();
    match (&report.error, report.passed()) {
        (None, true) => {
            let mut through = Vec::new();
            if graph {
                through.push("Microsoft Graph".to_owned());
            }
            through.extend(mail.iter().map(|m| m.to_ascii_uppercase()));
            if through.is_empty() {
                println!("{address}: verified");
            } else {
                println!("{address}: verified through {}", through.join(", "));
            }
        }
        (Some(e), _) => {
            println!("{address}: not verified - {}", e.message);
            if let Some(fix) = e.detail.as_ref().and_then(|d| d.fix.as_ref()) {
                println!("  fix: {fix}");
            }
        }
        (None, false) => println!("{address}: not verified"),
    }
}

pub async fn history(id: &str, limit: u32, service: &Service, out: Output) -> Result<Exit> {
    let conn = service.connection(id).await?;
    let events: Vec<Event> = service.history(&conn.id, limit).await?;
    if out.json() {
        Output::print_json(&events);
        return Ok(Exit::Ok);
    }
    println!("{} ({})", conn.address, state_line(&conn));
    for e in &events {
        let mut line = format!("{}  {:<16} {}", when(Some(e.at)), e.kind, e.summary);
        if let Some(code) = e.aadsts {
            let _ = write!(line, "  [AADSTS{code}]");
        }
        if let Some(trace) = &e.trace_id {
            let _ = write!(line, "  trace {trace}");
        }
        if let Some(corr) = &e.correlation_id {
            let _ = write!(line, "  correlation {corr}");
        }
        println!("{line}");
    }
    Ok(Exit::Ok)
}

/// `mailconn about`: what the app's About screen shows, without the desktop's own parts.
pub fn about(about: &mailconn_core::service::system::About, out: Output) {
    if out.json() {
        Output::print_json(about);
        return;
    }
    println!("{} {}", about.name, about.version);
    println!("Licence:   {}", about.licence);
    println!("Platform:  {}", about.platform);
    println!("Data:      {}", about.data_dir);
    println!("Database:  {}", about.database);
    println!("Logs:      {}", about.logs_dir);
    for link in &about.links {
        println!("{}: {}", link.label, link.url);
    }
}
