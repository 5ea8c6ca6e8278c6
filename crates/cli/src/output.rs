//! Printing results as text for people or JSON for programs (`--json`).

use std::path::Path;

use mailconn_core::Error;
use mailconn_core::connection::Connection;
use mailconn_core::doctor::{CheckStatus, DoctorReport};
use mailconn_core::registration::Registration;
use mailconn_core::registration::probe::{ProbeReport, StepStatus};
use mailconn_core::store::enum_text;
use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn json(self) -> bool {
        self.json
    }

    pub fn print_json(value: &impl Serialize) {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("serializable output")
        );
    }

    /// Errors go to stderr as text, or to stdout as `{"error": {code, message, detail}}` with --json.
    pub fn error(self, e: &Error) {
        if self.json {
            Self::print_json(&serde_json::json!({ "error": e.body() }));
            return;
        }
        eprintln!("error: {}", e.message());
        if let Some(d) = e.detail() {
            if let Some(code) = d.aadsts {
                eprintln!("  AADSTS{code} (what it means: mailconn explain AADSTS{code})");
            }
            for (name, value) in [
                ("trace ID", &d.trace_id),
                ("correlation ID", &d.correlation_id),
            ] {
                if let Some(v) = value {
                    eprintln!("  {name}: {v}");
                }
            }
            if let Some(fix) = &d.fix {
                eprintln!("  fix: {fix}");
            }
        }
    }

    pub fn doctor(self, report: &DoctorReport) {
        if self.json {
            Self::print_json(report);
            return;
        }
        println!("data directory: {}", report.data_dir);
        for c in &report.checks {
            let mark = match c.status {
                CheckStatus::Ok => "ok  ",
                CheckStatus::Warning => "warn",
                CheckStatus::Failed => "FAIL",
            };
            println!("[{mark}] {}: {}", c.label, c.summary);
            if let Some(fix) = &c.fix {
                println!("       fix: {fix}");
            }
        }
        if report.healthy() {
            println!("Everything looks fine.");
        }
    }

    pub fn paths(self, data_dir: &Path) {
        if self.json {
            Self::print_json(&serde_json::json!({
                "data_dir": data_dir,
                "database": data_dir.join(mailconn_core::paths::DATABASE_FILE),
                "logs": data_dir.join("logs"),
            }));
        } else {
            println!("{}", data_dir.display());
        }
    }
}

impl Output {
    pub fn warning(text: &str) {
        eprintln!("warning: {text}");
    }

    /// Prints text as it is (scripts, manifests); with --json, as {"text": ...}.
    pub fn text(self, text: &str) {
        if self.json {
            Self::print_json(&serde_json::json!({ "text": text }));
        } else {
            println!("{}", text.trim_end());
        }
    }

    pub fn url(self, key: &str, url: &str) {
        if self.json {
            Self::print_json(&serde_json::json!({ key: url }));
        } else {
            println!("{url}");
        }
    }

    pub fn removed(self, name: &str) {
        if self.json {
            Self::print_json(&serde_json::json!({ "removed": name }));
        } else {
            println!("Removed \"{name}\".");
        }
    }

    pub fn registrations(self, regs: &[Registration]) {
        if self.json {
            Self::print_json(&regs);
            return;
        }
        if regs.is_empty() {
            println!(
                "No app registrations yet. Add one with `mailconn app add` or in the app's wizard."
            );
            return;
        }
        println!(
            "{:<24} {:<38} {:<13} {:<14} SECRET EXPIRES",
            "NAME", "CLIENT ID", "KIND", "TENANT"
        );
        for r in regs {
            println!(
                "{:<24} {:<38} {:<13} {:<14} {}",
                r.name,
                r.client_id,
                enum_text(r.kind),
                r.tenant,
                r.secret_expires
                    .map_or_else(|| "-".to_owned(), |d| d.to_string())
            );
        }
    }

    pub fn registration(self, r: &Registration) {
        if self.json {
            Self::print_json(r);
            return;
        }
        println!("{} ({})", r.name, r.id);
        println!("  client ID:     {}", r.client_id);
        println!("  kind:          {}", enum_text(r.kind));
        println!("  tenant:        {}", r.tenant);
        println!("  cloud:         {}", r.cloud.as_str());
        if let (Some(a), Some(g)) = (&r.authority_url, &r.graph_url) {
            println!("  authority:     {a}");
            println!("  graph:         {g}");
        }
        for (label, server) in [
            ("IMAP server:  ", &r.imap_server),
            ("POP server:   ", &r.pop_server),
            ("SMTP server:  ", &r.smtp_server),
        ] {
            if let Some(s) = server {
                println!("  {label} {s}");
            }
        }
        println!("  usage:         {}", enum_text(r.usage));
        println!("  account types: {}", r.audience.portal_label());
        println!("  preset:        {}", r.preset.as_str());
        println!("  redirect URI:  {}", r.redirect_uri);
        if r.has_secret {
            println!(
                "  secret:        {}... in the keychain, expires {}",
                r.secret_hint.as_deref().unwrap_or(""),
                r.secret_expires
                    .map_or_else(|| "(unknown)".to_owned(), |d| d.to_string())
            );
        }
        if let Some(t) = &r.last_test {
            println!(
                "  last test:     {} at {}: {}",
                if t.ok { "passed" } else { "FAILED" },
                t.at.format("%Y-%m-%d %H:%M"),
                t.summary
            );
        }
        println!("  connections:   {}", r.connections);
    }

    pub fn test_report(self, report: &ProbeReport) {
        if self.json {
            Self::print_json(report);
            return;
        }
        for step in &report.steps {
            let mark = match step.status {
                StepStatus::Passed => "ok  ",
                StepStatus::Failed => "FAIL",
                StepStatus::Skipped => "skip",
            };
            println!("[{mark}] {}: {}", step.name, step.message);
            if let Some(d) = step.error.as_ref().and_then(|e| e.detail.as_ref()) {
                if let Some(fix) = &d.fix {
                    println!("       fix: {fix}");
                }
                if let Some(t) = &d.trace_id {
                    println!("       trace ID: {t}");
                }
                if let Some(c) = &d.correlation_id {
                    println!("       correlation ID: {c}");
                }
            }
        }
        println!("{}", report.summary);
    }
}

impl Output {
    /// The authorization link, on a line of its own that scripts and tests can find.
    pub fn open_line(url: &str) {
        println!("open: {url}");
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }

    pub fn device_code(self, code: &mailconn_core::flow::device_code::DeviceCode) {
        if self.json {
            println!("{}", serde_json::to_string(code).expect("serializable"));
        } else {
            println!("code: {}", code.user_code);
            println!("verify: {}", code.verification_uri);
        }
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }

    pub fn connection(self, c: &Connection, created: Option<bool>) {
        if self.json {
            let mut v = serde_json::to_value(c).expect("serializable");
            if let Some(created) = created {
                v["created"] = serde_json::json!(created);
            }
            Self::print_json(&v);
            return;
        }
        match created {
            Some(true) => println!("Connected {} ({}).", c.address, c.id),
            Some(false) => println!(
                "Signed in again as {}; the existing connection {} was updated.",
                c.address, c.id
            ),
            None => println!("{} ({})", c.address, c.id),
        }
        println!("  app:      {}", c.registration_name);
        println!("  account:  {}", enum_text(c.account_type));
        println!("  state:    {}", c.state.kind().as_str());
        println!("  granted:  {}", c.scopes_granted.join(" "));
        if !c.scopes_missing.is_empty() {
            println!("  MISSING:  {}", c.scopes_missing.join(" "));
        }
        if let Some(reason) = c.state.reason() {
            println!("  note:     {reason}");
        }
    }

    pub fn connections(self, list: &[Connection]) {
        if self.json {
            Self::print_json(&list);
            return;
        }
        if list.is_empty() {
            println!("No connections yet. Connect one with `mailconn connect --app NAME`.");
            return;
        }
        println!(
            "{:<36} {:<32} {:<10} {:<12} APP",
            "ID", "ADDRESS", "KIND", "STATE"
        );
        for c in list {
            println!(
                "{:<36} {:<32} {:<10} {:<12} {}",
                c.id,
                c.address,
                enum_text(c.kind),
                c.state.kind().as_str(),
                c.registration_name
            );
        }
    }
}
