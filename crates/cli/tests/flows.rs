//! The CLI against the local identity provider (`tests/idp`) and the real keychain: testing app
//! registrations, and connecting mailboxes by browser (loopback) and device code. Run through
//! `scripts/test.sh` (a private Secret Service session, Node for the provider).

mod common;

use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};

// ---- "test the registration" -------------------------------------------------------------

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn testing_registrations_against_the_identity_provider() {
    let env = Env::new(&[]);
    let contoso = env.idp.fixture("/tenants/contoso/id");
    env.add_app(
        "good",
        "web",
        &contoso,
        Some(&env.web_secret()),
        &["--usage", "both"],
    );
    env.add_app(
        "wrong-secret",
        "web",
        &contoso,
        Some("Zz9_Q~this-is-not-the-secret-value-at-all"),
        &["--usage", "both"],
    );
    env.add_app("desktop", "public", "common", None, &[]);

    let ok = env.run(&["--json", "app", "test", "good"], None);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let report: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "passed"),
        "{report:#}"
    );

    let bad = env.run(&["--json", "app", "test", "wrong-secret"], None);
    assert_eq!(bad.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&bad.stdout).unwrap();
    let step = &report["steps"][1];
    assert_eq!(step["status"], "failed", "{report:#}");
    assert_eq!(step["error"]["detail"]["aadsts"], 7000215);
    assert!(
        step["message"]
            .as_str()
            .unwrap()
            .contains("client secret is not valid")
    );
    assert!(
        step["error"]["detail"]["fix"]
            .as_str()
            .unwrap()
            .contains("Value")
    );
    assert!(
        step["error"]["detail"]["trace_id"].is_string(),
        "support IDs are shown: {report:#}"
    );
    assert!(step["error"]["detail"]["correlation_id"].is_string());

    let report = env.test_app("desktop");
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["steps"][1]["status"], "skipped");

    // An expired secret: Microsoft's AADSTS7000222, explained with the way out.
    let web = env.idp.fixture("/clients/web/client_id");
    let key_id = env.idp.fixture("/clients/web/secrets/0/keyId");
    env.idp.post(
        &format!("/_control/clients/{web}/secrets/{key_id}/expire"),
        &serde_json::json!({}),
    );
    let expired: Value = env.test_app("good");
    assert_eq!(
        expired["steps"][1]["error"]["detail"]["aadsts"], 7000222,
        "{expired:#}"
    );
    assert!(
        expired["summary"]
            .as_str()
            .unwrap()
            .contains("client secret has expired")
    );
    assert!(
        expired["steps"][1]["error"]["detail"]["fix"]
            .as_str()
            .unwrap()
            .contains("rotate")
    );

    // The text output a person reads, with the stored last result.
    let shown = env.run(&["app", "show", "wrong-secret"], None);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("last test:     FAILED"),
        "{}",
        String::from_utf8_lossy(&shown.stdout)
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn unknown_client_and_unknown_tenant_are_explained() {
    let env = Env::new(&[]);
    let contoso = env.idp.fixture("/tenants/contoso/id");
    let out = env.run(
        &[
            "app",
            "add",
            "--name",
            "ghost",
            "--client-id",
            "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc",
            "--tenant",
            &contoso,
            "--authority-url",
            &env.idp.base,
            "--graph-url",
            "http://127.0.0.1:9",
            "--usage",
            "both",
            "--secret-stdin",
            "--secret-expires",
            "2099-01-01",
        ],
        Some(&env.web_secret()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = env.test_app("ghost");
    assert_eq!(
        report["steps"][1]["error"]["detail"]["aadsts"], 700016,
        "{report:#}"
    );
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .contains("No app with this client ID")
    );

    env.add_app(
        "elsewhere",
        "web",
        "dddddddd-0000-4000-8000-00000000000d",
        Some(&env.web_secret()),
        &["--usage", "both"],
    );
    let report = env.test_app("elsewhere");
    assert_eq!(report["steps"][0]["status"], "failed", "{report:#}");
    assert_eq!(report["steps"][0]["error"]["detail"]["aadsts"], 90002);
    assert!(
        report["steps"][0]["message"]
            .as_str()
            .unwrap()
            .contains("tenant was not found")
    );
}

#[test]
#[ignore = "needs a Secret Service: run scripts/test.sh"]
fn a_secret_id_pasted_as_the_secret_is_refused_and_nothing_is_stored() {
    let env = Env::new(&[]);
    let out = env.run(
        &[
            "app",
            "add",
            "--name",
            "x",
            "--client-id",
            "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc",
            "--tenant",
            "contoso.test",
            "--secret-stdin",
        ],
        Some("5ec00001-0000-4000-8000-000000000001\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("This is the Secret ID. Paste the Value column instead"),
        "{}",
        stderr(&out)
    );
    let list = env.run(&["--json", "app", "list"], None);
    assert_eq!(
        serde_json::from_slice::<Value>(&list.stdout).unwrap(),
        serde_json::json!([])
    );
}

// ---- connecting mailboxes ----------------------------------------------------------------

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn browser_sign_in_public_and_confidential_two_accounts_and_the_same_account_twice() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &["--preset", "read"]);
    env.add_app(
        "web",
        "web",
        "common",
        Some(&env.web_secret()),
        &["--preset", "full"],
    );

    let (out, alice) = env.connect("desktop", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(alice["address"], "alice@contoso.test");
    assert_eq!(alice["account_type"], "work");
    assert_eq!(alice["state"], "active");
    assert_eq!(alice["created"], true);
    assert_eq!(alice["has_refresh_token"], true);
    assert!(
        alice["scopes_granted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().ends_with("Mail.Read")),
        "{alice:#}"
    );
    assert_eq!(alice["scopes_missing"], serde_json::json!([]), "{alice:#}");

    let (_, carol) = env.connect("desktop", "carol@outlook.test");
    assert_eq!(carol["account_type"], "personal", "{carol:#}");

    let (out, again) = env.connect("desktop", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(again["created"], false);
    assert_eq!(
        again["id"], alice["id"],
        "the same account and app update one connection"
    );

    let (out, web) = env.connect("web", "bob@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(web["address"], "bob@contoso.test");
    // The confidential client's code redemption carried its secret; the public one's did not.
    let token_requests = env.idp.token_requests();
    assert!(
        token_requests.iter().any(
            |r| r["client_id"] == env.idp.fixture("/clients/web/client_id")
                && r["secret_hint"] == "Wq1"
        ),
        "{token_requests:#?}"
    );
    assert!(
        token_requests
            .iter()
            .filter(|r| r["client_id"] == env.idp.fixture("/clients/public/client_id"))
            .all(|r| r["secret_hint"].is_null())
    );

    let list: Value = serde_json::from_slice(&env.run(&["--json", "list"], None).stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3, "{list:#}");

    // The refresh token is in the keychain, and nowhere in SQLite or the logs.
    let id = alice["id"].as_str().unwrap();
    let rt =
        secret_tool_lookup(&format!("refresh-token/{id}")).expect("refresh token in the keychain");
    assert!(rt.len() > 10);
    assert!(
        !dir_contains(&env.data(), &rt),
        "the refresh token leaked into the data directory"
    );

    let out = env.run(&["disconnect", id], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        secret_tool_lookup(&format!("refresh-token/{id}")).is_none(),
        "disconnect removes the refresh token"
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn declined_consent_makes_no_token_request_and_says_so() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &[]);
    let (out, json) = env.connect("desktop", "decline@contoso.test");
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert_eq!(json["error"]["detail"]["aadsts"], 65004, "{json:#}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("declined")
    );
    assert!(
        env.idp.token_requests().is_empty(),
        "no code, no token request"
    );

    let (out, json) = env.connect("desktop", "needsadmin@contoso.test");
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(json["error"]["code"], "needs_consent");
    assert_eq!(json["error"]["detail"]["aadsts"], 90094, "{json:#}");
    assert!(
        json["error"]["detail"]["fix"]
            .as_str()
            .unwrap()
            .contains("admin consent link")
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn forged_callbacks_time_out_without_a_token_request() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &[]);
    let mut c = env.cmd();
    c.args([
        "--json",
        "connect",
        "--no-browser",
        "--app",
        "desktop",
        "--timeout",
        "3",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let url = url::Url::parse(line.trim().strip_prefix("open: ").unwrap()).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    let port = url::Url::parse(&redirect).unwrap().port().unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let http = reqwest::blocking::Client::new();
    let at = |path: &str| {
        http.get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(at("/?code=forged&state=not-the-state"), 400, "wrong state");
    assert_eq!(at("/elsewhere?code=forged&state=x"), 404, "another path");
    assert_eq!(
        at(&format!("/?state={state}&code={}", "x".repeat(10_000))),
        414,
        "oversized"
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(8), "timed out: {rest}");
    let json: Value = serde_json::from_str(&rest).unwrap();
    assert_eq!(json["error"]["code"], "timeout");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("No sign-in came back")
    );
    assert!(
        env.idp.token_requests().is_empty(),
        "forged callbacks never reach the token endpoint"
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn device_code_success_decline_and_expiry() {
    let env = Env::new(&[("IDP_DEVICE_INTERVAL", "1"), ("IDP_DEVICE_CODE_TTL", "4")]);
    env.add_app("desktop", "public", "common", None, &[]);
    let http = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();

    let device = |action: Option<&str>| -> Output {
        let mut c = env.cmd();
        c.args(["--json", "connect", "--device-code", "--app", "desktop"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let code: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let user_code = code["user_code"].as_str().unwrap().to_owned();
        assert!(
            code["verification_uri"]
                .as_str()
                .unwrap()
                .contains("/devicelogin")
        );
        if let Some(query) = action {
            let r = http
                .get(format!(
                    "{}/devicelogin?user_code={user_code}&{query}",
                    env.idp.base
                ))
                .send()
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().unwrap());
        }
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
        let mut out = child.wait_with_output().unwrap();
        out.stdout = rest.into_bytes();
        out
    };

    let ok = device(Some("login_hint=bob%40contoso.test"));
    assert!(ok.status.success(), "{}", stderr(&ok));
    let json: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(json["address"], "bob@contoso.test");

    let declined = device(Some("login_hint=bob%40contoso.test&decline=1"));
    assert_eq!(declined.status.code(), Some(6));
    let json: Value = serde_json::from_slice(&declined.stdout).unwrap();
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("declined"),
        "{json:#}"
    );

    let expired = device(None);
    assert_eq!(expired.status.code(), Some(8));
    let json: Value = serde_json::from_slice(&expired.stdout).unwrap();
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired before anyone signed in"),
        "{json:#}"
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn device_code_is_refused_for_confidential_apps() {
    let env = Env::new(&[]);
    env.add_app("web", "web", "common", Some(&env.web_secret()), &[]);
    let out = env.run(&["connect", "--device-code", "--app", "web"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Device code sign-in works only with public apps"));
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn reconnect_changes_scopes_of_the_same_connection() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &["--preset", "read"]);
    let (_, first) = env.connect("desktop", "alice@contoso.test");
    let id = first["id"].as_str().unwrap().to_owned();
    let before = secret_tool_lookup(&format!("refresh-token/{id}")).unwrap();

    let mut c = env.cmd();
    c.args([
        "--json",
        "reconnect",
        &id,
        "--preset",
        "full",
        "--no-browser",
    ]);
    let (out, again) = run_with_browser(c);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["created"], false);
    assert_eq!(again["preset"], "full");
    assert!(
        again["scopes_granted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().ends_with("Mail.ReadWrite")),
        "{again:#}"
    );
    let after = secret_tool_lookup(&format!("refresh-token/{id}")).unwrap();
    assert_ne!(
        before, after,
        "the new sign-in's refresh token replaced the old one"
    );
}

// ---- Microsoft never echoes offline_access -------------------------------------------------

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn offline_access_is_judged_by_the_refresh_token_not_the_scope_echo() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &["--preset", "full"]);
    for who in ["alice@contoso.test", "carol@outlook.test"] {
        let (out, c) = env.connect("desktop", who);
        assert!(out.status.success(), "{}", stderr(&out));
        let granted: Vec<&str> = c["scopes_granted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(
            !granted
                .iter()
                .any(|s| s.eq_ignore_ascii_case("offline_access")),
            "the provider answers like Microsoft: {c:#}"
        );
        assert!(
            c["scopes_requested"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "offline_access"),
            "{c:#}"
        );
        assert_eq!(c["has_refresh_token"], true, "{c:#}");
        assert_eq!(c["scopes_missing"], serde_json::json!([]), "{c:#}");
        assert_eq!(c["state"], "active", "{c:#}");

        // What is stored says the same, and the refresh token works.
        let out = env.run(&["--json", "refresh", who], None);
        assert!(out.status.success(), "{}", stderr(&out));
        let list = env.run(&["--json", "list"], None);
        let list: Value = serde_json::from_slice(&list.stdout).unwrap();
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == who)
            .unwrap_or_else(|| panic!("{list:#}"));
        assert_eq!(row["scopes_missing"], serde_json::json!([]), "{row:#}");
        assert_eq!(row["has_refresh_token"], true, "{row:#}");
        let text = env.run(&["status", who], None);
        assert!(
            !String::from_utf8_lossy(&text.stdout).contains("offline_access"),
            "{}",
            String::from_utf8_lossy(&text.stdout)
        );
    }
}

/// Another local user can read the authorize link (it is in the process list) and sign in as
/// themselves: the sign-in comes back as another account than `--login-hint`.
fn connect_as_someone_else(env: &Env, extra: &[&str]) -> (Output, Value) {
    let mut c = env.cmd();
    c.args([
        "--json",
        "connect",
        "--no-browser",
        "--app",
        "desktop",
        "--login-hint",
        "alice@contoso.test",
    ])
    .args(extra)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("open: ").unwrap().to_owned();
    assert!(url.contains("login_hint=alice%40contoso.test"), "{url}");
    let page = mailconn_testkit::browse(&url.replace(
        "login_hint=alice%40contoso.test",
        "login_hint=bob%40contoso.test",
    ));
    assert!(page.status < 500, "{}", page.body);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stdout = rest.into_bytes();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, json)
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn a_sign_in_as_another_account_than_the_hint_is_refused_unless_accepted() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &["--preset", "read"]);

    let (out, json) = connect_as_someone_else(&env, &[]);
    assert_eq!(out.status.code(), Some(2), "{json:#} {}", stderr(&out));
    assert_eq!(json["error"]["code"], "conflict", "{json:#}");
    assert_eq!(json["error"]["detail"]["field"], "login_hint");
    assert_eq!(
        json["error"]["message"],
        "The sign-in was started for alice@contoso.test, but bob@contoso.test signed in. Nothing was saved."
    );
    assert!(
        json["error"]["detail"]["fix"]
            .as_str()
            .unwrap()
            .contains("--accept-other-account"),
        "{json:#}"
    );
    let list: Value = serde_json::from_slice(&env.run(&["--json", "list"], None).stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0, "nothing saved: {list:#}");

    let (out, json) = connect_as_someone_else(&env, &["--accept-other-account"]);
    assert!(out.status.success(), "{json:#} {}", stderr(&out));
    assert_eq!(json["address"], "bob@contoso.test");
    let list: Value = serde_json::from_slice(&env.run(&["--json", "list"], None).stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list:#}");
}
