//! `mailconn mailbox add|remove|check`: organisation and shared mailboxes through application
//! access (the app's own token; nobody signs in).

use std::io::Read as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use mailconn_core::application::addresses::{ListEntry, parse_list, parse_list_checked};
use mailconn_core::application::mailbox::{
    AccessReport, BulkProgress, BulkReport, MailboxRow, RowStatus,
};
use mailconn_core::application::permissions::{MailboxUse, PermissionCheck};
use mailconn_core::{Error, Result, Service};

use crate::connect::until_ctrl_c;
use crate::exit::Exit;
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum MailboxCommand {
    /// Add organisation or shared mailboxes by address; the app looks each one up in Microsoft
    /// Graph with its own token (exit code 1 when some need attention)
    Add(AddArgs),
    /// Remove an organisation mailbox (application access)
    Remove {
        /// Connection id or address
        connection: String,
    },
    /// Get the app's token and show which application permissions it holds against what the use
    /// needs; with consent missing, prints the admin consent link
    Check {
        /// The app registration (name or id)
        #[arg(long)]
        app: String,
        /// What the app does with the mailboxes: read, send or full
        #[arg(long = "use", value_parser = parse_use, default_value = "full")]
        mailbox_use: MailboxUse,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The app registration (name or id); it must be set up for application access
    #[arg(long)]
    app: String,
    /// Email addresses of user or shared mailboxes
    #[arg(value_name = "ADDRESS", required_unless_present = "from_file")]
    addresses: Vec<String>,
    /// Read addresses from a file: one a line, or CSV with an address column ("-": standard input)
    #[arg(long, value_name = "F")]
    from_file: Option<PathBuf>,
    /// What the app does with the mailboxes: read, send or full
    #[arg(long = "use", value_parser = parse_use, default_value = "full")]
    mailbox_use: MailboxUse,
}

fn parse_use(s: &str) -> Result<MailboxUse, String> {
    MailboxUse::parse(s).ok_or_else(|| format!("unknown use '{s}' (read, send, full)"))
}

pub async fn run(cmd: &MailboxCommand, service: &Service, out: Output) -> Result<Exit> {
    let json = out.json();
    match cmd {
        MailboxCommand::Add(args) => {
            let entries = entries(args)?;
            if !json {
                eprintln!(
                    "Looking up {} address{} with the app's token...",
                    entries.len(),
                    if entries.len() == 1 { "" } else { "es" }
                );
            }
            let run = uuid::Uuid::new_v4().to_string();
            let added = service.add_mailboxes(&args.app, &entries, args.mailbox_use, &run, |p| {
                if !json {
                    progress_line(&p);
                }
            });
            let report = match until_ctrl_c(added, || service.cancel_mailbox_add(&run)).await {
                Ok(report) => report,
                Err(e) => return Err(service.with_consent_link(e, &args.app).await),
            };
            print_report(&report, json);
            Ok(if report.cancelled {
                Exit::Cancelled
            } else if report.problems > 0 {
                Exit::Attention
            } else {
                Exit::Ok
            })
        }
        MailboxCommand::Remove { connection } => {
            let c = service.remove_mailbox(connection).await?;
            out.removed(&c.address);
            Ok(Exit::Ok)
        }
        MailboxCommand::Check { app, mailbox_use } => {
            let report = match service.app_access(app, *mailbox_use, true).await {
                Ok(report) => report,
                Err(e) => return Err(service.with_consent_link(e, app).await),
            };
            print_access(&report, json);
            Ok(if report.permissions.ok {
                Exit::Ok
            } else {
                Exit::Attention
            })
        }
    }
}

/// Addresses from the command line (numbered by position) and the file (numbered by line).
fn entries(args: &AddArgs) -> Result<Vec<ListEntry>> {
    let mut entries = Vec::new();
    for (i, a) in args.addresses.iter().enumerate() {
        let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let mut found = parse_list(a);
        if found.is_empty() {
            found.push(ListEntry {
                line: position,
                input: a.clone(),
            });
        }
        entries.extend(found.into_iter().map(|e| ListEntry {
            line: position,
            ..e
        }));
    }
    if let Some(path) = &args.from_file {
        let text = if path.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| {
                Error::invalid(
                    "from_file",
                    format!("Standard input could not be read: {e}"),
                )
            })?;
            s
        } else {
            std::fs::read_to_string(path).map_err(|e| {
                Error::invalid(
                    "from_file",
                    format!("{} could not be read: {e}", path.display()),
                )
                .with_fix("Give a text or CSV file (UTF-8) with one address a line.")
            })?
        };
        entries.extend(parse_list_checked(&text)?);
    }
    Ok(entries)
}

fn status_word(s: RowStatus) -> &'static str {
    match s {
        RowStatus::Connected => "connected",
        RowStatus::AlreadyAdded => "already added",
        RowStatus::NoAccess => "NO ACCESS",
        RowStatus::Invalid => "INVALID",
        RowStatus::Duplicate => "duplicate",
        RowStatus::Failed => "FAILED",
        RowStatus::Cancelled => "cancelled",
    }
}

fn who(row: &MailboxRow) -> String {
    let address = row.address.as_deref().unwrap_or(&row.input);
    match &row.display_name {
        Some(name) => format!("{address} ({name})"),
        None => address.to_owned(),
    }
}

fn progress_line(p: &BulkProgress) {
    let width = p.total.to_string().len();
    eprintln!(
        "[{:>width$}/{}] {:<13} {}",
        p.done,
        p.total,
        status_word(p.row.status),
        who(&p.row)
    );
}

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("serializable output")
    );
}

fn print_report(report: &BulkReport, json: bool) {
    if json {
        print_json(report);
        return;
    }
    print_permissions(&report.permissions);
    let problems: Vec<&MailboxRow> = report
        .rows
        .iter()
        .filter(|r| r.status.is_problem() || r.status == RowStatus::Duplicate)
        .collect();
    if !problems.is_empty() {
        println!();
        println!("Needs attention:");
        for row in problems {
            println!(
                "  line {:<4} {:<13} {}",
                row.line,
                status_word(row.status),
                who(row)
            );
            if let Some(p) = &row.problem {
                println!("            {}", p.message);
                if let Some(d) = &p.detail {
                    if let Some(fix) = &d.fix {
                        println!("            fix: {fix}");
                    }
                    if let Some(id) = &d.request_id {
                        println!("            request-id: {id}");
                    }
                }
            }
        }
    }
    println!();
    println!("{}", report.summary);
}

fn print_permissions(check: &PermissionCheck) {
    for p in &check.permissions {
        let mark = match (p.needed, p.granted) {
            // The token does not show its roles: neither held nor missing is known.
            (true, _) if !check.roles_known => "?   ",
            (true, true) => "ok  ",
            (true, false) => "MISS",
            (false, true) => "held",
            (false, false) => "    ",
        };
        let through = p
            .covered_by
            .as_ref()
            .map(|b| format!(" (through {b})"))
            .unwrap_or_default();
        println!("[{mark}] {:<15} {}{through}", p.name, p.purpose);
    }
    println!("{}", check.summary);
}

fn print_access(report: &AccessReport, json: bool) {
    if json {
        print_json(report);
        return;
    }
    println!(
        "\"{}\": the app got a token{}, valid until {}.",
        report.registration_name,
        report
            .tenant_id
            .as_ref()
            .map(|t| format!(" from tenant {t}"))
            .unwrap_or_default(),
        report.token_expires_at.format("%Y-%m-%d %H:%M UTC")
    );
    println!(
        "Permissions for {}:",
        report.permissions.mailbox_use.label()
    );
    print_permissions(&report.permissions);
}
