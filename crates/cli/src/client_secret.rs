//! `mailconn app rotate-secret | secrets | secret-expires` and `mailconn reminders`: client
//! secrets' end dates, reminders, and verified rotation.

use std::io::Read;

use chrono::NaiveDate;
use clap::Subcommand;
use mailconn_core::client_secret::credentials::AppSecrets;
use mailconn_core::client_secret::reminders::{Reminder, Thresholds};
use mailconn_core::client_secret::rotation::{RotationInput, RotationReport};
use mailconn_core::{Error, Result, Sensitive, Service};

use crate::exit::Exit;
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Replace the client secret: verify the new one, swap it into the keychain, re-verify every
    /// connection (the secret's Value is read from standard input)
    RotateSecret {
        app: String,
        /// Read the new secret's Value from standard input
        #[arg(long, required_unless_present = "via_graph")]
        secret_stdin: bool,
        /// When the new secret expires (YYYY-MM-DD)
        #[arg(long, value_name = "YYYY-MM-DD", required_unless_present = "via_graph")]
        expires: Option<NaiveDate>,
        #[arg(long)]
        label: Option<String>,
        /// Create the new secret through Graph (addPassword) and remove the old one afterwards;
        /// needs Application.ReadWrite.OwnedBy
        #[arg(long, conflicts_with = "secret_stdin")]
        via_graph: bool,
    },
    /// The app's client secrets and their end dates (from Graph when the app may read them)
    Secrets {
        app: String,
        /// Only what is stored here; do not ask Graph
        #[arg(long)]
        offline: bool,
    },
    /// Correct the stored secret's end date
    SecretExpires {
        app: String,
        #[arg(value_name = "YYYY-MM-DD")]
        date: NaiveDate,
    },
}

/// A secret's Value from standard input (never from the command line).
pub(crate) fn read_secret() -> Result<Sensitive<String>> {
    let mut buf = String::new();
    std::io::stdin().read_to_string(&mut buf).map_err(|e| {
        Error::invalid(
            "secret",
            format!("Could not read the secret from standard input: {e}"),
        )
    })?;
    Ok(Sensitive::from(buf))
}

pub async fn run(cmd: &SecretCommand, service: &Service, out: Output) -> Result<Exit> {
    match cmd {
        SecretCommand::RotateSecret {
            app,
            expires,
            label,
            via_graph,
            ..
        } => {
            let report = if *via_graph {
                service.rotate_secret_via_graph(app, *expires).await?
            } else {
                let input = RotationInput {
                    secret: read_secret()?,
                    expires: expires.ok_or_else(|| {
                        Error::invalid(
                            "expires",
                            "Give the new secret's end date: --expires YYYY-MM-DD.",
                        )
                    })?,
                    label: label.clone(),
                };
                service.rotate_secret(app, &input).await?
            };
            let portal = if report.old_removed || report.old_hint.is_none() {
                String::new()
            } else {
                service
                    .secret_portal_url(&report.registration.id)
                    .await
                    .unwrap_or_default()
            };
            print_rotation(&report, &portal, out);
            Ok(if report.ok { Exit::Ok } else { Exit::Attention })
        }
        SecretCommand::Secrets { app, offline } => {
            print_secrets(&service.app_secrets(app, *offline).await?, out);
            Ok(Exit::Ok)
        }
        SecretCommand::SecretExpires { app, date } => {
            out.registration(&service.set_secret_expiry(app, *date).await?);
            Ok(Exit::Ok)
        }
    }
}

/// `mailconn reminders`: everything due, soonest first; exit code 1 when a secret expires within
/// seven days, has expired, or is refused.
pub async fn reminders(days: Option<&str>, service: &Service, out: Output) -> Result<Exit> {
    let thresholds = match days {
        Some(d) => Some(Thresholds::parse(d).ok_or_else(|| {
            Error::invalid("days", "Give the thresholds as days, e.g. 30,14,7,1.")
        })?),
        None => None,
    };
    let list: Vec<Reminder> = service.reminders(thresholds).await?;
    if out.json() {
        Output::print_json(&list);
    } else if list.is_empty() {
        println!("No client secret needs attention.");
    } else {
        for r in &list {
            println!("{}", r.title());
            let mut facts = Vec::new();
            if let Some(h) = &r.secret_hint {
                facts.push(format!("secret starts \"{h}\""));
            }
            if let Some(d) = r.expires {
                facts.push(format!("ends {d}"));
            }
            facts.push(format!("{} connection(s)", r.connections));
            if r.connections_broken > 0 {
                facts.push(format!("{} failing", r.connections_broken));
            }
            println!("  {}", facts.join(", "));
            println!(
                "  rotate: mailconn app rotate-secret \"{}\" --secret-stdin --expires YYYY-MM-DD",
                r.registration_name
            );
        }
    }
    Ok(if list.iter().any(Reminder::urgent) {
        Exit::Attention
    } else {
        Exit::Ok
    })
}

/// `portal`: the app's secrets page, where the old secret is deleted by hand.
fn print_rotation(r: &RotationReport, portal: &str, out: Output) {
    if out.json() {
        Output::print_json(r);
        return;
    }
    let how = match r.verified_by {
        mailconn_core::client_secret::rotation::VerifiedBy::ClientCredentials => {
            "Microsoft issued an app-only token with it"
        }
        mailconn_core::client_secret::rotation::VerifiedBy::Refresh => {
            "a connection refreshed with it"
        }
    };
    println!("New secret verified ({how}) and stored in the keychain.");
    let reg = &r.registration;
    println!(
        "\"{}\": secret starts \"{}\", ends {}",
        reg.name,
        reg.secret_hint.as_deref().unwrap_or("?"),
        reg.secret_expires
            .map_or_else(|| "(no date)".to_owned(), |d| d.to_string())
    );
    if r.connections.is_empty() {
        println!("No connections use this app.");
    }
    for c in &r.connections {
        println!(
            "{}: {} - {}",
            c.address,
            c.state.as_str().replace('_', " "),
            c.message
        );
    }
    if r.old_removed {
        println!(
            "The old secret (starts \"{}\") was removed through Graph.",
            r.old_hint.as_deref().unwrap_or("?")
        );
    } else if let Some(hint) = &r.old_hint {
        println!("Now delete the old secret (starts \"{hint}\") in the portal: {portal}");
        if let Some(old) = &r.old_credential {
            println!(
                "  Graph still lists it: \"{}\", ends {}",
                old.display_name.as_deref().unwrap_or(""),
                old.end
                    .map_or_else(String::new, |e| e.date_naive().to_string())
            );
        }
    }
    if let Some(e) = &r.graph_error {
        println!("  (Graph: {})", e.message);
    }
}

fn print_secrets(a: &AppSecrets, out: Output) {
    if out.json() {
        Output::print_json(a);
        return;
    }
    println!(
        "\"{}\": stored secret starts \"{}\"{}, ends {}",
        a.registration_name,
        a.secret_hint.as_deref().unwrap_or("?"),
        a.secret_label
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default(),
        a.secret_expires
            .map_or_else(|| "(no date)".to_owned(), |d| d.to_string())
    );
    if a.expires_updated {
        println!("  end date taken from Graph");
    }
    if a.graph_read {
        println!("Secrets of the app in Microsoft Entra:");
        for c in &a.credentials {
            println!(
                "  {} {:<24} starts \"{}\"  ends {}",
                if c.stored { "*" } else { " " },
                c.display_name.as_deref().unwrap_or(""),
                c.hint.as_deref().unwrap_or("?"),
                c.end
                    .map_or_else(String::new, |e| e.date_naive().to_string())
            );
        }
        println!("  (* the one stored here)");
    } else if let Some(e) = &a.graph_error {
        println!("Graph could not list the app's secrets: {}", e.message);
        if let Some(fix) = e.detail.as_ref().and_then(|d| d.fix.as_ref()) {
            println!("  {fix}");
        }
    }
}
