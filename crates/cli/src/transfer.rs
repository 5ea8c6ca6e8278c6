//! `mailconn app export-registrations`, `app import-registrations` and `app import-link`: app
//! registrations shared without their secrets, as a JSON file or a `mailconn://import` link.
//! An import shows everything it would save first and saves only after a yes (`--yes`, or the
//! answer to the question on a terminal).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use mailconn_core::registration::transfer::SharedFrom;
use mailconn_core::service::transfer::{ImportEntry, ImportPreview, ImportSource, ImportStatus};
use mailconn_core::store::enum_text;
use mailconn_core::{Result, Service};

use crate::exit::Exit;
use crate::output::Output;

pub async fn export(
    apps: &[String],
    file: Option<&Path>,
    replace: bool,
    service: &Service,
    out: Output,
) -> Result<Exit> {
    if let Some(path) = file {
        let written = service
            .write_registrations_export(path, apps, replace)
            .await?;
        if out.json() {
            Output::print_json(&written);
        } else {
            println!(
                "Wrote {} app registration{} (without secrets) to {}.",
                written.count,
                if written.count == 1 { "" } else { "s" },
                written.path
            );
        }
    } else {
        // The file's JSON as it is, --json or not: it is JSON already.
        print!("{}", service.export_registrations(apps).await?);
    }
    Ok(Exit::Ok)
}

pub async fn link(app: &str, service: &Service, out: Output) -> Result<Exit> {
    out.url("link", &service.import_link(app).await?);
    Ok(Exit::Ok)
}

/// A link or pasted JSON is text; anything else names a file.
fn source(given: &str) -> ImportSource {
    let t = given.trim_start();
    if t.len() >= 9 && t[..9].eq_ignore_ascii_case("mailconn:") || t.starts_with('{') {
        ImportSource::Text {
            text: given.to_owned(),
        }
    } else {
        ImportSource::File {
            path: PathBuf::from(given).display().to_string(),
        }
    }
}

fn status(e: &ImportEntry) -> &'static str {
    match e.status {
        ImportStatus::New => "new: will be added",
        ImportStatus::AlreadyHere => "already here: skipped",
        ImportStatus::NameTaken => "another app has this name: skipped (rename one of them)",
        ImportStatus::Invalid => "invalid: skipped",
    }
}

fn print_preview(given: &str, preview: &ImportPreview) {
    if preview.from == SharedFrom::Link {
        println!("Link: {}", given.trim());
    }
    for e in &preview.entries {
        let r = &e.registration;
        println!();
        println!("{}  [{}]", r.name, status(e));
        let optional = [
            ("authority", &r.authority_url),
            ("graph", &r.graph_url),
            ("imap server", &r.imap_server),
            ("pop server", &r.pop_server),
            ("smtp server", &r.smtp_server),
        ];
        for (label, value) in [
            ("client id", r.client_id.clone()),
            ("kind", enum_text(r.kind)),
            ("tenant", r.tenant.clone()),
            ("cloud", enum_text(r.cloud)),
            ("usage", enum_text(r.usage)),
            ("audience", enum_text(r.audience)),
            ("preset", enum_text(r.preset)),
            ("redirect uri", r.redirect_uri.clone()),
        ]
        .into_iter()
        .chain(
            optional
                .into_iter()
                .filter_map(|(l, v)| v.clone().map(|v| (l, v))),
        ) {
            println!("  {label:<13} {value}");
        }
        for i in &e.errors {
            println!("  error ({}): {}", i.field, i.message);
        }
        for i in &e.warnings {
            println!("  warning ({}): {}", i.field, i.message);
        }
        if e.needs_secret && e.status == ImportStatus::New {
            println!(
                "  note: a Web app: paste its client secret after importing \
                 (`mailconn app rotate-secret \"{}\" --secret-stdin`)",
                r.name
            );
        }
    }
    println!();
}

fn confirmed(count: usize) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    print!(
        "Add {count} app registration{}? [y/N] ",
        if count == 1 { "" } else { "s" }
    );
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok()
        && matches!(answer.trim(), "y" | "Y" | "yes")
}

pub async fn import(given: &str, yes: bool, service: &Service, out: Output) -> Result<Exit> {
    let preview = service.preview_import(source(given)).await?;
    let new = preview
        .entries
        .iter()
        .filter(|e| e.status == ImportStatus::New)
        .count();
    let invalid = preview
        .entries
        .iter()
        .any(|e| e.status == ImportStatus::Invalid);
    if !out.json() {
        print_preview(given, &preview);
    }
    if new == 0 {
        if out.json() {
            Output::print_json(&preview);
        } else {
            println!("Nothing to add.");
        }
        return Ok(if invalid { Exit::Attention } else { Exit::Ok });
    }
    if !yes && (out.json() || !confirmed(new)) {
        if out.json() {
            Output::print_json(&preview);
        } else {
            println!("Nothing was saved. Run again with --yes to add what is listed as new.");
        }
        return Ok(Exit::Cancelled);
    }
    let report = service.import_registrations(source(given)).await?;
    if out.json() {
        Output::print_json(&report);
    } else {
        for r in &report.added {
            println!("Added \"{}\" ({}).", r.name, r.id);
        }
        if !report.skipped.is_empty() {
            println!("Skipped {}.", report.skipped.len());
        }
    }
    Ok(if invalid { Exit::Attention } else { Exit::Ok })
}
