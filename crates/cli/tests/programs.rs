//! "Use in a mail program": the settings `mailconn use` prints (the same texts the window shows)
//! run as they are by real programs against a real Dovecot that introspects every token at the
//! test identity provider: msmtp sends with `passwordeval "mailconn token ..."`, `OfflineIMAP`
//! fetches with `oauth2_access_token_eval`, and the curl script searches and sends. Run through
//! `scripts/test.sh`.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{Env, stderr};
use mailconn_testkit::dovecot::Dovecot;
use serde_json::Value;

const ALICE: &str = "alice@contoso.test";

/// A mail-programs app on this Dovecot (plain TCP to loopback) and Alice connected to it as
/// `work`.
fn setup(env: &Env, dovecot: &Dovecot) {
    let imap = format!("plain://127.0.0.1:{}", dovecot.imap_port);
    let pop = format!("plain://127.0.0.1:{}", dovecot.pop_port);
    let smtp = format!("plain://127.0.0.1:{}", dovecot.submission_port);
    env.add_app(
        "mail",
        "web",
        "contoso.test",
        Some(&env.web_secret()),
        &[
            "--preset",
            "mail-programs",
            "--imap-server",
            &imap,
            "--pop-server",
            &pop,
            "--smtp-server",
            &smtp,
        ],
    );
    let (out, _) = env.connect("mail", ALICE);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&["alias", ALICE, "work"], None);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `mailconn use work PROGRAM`: the text on stdout, the notes on stderr.
fn settings(env: &Env, program: &str) -> (String, String) {
    let out = env.run(&["use", "work", program], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let notes = stderr(&out);
    (String::from_utf8(out.stdout).unwrap(), notes)
}

/// A program started the way a user's shell starts it: `mailconn` found on PATH, HOME a
/// directory of its own.
fn program(home: &Path, exe: &str) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_mailconn")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(exe);
    c.env("PATH", path)
        .env("HOME", home)
        .env_remove("MAILCONN_KEYCHAIN")
        .env_remove("MAILCONN_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn finish(mut c: Command, input: &str) -> Output {
    use std::io::Write as _;
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn fetches(env: &Env) -> Vec<String> {
    let out = env.run(&["--json", "history", "work"], None);
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["summary"].as_str())
        .filter(|s| s.contains("token"))
        .map(str::to_owned)
        .collect()
}

/// msmtp, exactly as printed, sends through submission.
fn msmtp_sends(env: &Env, dovecot: &Dovecot, home: &Path) {
    // msmtp, exactly as printed.
    let (rc, notes) = settings(env, "msmtp");
    assert!(rc.contains("auth xoauth2"), "{rc}");
    assert!(
        rc.contains("passwordeval \"mailconn --data-dir"),
        "the command names this data directory: {rc}"
    );
    assert!(
        !notes.contains("note:"),
        "nothing stands in the way: {notes}"
    );
    let rc_file = home.join("msmtprc");
    std::fs::write(&rc_file, &rc).unwrap();
    std::fs::set_permissions(
        &rc_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let mut msmtp = program(home, "msmtp");
    msmtp.arg("--file").arg(&rc_file).arg("-t");
    let out = finish(
        msmtp,
        &format!(
            "From: {ALICE}\nTo: bob@contoso.test\nSubject: Through msmtp\n\nHello from msmtp.\n"
        ),
    );
    assert!(
        out.status.success(),
        "msmtp: {}\n{}",
        stderr(&out),
        dovecot.log()
    );
    assert!(
        dovecot
            .relayed()
            .iter()
            .any(|m| m.contains("Subject: Through msmtp")),
        "submission relayed the message"
    );
}

/// `OfflineIMAP`, exactly as printed, fetches a message waiting in the inbox.
fn offlineimap_fetches(env: &Env, dovecot: &Dovecot, home: &Path) {
    // OfflineIMAP, exactly as printed, fetches a message waiting in the inbox.
    dovecot.deliver(
        ALICE,
        "From: bob@contoso.test\nTo: alice@contoso.test\nSubject: Waiting in the inbox\n\nHi.\n",
    );
    let (rc, _) = settings(env, "offlineimap");
    assert!(rc.contains("oauth2_access_token_eval"), "{rc}");
    let rc_file = home.join("offlineimaprc");
    std::fs::write(&rc_file, &rc).unwrap();
    let mut offlineimap = program(home, "offlineimap");
    offlineimap
        .arg("-c")
        .arg(&rc_file)
        .args(["-o", "-u", "basic"]);
    let out = finish(offlineimap, "");
    let fetched = home.join("Mail").join(ALICE).join("INBOX");
    let found = ["new", "cur"].iter().any(|sub| {
        std::fs::read_dir(fetched.join(sub)).is_ok_and(|d| {
            d.flatten().any(|e| {
                std::fs::read_to_string(e.path())
                    .is_ok_and(|t| t.contains("Subject: Waiting in the inbox"))
            })
        })
    });
    assert!(
        found,
        "OfflineIMAP fetched the message: {}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out),
        dovecot.log()
    );
}

/// The plain script: an IMAP search, then a message to oneself.
fn the_script_searches_and_sends(env: &Env, dovecot: &Dovecot, home: &Path) {
    // The plain script: an IMAP search, then a message to oneself.
    let (script, _) = settings(env, "script");
    let out = finish(
        {
            let mut sh = program(home, "sh");
            sh.arg("-s");
            sh
        },
        &script,
    );
    assert!(
        out.status.success(),
        "script: {}\n{}",
        stderr(&out),
        dovecot.log()
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("* SEARCH 1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        dovecot
            .relayed()
            .iter()
            .any(|m| m.contains("Subject: Test from a script"))
    );
}

#[test]
#[ignore = "needs the test identity provider (node), Dovecot, msmtp, OfflineIMAP and a Secret Service: run scripts/test.sh"]
fn the_printed_settings_work_in_msmtp_offlineimap_and_a_curl_script() {
    let env = Env::new(&[]);
    let dovecot = Dovecot::start(&env.idp);
    setup(&env, &dovecot);
    let home = tempfile::tempdir().unwrap();

    msmtp_sends(&env, &dovecot, home.path());
    offlineimap_fetches(&env, &dovecot, home.path());
    the_script_searches_and_sends(&env, &dovecot, home.path());

    // Each program's fetches are in the history under its name.
    let lines = fetches(&env);
    for name in ["msmtp", "offlineimap", "sh"] {
        assert!(
            lines.iter().any(|l| l.contains(name)),
            "{name} in the history: {lines:?}"
        );
    }
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn settings_say_what_keeps_them_from_working_and_unknown_programs_are_named() {
    let env = Env::new(&[]);
    env.add_app(
        "graph",
        "web",
        "contoso.test",
        Some(&env.web_secret()),
        &["--preset", "read"],
    );
    let (out, json) = env.connect("graph", ALICE);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = json["id"].as_str().unwrap().to_owned();

    // A Graph-only connection, closed to programs: both are said, on stderr, before the text.
    let out = env.run(&["use", &id, "msmtp"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let notes = stderr(&out);
    assert!(notes.contains("may not use SMTP yet"), "{notes}");
    assert!(notes.contains("SMTP.Send"), "{notes}");
    assert!(notes.contains("Programs may not fetch"), "{notes}");
    assert!(
        notes.contains("programs alice@contoso.test allow"),
        "{notes}"
    );
    // A custom cloud has no built-in servers: the registration must name them.
    assert!(notes.contains("No SMTP server is known"), "{notes}");
    assert!(notes.contains("--smtp-server HOST:PORT"), "{notes}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("host smtp.server.unknown"));

    // Every program, as JSON: the same texts the window shows.
    let out = env.run(&["--json", "use", &id], None);
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["program"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "thunderbird",
            "neomutt",
            "aerc",
            "msmtp",
            "mbsync",
            "offlineimap",
            "fetchmail",
            "script"
        ]
    );
    assert!(all.as_array().unwrap().iter().all(|s| s["ready"] == false));

    let out = env.run(&["use", &id, "outlook"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("There are no settings for \"outlook\""),
        "{}",
        stderr(&out)
    );
}
