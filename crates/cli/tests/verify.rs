//! `mailconn verify`: every step the connection's scopes allow, against the real pieces (the
//! test identity provider, the Graph stand-in, a real Dovecot) and the Exchange Online stand-in
//! for Exchange's own answers. Run through `scripts/test.sh`.

mod common;

use common::{Env, stderr};
use mailconn_testkit::dovecot::Dovecot;
use mailconn_testkit::exchange::{Exchange, SmtpAuthOff};
use mailconn_testkit::graph::Graph;
use serde_json::{Value, json};

const ALICE: &str = "alice@contoso.test";

fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name}: {report:#}"))
}

fn message<'a>(report: &'a Value, name: &str) -> &'a str {
    step(report, name)["message"].as_str().unwrap()
}

fn outcome<'a>(report: &'a Value, name: &str) -> &'a str {
    step(report, name)["outcome"].as_str().unwrap()
}

fn verify_json(env: &Env, args: &[&str]) -> (std::process::Output, Value) {
    let mut all = vec!["--json", "verify"];
    all.extend_from_slice(args);
    let out = env.run(&all, None);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    (out, report)
}

/// A mail-programs app whose servers are `imap`, `pop`, `smtp` (plain to loopback).
fn mail_app(env: &Env, name: &str, servers: [&str; 3]) {
    env.add_app(
        name,
        "web",
        "contoso.test",
        Some(&env.web_secret()),
        &[
            "--preset",
            "mail-programs",
            "--imap-server",
            servers[0],
            "--pop-server",
            servers[1],
            "--smtp-server",
            servers[2],
        ],
    );
}

fn connect(env: &Env, app: &str) -> String {
    let (out, json) = env.connect(app, ALICE);
    assert!(out.status.success(), "{}", stderr(&out));
    json["id"].as_str().unwrap().to_owned()
}

#[test]
#[ignore = "needs the test identity provider (node), Dovecot and a Secret Service: run scripts/test.sh"]
fn a_mail_programs_connection_logs_in_over_imap_and_smtp_at_dovecot() {
    let env = Env::new(&[]);
    let dovecot = Dovecot::start(&env.idp);
    let imap = format!("plain://127.0.0.1:{}", dovecot.imap_port);
    let pop = format!("plain://127.0.0.1:{}", dovecot.pop_port);
    let smtp = format!("plain://127.0.0.1:{}", dovecot.submission_port);
    mail_app(&env, "mail", [&imap, &pop, &smtp]);
    let shown = String::from_utf8_lossy(&env.run(&["--json", "app", "show", "mail"], None).stdout)
        .into_owned();
    assert!(
        shown.contains(&imap),
        "the registration keeps its servers: {shown}"
    );
    let id = connect(&env, "mail");

    let (out, report) = verify_json(&env, &[&id]);
    assert!(out.status.success(), "{report:#}\n{}", dovecot.log());
    assert_eq!(report["error"], Value::Null);
    for passed in [
        "token",
        "imap_connect",
        "imap_login",
        "imap_select",
        "smtp_connect",
        "smtp_login",
    ] {
        assert_eq!(outcome(&report, passed), "passed", "{passed}: {report:#}");
    }
    assert_eq!(outcome(&report, "smtp_tls"), "skipped");
    // The mail-programs preset asks for POP too; it has no Graph scope: said, not tried.
    for passed in ["pop_connect", "pop_login", "pop_stat"] {
        assert_eq!(outcome(&report, passed), "passed", "{passed}: {report:#}");
    }
    assert_eq!(outcome(&report, "graph_profile"), "skipped");
    assert!(
        step(&report, "imap_login")["duration_ms"]
            .as_u64()
            .is_some()
    );

    let out = env.run(&["verify", &id], None);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("alice@contoso.test: verified through IMAP, POP, SMTP"),
        "{text}"
    );
    assert!(
        text.contains("imap_select") && text.contains("INBOX opened"),
        "{text}"
    );
    let history = String::from_utf8_lossy(&env.run(&["history", &id], None).stdout).into_owned();
    assert!(history.contains("IMAP, POP, SMTP login works"), "{history}");

    // Over TLS: IMAP with TLS from the start and submission with STARTTLS, the certificate
    // from a local CA the test trusts (debug builds only read MAILCONN_TEST_CA_FILE).
    let imaps = format!("localhost:{}", dovecot.imaps_port);
    let starttls = format!("starttls://localhost:{}", dovecot.submission_port);
    let pops = format!("localhost:{}", dovecot.pops_port);
    mail_app(&env, "mail-tls", [&imaps, &pops, &starttls]);
    let tls_id = connect(&env, "mail-tls");
    let out = env
        .cmd()
        .args(["--json", "verify", &tls_id])
        .env("MAILCONN_TEST_CA_FILE", dovecot.ca_file())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{report:#}");
    assert_eq!(outcome(&report, "smtp_tls"), "passed");
    assert!(message(&report, "imap_connect").contains("with TLS"));
    // Without the CA the certificate is refused, and the exit code says a step failed.
    let (out, report) = verify_json(&env, &[&tls_id]);
    assert!(!out.status.success());
    assert_eq!(outcome(&report, "imap_connect"), "failed");
    assert!(message(&report, "imap_connect").contains("TLS handshake"));
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn exchanges_smtp_auth_turned_off_is_explained_with_what_the_admin_changes() {
    let env = Env::new(&[]);
    let exchange = Exchange::start(&env.idp);
    let at = |port: u16| format!("plain://127.0.0.1:{port}");
    mail_app(
        &env,
        "exo",
        [
            &at(exchange.imap_port),
            &at(exchange.pop_port),
            &at(exchange.smtp_port),
        ],
    );
    let id = connect(&env, "exo");
    let (out, report) = verify_json(&env, &[&id]);
    assert!(out.status.success(), "{report:#}");

    exchange.smtp_auth_off(Some(SmtpAuthOff::Tenant));
    let out = env.run(&["verify", &id], None);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(text.contains("FAIL smtp_login"), "{text}");
    assert!(text.contains("[535 5.7.139]"), "{text}");
    assert!(
        text.contains(
            "SMTP AUTH (authenticated SMTP submission) turned off for the whole organisation"
        ),
        "{text}"
    );
    assert!(
        text.contains("Set-TransportConfig -SmtpClientAuthenticationDisabled $false"),
        "{text}"
    );
    assert!(text.contains("alice@contoso.test: not verified"), "{text}");
    // IMAP still worked and says so.
    assert!(text.contains("ok   imap_login"), "{text}");
    let history = String::from_utf8_lossy(&env.run(&["history", &id], None).stdout).into_owned();
    assert!(
        history.contains("Verification failed: Exchange Online has SMTP AUTH"),
        "{history}"
    );
}

/// An app on the Graph stand-in with a preset's scopes.
fn graph_app(env: &Env, graph: &Graph, name: &str, preset: &str) {
    let secret = env.web_secret();
    env.add_app_with_graph(
        name,
        "web",
        "contoso.test",
        graph.base(),
        Some(&secret),
        &["--preset", preset],
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn graph_steps_pass_fail_and_skip_by_scope_and_send_test_reaches_the_inbox() {
    let env = Env::new(&[]);
    let graph = Graph::start(&env.idp);
    graph_app(&env, &graph, "calendar", "full-calendar");
    let id = connect(&env, "calendar");

    let (out, report) = verify_json(&env, &[&id]);
    assert!(out.status.success(), "{report:#}");
    assert_eq!(outcome(&report, "graph_profile"), "passed");
    assert!(
        message(&report, "graph_profile")
            .contains("Microsoft Graph answered for alice@contoso.test")
    );
    assert_eq!(outcome(&report, "graph_newest_message"), "passed");
    assert!(message(&report, "graph_newest_message").starts_with("Newest inbox message: \""));
    assert_eq!(outcome(&report, "graph_calendar"), "passed");
    assert!(message(&report, "graph_calendar").contains("Weekly team sync"));
    // Not asked: no message is sent.
    assert_eq!(outcome(&report, "graph_send_test"), "skipped");
    assert!(message(&report, "graph_send_test").contains("--send-test"));
    assert!(graph.sent().is_empty());
    for mail in ["imap_login", "pop_login", "smtp_login"] {
        assert_eq!(outcome(&report, mail), "skipped", "{mail}");
    }

    // --send-test: one message to the mailbox itself, marked as a test, then the newest.
    let (out, report) = verify_json(&env, &["--send-test", &id]);
    assert!(out.status.success(), "{report:#}");
    assert_eq!(outcome(&report, "graph_send_test"), "passed");
    let sent = graph.sent();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["delivered_to"], json!([ALICE]));
    assert!(
        sent[0]["message"]["subject"]
            .as_str()
            .unwrap()
            .contains("Mail Connections test")
    );
    let (_, report) = verify_json(&env, &[&id]);
    assert!(
        message(&report, "graph_newest_message").contains("[Mail Connections test]"),
        "{report:#}"
    );

    // Graph refuses the calendar (403 ErrorAccessDenied): that step fails with Graph's code.
    graph.fault(&json!({"status": 403, "path": "/me/events$", "count": 5}));
    let (out, report) = verify_json(&env, &[&id]);
    graph.clear_faults();
    assert_eq!(out.status.code(), Some(6), "{report:#}");
    assert_eq!(outcome(&report, "graph_calendar"), "failed");
    assert!(message(&report, "graph_calendar").contains("lacks the permission"));
    assert_eq!(outcome(&report, "graph_profile"), "passed");

    // A read-only connection: sending and the calendar are skipped, each naming the scope.
    graph_app(&env, &graph, "reader", "read");
    let reader = connect(&env, "reader");
    let (out, report) = verify_json(&env, &["--send-test", &reader]);
    assert!(out.status.success(), "{report:#}");
    assert_eq!(outcome(&report, "graph_newest_message"), "passed");
    assert_eq!(outcome(&report, "graph_send_test"), "skipped");
    assert!(message(&report, "graph_send_test").contains("Mail.Send"));
    assert!(message(&report, "graph_calendar").contains("Calendars.Read"));

    // --all: both connections, in one array.
    let (out, all) = verify_json(&env, &["--all"]);
    assert!(out.status.success(), "{all:#}");
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn mail_servers_are_checked_when_added_and_missing_ones_are_named_in_the_verification() {
    let env = Env::new(&[]);
    let client_id = env.idp.fixture("/clients/web/client_id");
    let add = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "app",
            "add",
            "--name",
            name,
            "--client-id",
            &client_id,
            "--tenant",
            "contoso.test",
            "--authority-url",
            &env.idp.base,
            "--graph-url",
            "http://127.0.0.1:9",
            "--secret-stdin",
            "--secret-expires",
            "2099-01-01",
        ];
        args.extend_from_slice(extra);
        env.run(&args, Some(&env.web_secret()))
    };
    // Plain TCP only to loopback; the message names the server it is about.
    let out = add("plain", &["--smtp-server", "plain://smtp.example.com:25"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("SMTP server: a connection without TLS (plain://) is allowed only to 127.0.0.1, ::1 or localhost."),
        "{}",
        stderr(&out)
    );
    let out = add("noport", &["--imap-server", "imap.example.com"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("IMAP server: add the port"),
        "{}",
        stderr(&out)
    );
    // A custom cloud's mail-programs app without servers is saved with a warning to add them.
    let out = add("mailonly", &["--preset", "mail-programs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("A custom cloud has no built-in mail servers"),
        "{}",
        stderr(&out)
    );

    // An app without servers; a connection that asks for mail-program scopes anyway: the
    // verification says which server is missing and where to add it.
    let out = add("graph-only", &["--preset", "read"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut c = env.cmd();
    c.args([
        "--json",
        "connect",
        "--no-browser",
        "--app",
        "graph-only",
        "--login-hint",
        ALICE,
        "--preset",
        "mail-programs",
    ]);
    let (out, json) = common::run_with_browser(c);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = json["id"].as_str().unwrap().to_owned();
    let (out, report) = verify_json(&env, &[&id]);
    assert!(!out.status.success(), "{report:#}");
    let imap = step(&report, "imap_login");
    assert_eq!(imap["outcome"], "failed");
    assert_eq!(
        imap["message"],
        "No IMAP server is known for this app's cloud."
    );
    assert!(
        imap["fix"]
            .as_str()
            .unwrap()
            .contains("--imap-server HOST:PORT")
    );
}
