//! `mailconn explain CODE`: what an AADSTS code means, its likely cause and its fix. Core finds
//! the code (in `AADSTS50076`, `50076`, or Microsoft's pasted error text or JSON) and knows the
//! catalogue; this prints it.

use std::io::{IsTerminal as _, Read as _};

use clap::Args;
use mailconn_core::Error;
use mailconn_core::aadsts::{Explanation, Found, explain};

use crate::exit::Exit;
use crate::output::Output;

pub const EXPLAIN_HELP: &str = "\
Examples:
  mailconn explain AADSTS50076
  mailconn explain 7000222
  mailconn explain -          (paste Microsoft's error message or JSON, then Ctrl-D)

Exit codes: 0 the code is explained; 7 the code is not in the catalogue (Microsoft's words and
where to look it up are shown); 2 no AADSTS code was found in the text.";

#[derive(Debug, Args)]
#[command(after_help = EXPLAIN_HELP)]
pub struct ExplainArgs {
    /// The code (AADSTS50076 or 50076) or Microsoft's whole error text or JSON; `-` or nothing
    /// reads it from standard input
    #[arg(value_name = "CODE_OR_TEXT", num_args = 0..)]
    pub text: Vec<String>,
}

pub fn run(args: &ExplainArgs, out: Output) -> Result<Exit, Error> {
    let text = if args.text.is_empty() || args.text == ["-"] {
        if std::io::stdin().is_terminal() {
            eprintln!("Paste Microsoft's error message or its JSON answer, then press Ctrl-D:");
        }
        let mut input = String::new();
        std::io::stdin()
            .take(1024 * 1024)
            .read_to_string(&mut input)
            .map_err(|e| Error::internal(format!("could not read standard input: {e}")))?;
        input
    } else {
        args.text.join(" ")
    };
    let explanation = explain(&text);
    if out.json() {
        Output::print_json(&explanation);
    } else {
        print(&explanation);
    }
    Ok(match explanation.found {
        Found::Known => Exit::Ok,
        Found::Unknown => Exit::NotFound,
        Found::NoCode => Exit::Usage,
    })
}

fn print(e: &Explanation) {
    let mut lines = Vec::new();
    let code = e.code.map(|c| format!("AADSTS{c}")).unwrap_or_default();
    match e.found {
        Found::Known => {
            lines.push(format!("{code}: {}", e.meaning.unwrap_or_default()));
            for (label, value) in [
                ("kind", e.class_label),
                ("likely cause", e.cause),
                ("fix", e.fix),
                ("what the app does", e.consequence),
                ("Microsoft's words", e.microsoft),
            ] {
                if let Some(v) = value {
                    lines.push(format!("  {label}: {v}"));
                }
            }
        }
        Found::Unknown => lines.push(format!(
            "{code} is not in Mail Connections' catalogue of Microsoft's codes."
        )),
        Found::NoCode => {}
    }
    for (label, value) in [
        ("Microsoft said", &e.description),
        ("error", &e.oauth_error),
        ("trace ID", &e.trace_id),
        ("correlation ID", &e.correlation_id),
        ("timestamp", &e.timestamp),
    ] {
        if let Some(v) = value {
            lines.push(format!("  {label}: {v}"));
        }
    }
    match e.found {
        Found::Known => {
            if let Some(url) = &e.lookup_url {
                lines.push(format!("  more: {url}"));
            }
        }
        Found::Unknown | Found::NoCode => {
            if let Some(search) = &e.search {
                lines.push(format!("  {search}"));
            }
            if let Some(text) = e.text.as_deref().filter(|t| !t.is_empty()) {
                lines.push("  text as given:".to_owned());
                lines.extend(text.lines().map(|l| format!("    {l}")));
            }
        }
    }
    let text = lines.join("\n");
    if e.found == Found::NoCode {
        // "error: No AADSTS code found. ..." on stderr, as other usage errors.
        eprintln!("error: {}", text.trim_start());
    } else {
        println!("{text}");
    }
}
