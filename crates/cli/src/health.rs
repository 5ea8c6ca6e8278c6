//! `mailconn status`, `refresh`, `history`: how connections stand, keeping them alive by hand,
//! and what happened to them. The same engine and the same stored states as the desktop app.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Local, Utc};
use mailconn_core::clock::SystemClock;
use mailconn_core::connection::{Connection, TokenState};
use mailconn_core::engine::{Config, Engine, RefreshReport};
use mailconn_core::keychain::Keychain;
use mailconn_core::paths::DataDir;
use mailconn_core::store::Store;
use mailconn_core::store::enum_text;
use mailconn_core::store::events::Event;
use mailconn_core::{Error, ErrorBody, Result};

use crate::exit::Exit;
use crate::output::Output;

fn engine(dir: &DataDir, store: Arc<Store>, secrets: Arc<dyn Keychain>) -> Arc<Engine> {
    Arc::new(Engine::new(
        store,
        secrets,
        mailconn_core::http::client(),
        Arc::new(SystemClock),
        dir.locks(),
        Config::from_env(),
    ))
}

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

pub fn status(id: Option<&str>, store: &Store, out: Output) -> Result<Exit> {
    let list = match id {
        Some(id) => vec![store.get_connection(id)?],
        None => store.list_connections()?,
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

pub fn refresh(
    id: Option<&str>,
    all: bool,
    dir: &DataDir,
    store: Arc<Store>,
    secrets: Arc<dyn Keychain>,
    out: Output,
) -> Result<Exit> {
    let engine = engine(dir, store, secrets);
    let rt = crate::connect::runtime()?;
    let reports: Vec<RefreshReport> = rt.block_on(async {
        match (id, all) {
            (Some(id), false) => Ok(vec![engine.refresh(id).await?]),
            (None, true) => engine.refresh_all().await,
            _ => Err(Error::invalid(
                "connection",
                "Name one connection (id or address), or use --all.",
            )),
        }
    })?;
    if out.json() {
        Output::print_json(&reports);
    } else if reports.is_empty() {
        println!("Nothing to refresh.");
    } else {
        for r in &reports {
            let c = &r.connection;
            match &r.error {
                None if !r.requested => {
                    println!("{}: refreshed a moment ago by another process", c.address);
                }
                None if r.rotated => println!("{}: refreshed, new refresh token stored", c.address),
                None => println!("{}: refreshed", c.address),
                Some(e) => {
                    println!("{}: {} - {}", c.address, state_line(c), e.message);
                    if let Some(fix) = e.detail.as_ref().and_then(|d| d.fix.as_ref()) {
                        println!("  fix: {fix}");
                    }
                }
            }
        }
    }
    let first_error: Option<&ErrorBody> = reports.iter().find_map(|r| r.error.as_ref());
    Ok(first_error.map_or(Exit::Ok, |e| Exit::from_code(e.code)))
}

pub fn verify(
    id: &str,
    dir: &DataDir,
    store: Arc<Store>,
    secrets: Arc<dyn Keychain>,
    out: Output,
) -> Result<Exit> {
    let engine = engine(dir, store, secrets);
    let report = crate::connect::runtime()?.block_on(engine.verify(id))?;
    if out.json() {
        Output::print_json(&report);
    } else {
        match &report.error {
            None => println!(
                "{}: verified through Microsoft Graph",
                report.connection.address
            ),
            Some(e) => {
                println!(
                    "{}: not verified - {}",
                    report.connection.address, e.message
                );
                if let Some(fix) = e.detail.as_ref().and_then(|d| d.fix.as_ref()) {
                    println!("  fix: {fix}");
                }
            }
        }
    }
    Ok(report
        .error
        .as_ref()
        .map_or(Exit::Ok, |e| Exit::from_code(e.code)))
}

pub fn history(id: &str, limit: u32, store: &Store, out: Output) -> Result<Exit> {
    let conn = store.get_connection(id)?;
    let events: Vec<Event> = store.events(&conn.id, limit)?;
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
