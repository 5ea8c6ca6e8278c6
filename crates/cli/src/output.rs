//! Printing results as text for people or JSON for programs (`--json`).

use std::path::Path;

use mailconn_core::Error;
use mailconn_core::doctor::{CheckStatus, DoctorReport};
use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    fn print_json(value: &impl Serialize) {
        println!("{}", serde_json::to_string_pretty(value).expect("serializable output"));
    }

    /// Errors go to stderr as text, or to stdout as `{"error": {code, message, detail}}` with --json.
    pub fn error(&self, e: &Error) {
        if self.json {
            Self::print_json(&serde_json::json!({ "error": e.body() }));
            return;
        }
        eprintln!("error: {}", e.message());
        if let Some(d) = e.detail() {
            if let Some(code) = d.aadsts {
                eprintln!("  AADSTS{code}");
            }
            for (name, value) in [("trace ID", &d.trace_id), ("correlation ID", &d.correlation_id)] {
                if let Some(v) = value {
                    eprintln!("  {name}: {v}");
                }
            }
            if let Some(fix) = &d.fix {
                eprintln!("  fix: {fix}");
            }
        }
    }

    pub fn doctor(&self, report: &DoctorReport) {
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

    pub fn paths(&self, data_dir: &Path) {
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
