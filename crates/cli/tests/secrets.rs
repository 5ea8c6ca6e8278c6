//! Client-secret rotation and end dates against the local identity provider, the Graph stand-in
//! and the real keychain: a wrong new secret changes nothing; the right one is swapped in, every
//! connection is re-verified and the old secret is never sent again (the provider's log says
//! which secret each request used); an expired secret is found, reminded of and rotated away;
//! Graph's `passwordCredentials` give the end date (and a 403 without permission keeps the
//! manual one); in-app rotation through `addPassword` / `removePassword`; registrations without
//! an organisation verify by refreshing a connection; `kill -9` at random moments of a rotation
//! leaves a working secret. Run through `scripts/test.sh`.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Env, secret_tool_lookup, stderr};
use mailconn_testkit::graph::Graph;
use serde_json::{Value, json};

const OLD_HINT: &str = "Wq1";
const NEW_HINT: &str = "Rt2";

fn json_out(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

/// The confidential `web` app in Contoso (its home tenant) with its first secret, Graph at `graph`.
fn add_web(env: &Env, graph: &str, expires: &str) -> String {
    let client_id = env.idp.fixture("/clients/web/client_id");
    let out = env.run(
        &[
            "--json",
            "app",
            "add",
            "--name",
            "web",
            "--client-id",
            &client_id,
            "--tenant",
            "contoso.test",
            "--authority-url",
            &env.idp.base,
            "--graph-url",
            graph,
            "--audience",
            "any-org",
            "--secret-stdin",
            "--secret-expires",
            expires,
        ],
        Some(&env.web_secret()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    json_out(&out)["id"].as_str().unwrap().to_owned()
}

fn second_secret(env: &Env) -> String {
    env.idp.fixture("/clients/web/secrets/1/value")
}

fn stored_secret(app_id: &str) -> Option<String> {
    secret_tool_lookup(&format!("client-secret/{app_id}"))
}

fn rotate(env: &Env, secret: &str, expires: &str) -> std::process::Output {
    env.run(
        &[
            "--json",
            "app",
            "rotate-secret",
            "web",
            "--secret-stdin",
            "--expires",
            expires,
        ],
        Some(secret),
    )
}

fn web_token_hints(env: &Env) -> Vec<String> {
    let client = env.idp.fixture("/clients/web/client_id");
    env.idp
        .token_requests()
        .into_iter()
        .filter(|e| e["client_id"] == client.as_str())
        .map(|e| e["secret_hint"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn set_roles(env: &Env, roles: &[&str]) {
    let client = env.idp.fixture("/clients/web/client_id");
    env.idp.post(
        &format!("/_control/clients/{client}/roles"),
        &json!({"tenant": "contoso.test", "roles": roles}),
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn a_wrong_secret_changes_nothing_and_the_right_one_replaces_the_old_everywhere() {
    let env = Env::new(&[]);
    let id = add_web(&env, "http://127.0.0.1:9", "2099-01-01");
    let mut connections = Vec::new();
    for a in ["alice@contoso.test", "bob@contoso.test"] {
        let (out, json) = env.connect("web", a);
        assert!(out.status.success(), "{}", stderr(&out));
        connections.push(json["id"].as_str().unwrap().to_owned());
    }
    let old = env.web_secret();

    // The Secret ID instead of the value: refused before any request.
    let key_id = env.idp.fixture("/clients/web/secrets/1/keyId");
    let out = rotate(&env, &key_id, "2099-06-30");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        json_out(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Secret ID"),
        "{}",
        json_out(&out)
    );
    // A value Microsoft does not know: the verification fails, nothing changes.
    env.idp.delete("/_control/log");
    let out = rotate(
        &env,
        "Zz99Q~not.a.secret.of.this.app.at.all00",
        "2099-06-30",
    );
    assert!(!out.status.success());
    let err = json_out(&out);
    assert_eq!(err["error"]["detail"]["aadsts"], 7000215, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was changed"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("not.a.secret"),
        "the value is never echoed"
    );
    assert_eq!(stored_secret(&id).as_deref(), Some(old.as_str()));
    let show = json_out(&env.run(&["--json", "app", "show", "web"], None));
    assert_eq!(show["secret_hint"], OLD_HINT);
    assert_eq!(show["secret_expires"], "2099-01-01");
    assert_eq!(
        web_token_hints(&env),
        ["Zz9"],
        "only the verification was sent"
    );

    // The right one: verified, swapped, every connection refreshed with it.
    env.idp.delete("/_control/log");
    let out = rotate(&env, &second_secret(&env), "2099-06-30");
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(report["verified_by"], "client_credentials");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["old_hint"], OLD_HINT);
    assert_eq!(report["registration"]["secret_hint"], NEW_HINT);
    assert_eq!(report["registration"]["secret_expires"], "2099-06-30");
    let checked: Vec<&str> = report["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["ok"], true, "{c}");
            assert_eq!(c["state"], "active", "{c}");
            c["connection_id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(checked.len(), 2);
    assert!(connections.iter().all(|c| checked.contains(&c.as_str())));
    assert_eq!(
        stored_secret(&id).as_deref(),
        Some(second_secret(&env).as_str())
    );
    assert_eq!(
        stored_secret(&format!("{id}.next")),
        None,
        "no staging entry left"
    );
    let hints = web_token_hints(&env);
    assert_eq!(
        hints.len(),
        4,
        "verification, two refreshes, the app-only token to list the secrets: {hints:?}"
    );
    assert!(hints.iter().all(|h| h == NEW_HINT), "{hints:?}");

    old_secret_can_be_deleted(&env);
}

/// Deletes the old secret at the identity provider: refreshes and the test still work, and
/// every request sends the new secret.
fn old_secret_can_be_deleted(env: &Env) {
    let client = env.idp.fixture("/clients/web/client_id");
    let old_key = env.idp.fixture("/clients/web/secrets/0/keyId");
    env.idp
        .delete(&format!("/_control/clients/{client}/secrets/{old_key}"));
    env.idp.delete("/_control/log");
    let out = env.run(&["refresh", "--all"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env.run(&["app", "test", "web"], None).status.success());
    let hints = web_token_hints(env);
    assert!(
        !hints.is_empty() && hints.iter().all(|h| h == NEW_HINT),
        "{hints:?}"
    );
    assert!(
        !common::dir_contains(&env.data(), &second_secret(env)),
        "the secret is in no file of the data directory (database, logs)"
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn an_expired_secret_is_reminded_and_rotation_brings_every_connection_back() {
    let env = Env::new(&[]);
    add_web(&env, "http://127.0.0.1:9", "2099-01-01");
    for a in ["alice@contoso.test", "bob@contoso.test"] {
        let (out, _) = env.connect("web", a);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = env.run(&["reminders"], None);
    assert_eq!(out.status.code(), Some(0), "nothing due in 2099");

    let client = env.idp.fixture("/clients/web/client_id");
    let key = env.idp.fixture("/clients/web/secrets/0/keyId");
    env.idp.post(
        &format!("/_control/clients/{client}/secrets/{key}/expire"),
        &json!({}),
    );
    let out = env.run(&["refresh", "alice@contoso.test"], None);
    assert!(!out.status.success());
    let out = env.run(&["--json", "reminders"], None);
    assert_eq!(out.status.code(), Some(1), "a refused secret is urgent");
    let list = json_out(&out);
    assert_eq!(list[0]["kind"], "rejected", "{list}");
    assert_eq!(list[0]["connections_broken"], 2, "{list}");
    let text = String::from_utf8_lossy(&env.run(&["reminders"], None).stdout).into_owned();
    assert!(
        text.contains("Microsoft refuses the client secret of \"web\"")
            && text.contains("rotate-secret"),
        "{text}"
    );

    let out = rotate(&env, &second_secret(&env), "2099-06-30");
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_out(&out);
    for c in report["connections"].as_array().unwrap() {
        assert_eq!(c["state"], "active", "{c}");
    }
    let status = json_out(&env.run(&["--json", "status"], None));
    for c in status.as_array().unwrap() {
        assert_eq!(c["state"], "active", "{c}");
    }
    assert_eq!(env.run(&["reminders"], None).status.code(), Some(0));

    // Within seven days: exit code 1 for cron and monitoring.
    let soon = (chrono::Utc::now().date_naive() + chrono::TimeDelta::days(5)).to_string();
    let out = env.run(&["app", "secret-expires", "web", &soon], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&["--json", "reminders"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_out(&out)[0]["days_left"], 5);
    assert_eq!(json_out(&out)[0]["threshold"], 7);
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn graph_gives_the_end_date_by_hint_and_a_403_keeps_the_manual_date() {
    let env = Env::new(&[]);
    let graph = Graph::start(&env.idp);
    add_web(&env, graph.base(), "2098-12-01");

    // Default roles: no Application.Read.All.
    let out = env.run(&["--json", "app", "secrets", "web"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let answer = json_out(&out);
    assert_eq!(answer["graph_read"], false, "{answer}");
    assert_eq!(answer["graph_error"]["code"], "needs_consent", "{answer}");
    assert!(
        answer["graph_error"]["message"]
            .as_str()
            .unwrap()
            .contains("Application.Read.All"),
        "{answer}"
    );
    assert_eq!(answer["secret_expires"], "2098-12-01", "manual date kept");
    let text =
        String::from_utf8_lossy(&env.run(&["app", "secrets", "web"], None).stdout).into_owned();
    assert!(text.contains("Graph could not list"), "{text}");

    set_roles(&env, &["Application.Read.All"]);
    let answer = json_out(&env.run(&["--json", "app", "secrets", "web"], None));
    assert_eq!(answer["graph_read"], true, "{answer}");
    let creds = answer["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 2, "{answer}");
    let stored: Vec<&Value> = creds.iter().filter(|c| c["stored"] == true).collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["hint"], OLD_HINT);
    assert_eq!(
        stored[0]["key_id"],
        env.idp.fixture("/clients/web/secrets/0/keyId").as_str()
    );
    assert_eq!(answer["secret_expires"], "2099-01-01", "Graph's end date");
    assert_eq!(answer["expires_updated"], true);
    let show = json_out(&env.run(&["--json", "app", "show", "web"], None));
    assert_eq!(show["secret_expires"], "2099-01-01");
    assert!(creds.iter().all(|c| c.get("secretText").is_none()));
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn in_app_rotation_creates_the_new_secret_and_removes_the_old_through_graph() {
    let env = Env::new(&[]);
    let graph = Graph::start(&env.idp);
    let id = add_web(&env, graph.base(), "2099-01-01");
    let (out, _) = env.connect("web", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));

    // Without the permission Graph refuses and nothing changes.
    let out = env.run(
        &["--json", "app", "rotate-secret", "web", "--via-graph"],
        None,
    );
    assert!(!out.status.success());
    assert_eq!(json_out(&out)["error"]["code"], "needs_consent");
    assert_eq!(
        stored_secret(&id).as_deref(),
        Some(env.web_secret().as_str())
    );

    set_roles(&env, &["Application.ReadWrite.OwnedBy"]);
    let client = env.idp.fixture("/clients/web/client_id");
    let old_key = env.idp.fixture("/clients/web/secrets/0/keyId");
    let out = env.run(
        &[
            "--json",
            "app",
            "rotate-secret",
            "web",
            "--via-graph",
            "--expires",
            "2027-06-30",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["old_removed"], true, "{report}");
    assert_eq!(report["old_credential"]["key_id"], old_key.as_str());
    assert_eq!(report["registration"]["secret_expires"], "2027-06-30");
    let stored = stored_secret(&id).unwrap();
    assert_ne!(stored, env.web_secret());
    let listed = env.idp.get(&format!("/_control/clients/{client}/secrets"));
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["keyId"].as_str().unwrap())
        .collect();
    assert!(!keys.contains(&old_key.as_str()), "{listed}");
    assert_eq!(keys.len(), 2, "the second fixture secret and the new one");
    env.idp.delete("/_control/log");
    assert!(env.run(&["refresh", "--all"], None).status.success());
    let hint: String = stored.chars().take(3).collect();
    assert!(web_token_hints(&env).iter().all(|h| *h == hint));
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn kill_9_during_rotation_leaves_the_old_or_the_new_secret_working() {
    let env = Env::new(&[]);
    let id = add_web(&env, "http://127.0.0.1:9", "2099-01-01");
    let (out, _) = env.connect("web", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    let secrets = [env.web_secret(), second_secret(&env)];
    let binary = env!("CARGO_BIN_EXE_mailconn");
    let (mut kept, mut swapped) = (0, 0);
    for cycle in 0..24u64 {
        let before = stored_secret(&id).expect("a secret is always stored");
        let target = secrets.iter().find(|s| **s != before).unwrap().clone();
        let mut child = Command::new(binary)
            .arg("--data-dir")
            .arg(env.data())
            .args([
                "app",
                "rotate-secret",
                "web",
                "--secret-stdin",
                "--expires",
                "2099-06-30",
            ])
            .env_remove("MAILCONN_KEYCHAIN")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), target.as_bytes()).unwrap();
        // Spread the kills over start-up, the verification, the keychain swap and the refresh.
        let delay = (cycle * 7919 + 13) % 900;
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let after = stored_secret(&id).expect("a secret is stored after a kill");
        assert!(secrets.contains(&after), "cycle {cycle}: an unknown value");
        if after == before {
            kept += 1;
        } else {
            swapped += 1;
        }
        let test = env.test_app("web");
        assert_eq!(test["ok"], true, "cycle {cycle}: {test}");
    }
    assert!(kept > 0 && swapped > 0, "kept {kept}, swapped {swapped}");
    let out = env.run(&["--json", "refresh", "--all"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn without_an_organisation_the_new_secret_is_verified_by_refreshing_a_connection() {
    let env = Env::new(&[]);
    // On "common" with only a personal account, no app-only token can be asked for.
    env.add_app("web", "web", "common", Some(&env.web_secret()), &[]);
    let show = json_out(&env.run(&["--json", "app", "show", "web"], None));
    let id = show["id"].as_str().unwrap().to_owned();
    let (out, json) = env.connect("web", "carol@outlook.test");
    assert!(out.status.success(), "{}", stderr(&out));
    let carol = json["id"].as_str().unwrap().to_owned();

    env.idp.delete("/_control/log");
    let out = rotate(
        &env,
        "Zz99Q~not.a.secret.of.this.app.at.all00",
        "2099-06-30",
    );
    assert!(!out.status.success());
    assert_eq!(
        stored_secret(&id).as_deref(),
        Some(env.web_secret().as_str())
    );
    let grants: Vec<String> = env
        .idp
        .token_requests()
        .iter()
        .map(|e| e["grant_type"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(grants, ["refresh_token"], "verified by a refresh");
    let status = json_out(&env.run(&["--json", "status", &carol], None));
    assert_eq!(
        status["state"], "active",
        "a failed verification changes nothing: {status}"
    );

    let out = rotate(&env, &second_secret(&env), "2099-06-30");
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(report["verified_by"], "refresh", "{report}");
    assert_eq!(report["connections"][0]["connection_id"], carol.as_str());
    assert_eq!(report["connections"][0]["ok"], true, "{report}");
    assert_eq!(
        stored_secret(&id).as_deref(),
        Some(second_secret(&env).as_str())
    );
    assert!(web_token_hints(&env).iter().skip(1).all(|h| h == NEW_HINT));
}
