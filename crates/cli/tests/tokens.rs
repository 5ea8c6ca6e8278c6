//! Tokens for mail programs and scripts, through the real `mailconn` binary against the local
//! identity provider and the real keychain: `token` per resource (Graph and Outlook tokens of
//! one refresh token, one rotation each), the token shared through the keychain across
//! processes (a fetch while the app refreshes makes one request), `xoauth2` and `oauthbearer`
//! decoded, the programs switch and its exit code, needs-sign-in with exit code 6, aliases,
//! the history entries with the program's name; shell completions and man pages. Run through
//! `scripts/test.sh` (the ignored ones need node and a Secret Service).

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::{Env, run_with_browser, secret_tool_lookup, stderr};
use mailconn_core::clock::SystemClock;
use mailconn_core::engine::{Config, Engine};
use mailconn_core::keychain::SystemKeychain;
use mailconn_core::paths::DataDir;
use mailconn_core::store::Store;
use mailconn_testkit::Idp;
use serde_json::{Value, json};

const IMAP: &str = "https://outlook.office.com/IMAP.AccessAsUser.All";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refresh_requests(idp: &Idp) -> Vec<Value> {
    idp.token_requests()
        .into_iter()
        .filter(|e| e["grant_type"] == "refresh_token")
        .collect()
}

/// The name this test process has, which the CLI sees as its parent's.
fn my_name() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .unwrap()
        .trim()
        .to_owned()
}

/// A public app with the given preset and alice connected through it; returns her id.
fn alice(env: &Env, preset: &str) -> String {
    env.add_app("desktop", "public", "common", None, &["--preset", preset]);
    let (out, json) = env.connect("desktop", "alice@contoso.test");
    assert!(out.status.success(), "connect: {}", stderr(&out));
    json["id"].as_str().unwrap().to_owned()
}

/// What the provider says about an access token (introspection, as a mail server does).
fn introspect(env: &Env, token: &str) -> Value {
    let client = env.idp.fixture("/clients/web/client_id");
    reqwest::blocking::Client::new()
        .post(format!("{}/common/oauth2/v2.0/introspect", env.idp.base))
        .basic_auth(client, Some(env.web_secret()))
        .form(&[("token", token)])
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn token_json(env: &Env, who: &str, resource: &str) -> Value {
    let out = env.run(&["--json", "token", who, "--resource", resource], None);
    assert!(out.status.success(), "token {resource}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stored_refresh_token(id: &str) -> String {
    secret_tool_lookup(&format!("refresh-token/{id}")).expect("refresh token in the keychain")
}

/// A Graph connection: closed to programs until allowed, and IMAP refused until consented,
/// each with its message and exit code and without a request to Microsoft.
fn refused_until_allowed_and_consented(env: &Env, me: &str) {
    // A Graph connection: programs are off by default (only mail-programs turns them on).
    let out = env.run(&["token", me], None);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(
        stdout(&out).is_empty(),
        "nothing but the token ever goes to stdout"
    );
    let err = stderr(&out);
    assert!(
        err.contains("error: Programs may not fetch the tokens of alice@contoso.test."),
        "{err}"
    );
    assert!(
        err.contains("fix: If the programs on this computer may use this mailbox, allow it: `mailconn programs alice@contoso.test allow`"),
        "{err}"
    );
    assert!(
        refresh_requests(&env.idp).is_empty(),
        "refused before any request"
    );
    let out = env.run(&["programs", me, "allow"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "Programs may fetch the tokens of alice@contoso.test."
    );

    // IMAP was never consented: refused with the scope and the command, without a request.
    let out = env.run(&["token", me, "--resource", "imap"], None);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "error: The connection alice@contoso.test was not given access to IMAP: it lacks {IMAP}."
        )),
        "{err}"
    );
    assert!(
        err.contains("fix: Sign in again with that permission: `mailconn reconnect alice@contoso.test --preset mail-programs`."),
        "{err}"
    );
    assert!(refresh_requests(&env.idp).is_empty());
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn graph_and_outlook_tokens_come_from_one_refresh_token_one_rotation_each() {
    let env = Env::new(&[]);
    let id = alice(&env, "full");
    let me = "alice@contoso.test";

    refused_until_allowed_and_consented(&env, me);

    // Signed in again for mail programs: Graph's consent stays, Outlook's is added.
    let mut c = env.cmd();
    c.args([
        "--json",
        "reconnect",
        me,
        "--no-browser",
        "--preset",
        "mail-programs",
    ]);
    let (out, json) = run_with_browser(c);
    assert!(out.status.success(), "reconnect: {}", stderr(&out));
    let granted: Vec<&str> = json["scopes_granted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        granted.contains(&"Mail.ReadWrite") && granted.contains(&IMAP),
        "{granted:?}"
    );

    let rt0 = stored_refresh_token(&id);
    let graph = token_json(&env, me, "graph");
    let rt1 = stored_refresh_token(&id);
    assert_ne!(rt0, rt1, "the Graph refresh rotated the refresh token once");
    let imap = token_json(&env, me, "imap");
    let rt2 = stored_refresh_token(&id);
    assert_ne!(rt1, rt2, "and the Outlook one once more");
    let requests = refresh_requests(&env.idp);
    assert_eq!(requests.len(), 2, "{requests:?}");
    // One resource per request.
    let scope0 = requests[0]["scope"].as_str().unwrap();
    let scope1 = requests[1]["scope"].as_str().unwrap();
    assert!(
        scope0.contains("Mail.ReadWrite") && !scope0.contains("outlook"),
        "{scope0}"
    );
    assert!(
        scope1.contains(IMAP) && !scope1.contains("Mail.ReadWrite"),
        "{scope1}"
    );

    let (graph_token, outlook_token) = (
        graph["token"].as_str().unwrap(),
        imap["token"].as_str().unwrap(),
    );
    assert_ne!(graph_token, outlook_token);
    let (graph_claims, outlook_claims) = (
        introspect(&env, graph_token),
        introspect(&env, outlook_token),
    );
    assert_eq!(graph_claims["active"], true);
    assert_eq!(outlook_claims["active"], true);
    assert_ne!(
        graph_claims["aud"], outlook_claims["aud"],
        "two audiences: {graph_claims} {outlook_claims}"
    );
    assert!(
        outlook_claims["scope"]
            .as_str()
            .unwrap()
            .contains("IMAP.AccessAsUser.All"),
        "{outlook_claims}"
    );
    assert!(
        !graph_claims["scope"]
            .as_str()
            .unwrap_or("")
            .contains("IMAP"),
        "{graph_claims}"
    );
    assert_eq!(imap["resource"], "imap");
    assert!(
        imap["scopes"].as_array().unwrap().iter().any(|s| s == IMAP),
        "{imap}"
    );
    assert!(imap["expires_at"].is_string());

    // SMTP and POP share the Outlook token; Graph's is kept: no more requests, from new
    // processes each time (the keychain holds the tokens).
    for (resource, expected) in [
        ("smtp", outlook_token),
        ("pop", outlook_token),
        ("graph", graph_token),
        ("imap", outlook_token),
    ] {
        let out = env.run(&["token", me, "--resource", resource], None);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out), format!("{expected}\n"), "{resource}");
    }
    assert_eq!(refresh_requests(&env.idp).len(), 2, "no more refreshes");

    sasl_responses_carry_the_tokens(&env, me, graph_token, outlook_token);
    programs_are_named_in_the_history(&env, me);
}

/// `xoauth2` (IMAP by default) and `oauthbearer`, decoded: the address and the tokens above.
fn sasl_responses_carry_the_tokens(env: &Env, me: &str, graph: &str, outlook: &str) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let out = env.run(&["xoauth2", me], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let decoded = b64.decode(stdout(&out).trim()).unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("user=alice@contoso.test\u{1}auth=Bearer {outlook}\u{1}\u{1}")
    );
    let out = env.run(&["xoauth2", me, "--resource", "smtp", "--raw"], None);
    assert_eq!(
        stdout(&out),
        format!("user=alice@contoso.test\u{1}auth=Bearer {outlook}\u{1}\u{1}"),
        "raw, without a newline"
    );
    let out = env.run(
        &[
            "oauthbearer",
            me,
            "--host",
            "outlook.office365.com",
            "--port",
            "993",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let decoded = String::from_utf8(b64.decode(stdout(&out).trim()).unwrap()).unwrap();
    assert_eq!(
        decoded,
        format!(
            "n,a=alice@contoso.test,\u{1}host=outlook.office365.com\u{1}port=993\u{1}auth=Bearer {outlook}\u{1}\u{1}"
        )
    );
    let out = env.run(&["--json", "oauthbearer", me, "--resource", "graph"], None);
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["mechanism"], "oauthbearer");
    assert_eq!(answer["resource"], "graph");
    assert_eq!(
        answer["raw"],
        format!("n,a=alice@contoso.test,\u{1}auth=Bearer {graph}\u{1}\u{1}")
    );
    assert_eq!(refresh_requests(&env.idp).len(), 2);
}

/// The history names the program (this test, the CLI's parent), one entry per resource and hour.
fn programs_are_named_in_the_history(env: &Env, me: &str) {
    let out = env.run(&["--json", "history", me], None);
    let history: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let name = my_name();
    let fetched: Vec<&str> = history
        .iter()
        .filter(|e| e["kind"] == "token")
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert!(
        fetched.contains(
            &format!("{name} fetched an access token for IMAP (4 times within the hour)").as_str()
        ),
        "{fetched:?}"
    );
    assert!(
        fetched.contains(
            &format!(
                "{name} fetched an access token for Microsoft Graph (3 times within the hour)"
            )
            .as_str()
        ),
        "{fetched:?}"
    );
    assert!(history.iter().any(|e| e["kind"] == "token_refused"
        && e["summary"]
            == format!(
                "{name} was refused an access token for Microsoft Graph: programs are not allowed"
            )));
    let text = stdout(&env.run(&["status", me], None));
    assert!(text.contains("programs:       may fetch tokens"), "{text}");

    // A connection used by programs is refreshed ahead of expiry by whoever runs the engine.
    let s: Value =
        serde_json::from_slice(&env.run(&["--json", "status", me], None).stdout).unwrap();
    assert!(s["last_used_at"].is_string(), "{s}");
    assert!(s["programs_allowed"].as_bool().unwrap());
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn a_token_fetched_while_the_app_refreshes_makes_one_refresh() {
    let env = Env::new(&[]);
    let id = alice(&env, "mail-programs");
    // The app's engine, over the same data directory and keychain.
    let dir = DataDir::open(env.data()).unwrap();
    let store = Arc::new(Store::open(&dir.database()).unwrap());
    let engine = Arc::new(Engine::new(
        store.clone(),
        Arc::new(SystemKeychain::new()),
        mailconn_core::http::client(),
        Arc::new(SystemClock),
        dir.locks(),
        Config {
            lock_wait: Duration::from_secs(20),
            ..Config::default()
        },
    ));
    env.idp.post(
        "/_control/token-endpoint",
        &json!({"mode": "delay", "delay_ms": 1500, "count": 2}),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.spawn({
        let (engine, id) = (engine.clone(), id.clone());
        async move { engine.refresh(&id).await }
    });
    // The app is inside its token request (the row says "refreshing") when the program asks.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.get_connection(&id).unwrap().state
        != mailconn_core::connection::StateKind::Refreshing
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the app never started refreshing"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut cli = env
        .cmd()
        .args(["token", "alice@contoso.test", "--resource", "imap"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(cli.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let status = cli.wait().unwrap();
    assert!(status.success());
    let report = rt.block_on(app).unwrap().unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.requested, "the app made the request");
    assert_eq!(refresh_requests(&env.idp).len(), 1, "one refresh for both");
    // The program got the token the app's refresh brought.
    let held = rt
        .block_on(engine.access_token(&id, mailconn_core::resource::Resource::Imap))
        .unwrap();
    assert_eq!(line.trim(), held.token.expose());
    assert_eq!(refresh_requests(&env.idp).len(), 1);
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn a_connection_that_needs_sign_in_exits_6_with_the_reason_and_the_command() {
    let env = Env::new(&[]);
    alice(&env, "mail-programs");
    env.idp
        .post("/_control/users/alice@contoso.test/revoke", &json!({}));
    for round in 0..2 {
        let out = env.run(&["xoauth2", "alice@contoso.test"], None);
        assert_eq!(
            out.status.code(),
            Some(6),
            "round {round}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty());
        let err = stderr(&out);
        assert!(
            err.contains("error: alice@contoso.test needs you to sign in again: "),
            "{err}"
        );
        assert!(
            err.contains("AADSTS50173 (what it means: mailconn explain AADSTS50173)"),
            "{err}"
        );
        assert!(
            err.contains("fix: Sign in again: `mailconn reconnect alice@contoso.test` (or Reconnect in the app)."),
            "{err}"
        );
    }
    // The first asked Microsoft; the second knew without asking (no retry storm).
    assert_eq!(refresh_requests(&env.idp).len(), 1);
    let out = env.run(&["--json", "token", "alice@contoso.test"], None);
    assert_eq!(out.status.code(), Some(6));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "needs_sign_in");
    assert_eq!(v["error"]["detail"]["remedy"], "sign_in_again");
    assert_eq!(v["error"]["detail"]["aadsts"], 50173);
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn aliases_name_connections_and_are_unique() {
    let env = Env::new(&[]);
    alice(&env, "mail-programs");
    let (out, _) = env.connect("desktop", "bob@contoso.test");
    assert!(out.status.success());

    let out = env.run(&["alias", "alice@contoso.test", "work"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "alice@contoso.test is now also called \"work\"."
    );
    let out = env.run(&["token", "WORK", "--resource", "smtp"], None);
    assert!(
        out.status.success(),
        "aliases ignore case: {}",
        stderr(&out)
    );
    assert!(!stdout(&out).trim().is_empty());
    let s: Value =
        serde_json::from_slice(&env.run(&["--json", "status", "work"], None).stdout).unwrap();
    assert_eq!(s["address"], "alice@contoso.test");
    assert_eq!(s["alias"], "work");

    let out = env.run(&["alias", "bob@contoso.test", "Work"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("error: \"Work\" already names the connection alice@contoso.test ("),
        "{err}"
    );
    assert!(err.contains("fix: Choose another alias."), "{err}");
    for (bad, why) in [
        ("2nd", "it must start with a letter"),
        ("bob@home", "'@' is not allowed in it"),
    ] {
        let out = env.run(&["alias", "bob@contoso.test", bad], None);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "error: The alias \"{bad}\" cannot be used: {why}."
            )),
            "{err}"
        );
    }
    let out = env.run(&["alias", "bob@contoso.test"], None);
    assert_eq!(out.status.code(), Some(2), "a name or --clear");

    let out = env.run(&["alias", "work", "--clear"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "alice@contoso.test has no alias now.");
    let out = env.run(&["token", "work"], None);
    assert_eq!(out.status.code(), Some(7));
    assert!(stderr(&out).contains("error: No connection is called \"work\"."));
    // Now free for bob.
    let out = env.run(&["alias", "bob@contoso.test", "work"], None);
    assert!(out.status.success(), "{}", stderr(&out));

    // Denied again: exit code 9, and the switch can be read back.
    let out = env.run(&["programs", "alice@contoso.test", "deny"], None);
    assert!(out.status.success());
    let out = env.run(&["xoauth2", "alice@contoso.test"], None);
    assert_eq!(out.status.code(), Some(9));
    let out = env.run(&["--json", "programs", "alice@contoso.test"], None);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["programs_allowed"], false);
}

#[test]
fn wrong_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mailconn"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["token", "x", "--resource", "ews"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid value 'ews' for '--resource <RESOURCE>'")
            && stderr(&out).contains("[possible values: graph, imap, pop, smtp]"),
        "{}",
        stderr(&out)
    );
    let out = run(&["programs", "x", "maybe"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["oauthbearer", "x", "--port", "99999"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_and_man_pages_name_every_command() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailconn"))
            .args(args)
            // No data directory is needed, even an unusable one.
            .env("MAILCONN_DATA_DIR", "/nonexistent/never")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let commands = [
        "token",
        "xoauth2",
        "oauthbearer",
        "alias",
        "programs",
        "connect",
        "reconnect",
        "status",
        "refresh",
        "verify",
        "history",
        "completions",
        "man",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let text = run(&["completions", shell]);
        for c in commands {
            assert!(text.contains(c), "{shell} completions lack {c}");
        }
        assert!(text.contains("resource"), "{shell}");
        assert!(text.contains("smtp"), "{shell}: the resources are offered");
    }
    assert!(run(&["completions", "bash"]).contains("complete -F _mailconn"));
    assert!(run(&["completions", "fish"]).contains("complete -c mailconn"));
    assert!(run(&["completions", "zsh"]).starts_with("#compdef mailconn"));

    let page = run(&["man"]);
    assert!(page.contains(".TH mailconn 1"), "{page}");
    for c in commands {
        assert!(
            page.contains(&format!("mailconn\\-{c}(1)")),
            "man page lacks {c}"
        );
    }
    assert!(
        page.contains("programs may not fetch"),
        "exit codes are in it"
    );
    let dir = tempfile::tempdir().unwrap();
    run(&["man", "--dir", dir.path().to_str().unwrap()]);
    let token = std::fs::read_to_string(dir.path().join("mailconn-token.1")).unwrap();
    assert!(token.contains(".TH mailconn-token 1"), "{token}");
    assert!(token.contains("\\-\\-resource"), "{token}");
    assert!(dir.path().join("mailconn-app-add.1").exists());
}
