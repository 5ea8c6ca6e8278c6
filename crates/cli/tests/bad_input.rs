//! The command-line part of the bad-input catalogue (the rest is `crates/core/tests/bad_input.rs`):
//! the real `mailconn` binary with bad arguments. Each case must exit with the usage/input code
//! (2), say what is wrong (naming the argument, or the field in `--json`'s `detail.field`), and
//! store nothing. The keychain is the in-memory one, so no item can outlive the process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const CLIENT: &str = "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

struct Case {
    name: &'static str,
    /// Arguments after `app add --name X` (or a whole command line when `whole`).
    args: Vec<String>,
    whole: bool,
    stdin: Option<&'static str>,
    /// The field `--json` reports (`-`: refused by the argument parser, which names the argument
    /// in its message instead).
    field: &'static str,
    message: &'static str,
}

fn add(name: &'static str, args: &[&str], field: &'static str, message: &'static str) -> Case {
    Case {
        name,
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        whole: false,
        stdin: None,
        field,
        message,
    }
}

fn with_stdin(mut case: Case, stdin: &'static str) -> Case {
    case.stdin = Some(stdin);
    case
}

fn whole(name: &'static str, args: &[&str], message: &'static str) -> Case {
    Case {
        whole: true,
        ..add(name, args, "-", message)
    }
}

/// Valid `app add` arguments with `extra` added, replacing the defaults they name.
fn base(extra: &[&str]) -> Vec<String> {
    let mut v = Vec::new();
    for (flag, value) in [
        ("--client-id", Some(CLIENT)),
        ("--tenant", Some(TENANT)),
        ("--secret-stdin", None),
        ("--secret-expires", Some("2099-01-01")),
    ] {
        if !extra.contains(&flag) {
            v.push(flag.to_owned());
            v.extend(value.map(str::to_owned));
        }
    }
    v.extend(extra.iter().map(|s| (*s).to_owned()));
    v
}

#[allow(clippy::too_many_lines, reason = "the catalogue is one table")]
fn catalogue() -> Vec<Case> {
    let mut cases = vec![
        add(
            "expiry that is no date",
            &["--secret-expires", "tomorrow"],
            "-",
            "invalid value 'tomorrow' for '--secret-expires",
        ),
        add(
            "expiry on the 40th of the 13th month",
            &["--secret-expires", "2026-13-40"],
            "-",
            "invalid value '2026-13-40' for '--secret-expires",
        ),
        add(
            "expiry in day-month-year order",
            &["--secret-expires", "31-12-2026"],
            "-",
            "--secret-expires",
        ),
        add(
            "unknown preset",
            &["--preset", "everything"],
            "-",
            "unknown preset 'everything'",
        ),
        add(
            "application preset by name",
            &["--preset", "admin"],
            "-",
            "unknown preset 'admin'",
        ),
        add(
            "unknown cloud",
            &["--cloud", "mars"],
            "-",
            "invalid value 'mars' for '--cloud",
        ),
        add(
            "unknown usage",
            &["--usage", "all"],
            "-",
            "invalid value 'all' for '--usage",
        ),
        add(
            "secret on the command line",
            &["--secret", "Xy8Q~4fJq.Rk2_wZpL0vNbTcYhAe3sGdUiMoP9x"],
            "-",
            "unexpected argument '--secret'",
        ),
        add(
            "secret on the command line with =",
            &["--client-secret=Xy8Q~4fJq.Rk2_wZpL0vNbTcYhAe3sGdUiMoP9x"],
            "-",
            "unexpected argument '--client-secret",
        ),
        add(
            "public client with a secret",
            &["--public", "--secret-stdin"],
            "-",
            "cannot be used with",
        ),
        add(
            "authority URL without a Graph URL",
            &["--authority-url", "https://login.example.com"],
            "-",
            "--graph-url",
        ),
        add(
            "cloud and custom URLs together",
            &[
                "--cloud",
                "china",
                "--authority-url",
                "https://login.example.com",
                "--graph-url",
                "https://graph.example.com",
            ],
            "-",
            "cannot be used with",
        ),
    ];
    // These reach validation: the field is in --json's detail.
    let validated = [
        (
            "client id with an escape sequence",
            vec![
                "--client-id",
                "\u{1b}[31m0d3b2f3a-1c2b-4c5d-9e8f-123456789abc",
            ],
            "client_id",
            "is a GUID like",
        ),
        (
            "client id with full-width digits",
            vec!["--client-id", "\u{ff10}d3b2f3a-1c2b-4c5d-9e8f-123456789abc"],
            "client_id",
            "is a GUID like",
        ),
        (
            "tenant with a space",
            vec!["--tenant", "contoso .onmicrosoft.com"],
            "tenant",
            "The tenant must be",
        ),
        (
            "authority URL with user and password",
            vec![
                "--authority-url",
                "https://user:pw@login.example.com",
                "--graph-url",
                "https://graph.example.com",
            ],
            "authority_url",
            "user name or password",
        ),
        (
            "Graph URL with another scheme",
            vec![
                "--authority-url",
                "https://login.example.com",
                "--graph-url",
                "ftp://graph.example.com",
            ],
            "graph_url",
            "must start with https://",
        ),
        (
            "SMTP server without TLS to a remote host",
            vec!["--smtp-server", "plain://smtp.example.com:25"],
            "smtp_server",
            "allowed only to 127.0.0.1, ::1 or localhost",
        ),
        (
            "IMAP server without a port",
            vec!["--imap-server", "imap.example.com"],
            "imap_server",
            "IMAP server: add the port",
        ),
        (
            "POP server with a port out of range",
            vec!["--pop-server", "pop.example.com:70000"],
            "pop_server",
            "is not a port",
        ),
        (
            "redirect URI with a fragment",
            vec!["--redirect-uri", "http://localhost/callback#x"],
            "redirect_uri",
            "fragment",
        ),
        (
            "expiry in the past",
            vec!["--secret-expires", "2001-01-01"],
            "secret_expires",
            "This date has passed",
        ),
    ];
    for (name, args, field, message) in validated {
        cases.push(with_stdin(
            Case {
                args: base(&args),
                ..add(name, &[], field, message)
            },
            "Xy8Q~4fJq.Rk2_wZpL0vNbTcYhAe3sGdUiMoP9x\n",
        ));
    }
    cases.push(with_stdin(
        Case {
            args: base(&[]),
            ..add(
                "Secret ID on standard input",
                &[],
                "secret",
                "This is the Secret ID",
            )
        },
        "5b8e2a1c-3d4f-4a6b-8c9d-0e1f2a3b4c5d\n",
    ));
    cases.push(with_stdin(
        Case {
            args: base(&[]),
            ..add(
                "empty standard input for the secret",
                &[],
                "secret",
                "needs its client secret",
            )
        },
        "",
    ));
    cases.extend([
        whole(
            "unknown command",
            &["conect"],
            "unrecognized subcommand 'conect'",
        ),
        whole(
            "unknown keychain",
            &["--keychain", "plaintext", "app", "list"],
            "invalid value 'plaintext' for '--keychain",
        ),
        whole(
            "secret on the command line of secrets",
            &["app", "secrets", "--secret", "x"],
            "unexpected argument '--secret'",
        ),
    ]);
    cases
}

fn run(data: &std::path::Path, args: &[String], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailconn"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("MAILCONN_KEYCHAIN", "memory")
        .env_remove("MAILCONN_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn registrations(data: &std::path::Path) -> serde_json::Value {
    let out = run(data, &["--json".into(), "app".into(), "list".into()], None);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_bad_argument_is_refused_clearly_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cases = catalogue();
    let mut failures = Vec::new();
    for case in &cases {
        let args: Vec<String> = if case.whole {
            case.args.clone()
        } else {
            let mut v: Vec<String> = ["app", "add", "--name", "Contoso mail"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            v.extend(case.args.iter().cloned());
            v
        };
        let text = run(&data, &args, case.stdin);
        let stderr = String::from_utf8_lossy(&text.stderr);
        let mut problems = Vec::new();
        if text.status.code() != Some(2) {
            problems.push(format!("exit {:?}", text.status.code()));
        }
        if !stderr.contains(case.message) {
            problems.push(format!("stderr {stderr:?} lacks {:?}", case.message));
        }
        if case.field != "-" {
            let mut json_args = vec!["--json".to_owned()];
            json_args.extend(args.iter().cloned());
            let json = run(&data, &json_args, case.stdin);
            let body: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap_or_default();
            let field = &body["error"]["detail"]["field"];
            if field != case.field {
                problems.push(format!("--json field {field}, expected {}", case.field));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.name, problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    if data.exists() {
        assert_eq!(registrations(&data), serde_json::json!([]));
    }

    // The arguments every case was made from are accepted.
    let ok = run(
        &data,
        &[
            ["app", "add", "--name", "Contoso mail"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<_>>(),
            base(&[]),
        ]
        .concat(),
        Some("Xy8Q~4fJq.Rk2_wZpL0vNbTcYhAe3sGdUiMoP9x\n"),
    );
    assert!(ok.status.success(), "{ok:?}");
    assert_eq!(registrations(&data).as_array().unwrap().len(), 1);
}
