//! `mailconn settings` and the registrations' export and import, through the real binary: each
//! run is its own process over one data directory, as a person or a script uses them. The
//! keychain is the in-memory one (nothing here needs a secret to persist).

use std::process::{Command, Output, Stdio};

use serde_json::Value;

const CLIENT: &str = "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc";

fn mailconn(data: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailconn"));
    c.arg("--data-dir")
        .arg(data)
        .args(args)
        .env("MAILCONN_KEYCHAIN", "memory")
        .env_remove("MAILCONN_LOG")
        .env_remove("MAILCONN_REFRESH_MARGIN_SECS")
        .env_remove("MAILCONN_KEEP_ALIVE_SECS")
        .env_remove("MAILCONN_REMINDER_DAYS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    })
}

#[test]
fn settings_get_set_reset_with_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| mailconn(&data, args, &[]);

    let list = ok(&run(&["settings"]));
    assert!(list.starts_with("SETTING"), "{list}");
    for line in [
        "refresh-margin       5m             default                  5m",
        "keep-alive           7d             default                  7d",
        "reminder-days        30,14,7,1      default                  30,14,7,1",
        "notify-secrets       on             default                  on",
        "log-level            info           default                  info",
    ] {
        assert!(list.contains(line), "{line:?} in\n{list}");
    }

    assert_eq!(
        ok(&run(&["settings", "set", "refresh-margin", "10m"])),
        "refresh-margin: 10m (saved)\n"
    );
    assert_eq!(ok(&run(&["settings", "get", "refresh-margin"])), "10m\n");
    ok(&run(&["settings", "set", "notify-bridge", "off"]));
    ok(&run(&["settings", "set", "reminder_days", "60, 30,7"]));
    let all = json(&run(&["--json", "settings"]));
    let entry = |key: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("refresh-margin")["source"], "saved");
    assert_eq!(entry("refresh-margin")["value"]["seconds"], 600);
    assert_eq!(entry("notify-bridge")["value"]["on"], false);
    assert_eq!(entry("reminder-days")["text"], "60,30,7");
    assert_eq!(entry("keep-alive")["source"], "default");

    // The environment overrides what is saved, and says so.
    let env = [("MAILCONN_REFRESH_MARGIN_SECS", "120")];
    let over = json(&mailconn(
        &data,
        &["--json", "settings", "get", "refresh-margin"],
        &env,
    ));
    assert_eq!(over["source"], "environment");
    assert_eq!(over["text"], "2m");
    assert_eq!(over["saved_text"], "10m");
    assert_eq!(over["env"], "MAILCONN_REFRESH_MARGIN_SECS");
    let list = ok(&mailconn(&data, &["settings"], &env));
    assert!(
        list.contains(
            "refresh-margin       2m             environment (MAILCONN_REFRESH_MARGIN_SECS) 5m"
        ),
        "{list}"
    );
    let set = mailconn(&data, &["settings", "set", "refresh-margin", "15m"], &env);
    assert_eq!(ok(&set), "refresh-margin: 2m (saved)\n");
    assert!(
        stderr(&set).contains("MAILCONN_REFRESH_MARGIN_SECS is set here and overrides it"),
        "{}",
        stderr(&set)
    );
    assert_eq!(ok(&run(&["settings", "get", "refresh-margin"])), "15m\n");

    assert_eq!(
        ok(&run(&["settings", "reset", "refresh-margin"])),
        "refresh-margin: 5m (the default)\n"
    );
    assert_eq!(
        json(&run(&["--json", "settings", "get", "refresh-margin"]))["source"],
        "default"
    );
}

#[test]
fn invalid_settings_say_what_is_allowed_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (args, message, fix) in [
        (
            vec!["settings", "set", "refresh-margin", "45m"],
            "error: Refresh margin of 45 minutes is too long: the longest is 30 minutes.",
            "fix: Refresh margin accepts from 1 minute to 30 minutes (e.g. 5m; units s, m, h, d).",
        ),
        (
            vec!["settings", "set", "keep-alive", "fortnight"],
            "error: \"fortnight\" is not a length of time for the keep-alive interval.",
            "fix: Keep-alive interval accepts from 1 day to 60 days",
        ),
        (
            vec!["settings", "set", "log-level", "loud"],
            "error: \"loud\" is not a log level.",
            "fix: Log level accepts error, warn, info, debug or trace.",
        ),
        (
            vec!["settings", "get", "margin"],
            "error: There is no setting \"margin\".",
            "fix: The settings are: refresh-margin, keep-alive, reminder-days",
        ),
    ] {
        let out = mailconn(&data, &args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(err.contains(fix), "{args:?}: {err}");
    }
    let out = mailconn(
        &data,
        &["--json", "settings", "set", "notify-secrets", "perhaps"],
        &[],
    );
    assert_eq!(json(&out)["error"]["detail"]["field"], "notify-secrets");
    assert!(
        ok(&mailconn(&data, &["settings"], &[]))
            .lines()
            .skip(1)
            .all(|l| l.contains("default"))
    );
}

fn add_apps(data: &std::path::Path) {
    ok(&mailconn(
        data,
        &[
            "app",
            "add",
            "--name",
            "Team desktop",
            "--client-id",
            CLIENT,
            "--tenant",
            "common",
            "--public",
            "--preset",
            "mail-programs",
        ],
        &[],
    ));
    let mut add = Command::new(env!("CARGO_BIN_EXE_mailconn"));
    add.arg("--data-dir")
        .arg(data)
        .args([
            "app",
            "add",
            "--name",
            "Team web",
            "--client-id",
            "11111111-2222-4333-8444-555555555555",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--secret-stdin",
            "--secret-expires",
            "2099-01-01",
        ])
        .env("MAILCONN_KEYCHAIN", "memory")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = add.spawn().unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        b"Abc8Q~abcdefghijklmnopqrstuvwxyz0123456\n",
    )
    .unwrap();
    drop(child.stdin.take());
    ok(&child.wait_with_output().unwrap());
}

#[test]
fn registrations_round_trip_through_a_file_and_a_link_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (admin, colleague) = (dir.path().join("admin"), dir.path().join("colleague"));
    add_apps(&admin);

    let file = dir.path().join("apps.json");
    let file_arg = file.to_str().unwrap();
    assert_eq!(
        ok(&mailconn(
            &admin,
            &["app", "export-registrations", "--file", file_arg],
            &[]
        )),
        format!("Wrote 2 app registrations (without secrets) to {file_arg}.\n")
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("Abc8Q") && !text.contains("secret"),
        "{text}"
    );
    let again = mailconn(
        &admin,
        &["app", "export-registrations", "--file", file_arg],
        &[],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("exists already."),
        "{}",
        stderr(&again)
    );
    ok(&mailconn(
        &admin,
        &[
            "app",
            "export-registrations",
            "--file",
            file_arg,
            "--replace",
        ],
        &[],
    ));
    // To stdout, the same JSON.
    let stdout: Value = serde_json::from_str(&ok(&mailconn(
        &admin,
        &["app", "export-registrations"],
        &[],
    )))
    .unwrap();
    assert_eq!(stdout["registrations"].as_array().unwrap().len(), 2);

    // Without --yes (and no terminal to ask on), everything is shown and nothing saved.
    let shown = mailconn(&colleague, &["app", "import-registrations", file_arg], &[]);
    assert_eq!(shown.status.code(), Some(8));
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("Team desktop  [new: will be added]"),
        "{text}"
    );
    assert!(
        text.contains("  client id     0d3b2f3a-1c2b-4c5d-9e8f-123456789abc"),
        "{text}"
    );
    assert!(
        text.contains("note: a Web app: paste its client secret after importing"),
        "{text}"
    );
    assert!(
        text.contains("Nothing was saved. Run again with --yes"),
        "{text}"
    );
    assert_eq!(
        json(&mailconn(&colleague, &["--json", "app", "list"], &[])),
        Value::Array(vec![])
    );

    let added = ok(&mailconn(
        &colleague,
        &["app", "import-registrations", file_arg, "--yes"],
        &[],
    ));
    assert!(added.contains("Added \"Team desktop\""), "{added}");
    assert!(added.contains("Added \"Team web\""), "{added}");
    let apps = json(&mailconn(&colleague, &["--json", "app", "list"], &[]));
    let web = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Team web")
        .unwrap();
    assert_eq!(web["has_secret"], false);
    assert_eq!(web["tenant"], "contoso.onmicrosoft.com");
}

#[test]
fn an_import_link_shows_its_app_and_adds_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (admin, colleague) = (dir.path().join("admin"), dir.path().join("colleague"));
    add_apps(&admin);
    // A link of one app: the first import adds it, the second finds it here.
    let link = ok(&mailconn(
        &admin,
        &["app", "import-link", "Team desktop"],
        &[],
    ));
    let link = link.trim();
    assert!(
        link.starts_with("mailconn://import?v=1&name=Team+desktop&client_id="),
        "{link}"
    );
    let import = || {
        ok(&mailconn(
            &colleague,
            &["app", "import-registrations", link, "--yes"],
            &[],
        ))
    };
    let first = import();
    assert!(
        first.contains("Team desktop  [new: will be added]"),
        "{first}"
    );
    assert!(first.contains("Added \"Team desktop\""), "{first}");
    let out = import();
    assert!(
        out.starts_with(&format!("Link: {link}\n")),
        "shown in full: {out}"
    );
    assert!(out.contains("[already here: skipped]"), "{out}");
    assert!(out.contains("Nothing to add."), "{out}");
    // Into a third data directory, with --json.
    let third = dir.path().join("third");
    let report = json(&mailconn(
        &third,
        &["--json", "app", "import-registrations", link, "--yes"],
        &[],
    ));
    assert_eq!(report["added"][0]["name"], "Team desktop");
    assert_eq!(report["added"][0]["preset"], "mail-programs");
}

#[test]
fn a_malformed_import_link_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (link, why) in [
        (
            "mailconn://import?v=1&name=X&client_id=0d3b2f3a-1c2b-4c5d-9e8f-123456789abc",
            "it has no kind",
        ),
        (
            "mailconn://import?v=1&name=X&client_secret=Abc8Q~abcdefghijklmnopqrstuvwxyz0123456",
            "it carries a \"client_secret\", and a client secret is never shared this way",
        ),
        (
            "mailconn://imports?v=1",
            "it is not an import link (mailconn://import?...)",
        ),
    ] {
        let out = mailconn(&data, &["app", "import-registrations", link, "--yes"], &[]);
        assert_eq!(out.status.code(), Some(2), "{link}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "error: This import link was refused: {why}. Nothing was saved."
            )),
            "{link}: {err}"
        );
        assert!(err.contains("fix: Ask"), "{err}");
        assert!(!err.contains("Abc8Q~"), "the secret is not echoed: {err}");
    }
    let missing = mailconn(&data, &["app", "import-registrations", "nowhere.json"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("error: nowhere.json cannot be read"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(
        json(&mailconn(&data, &["--json", "app", "list"], &[])),
        Value::Array(vec![])
    );
}
