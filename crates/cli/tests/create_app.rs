//! `mailconn app create` against the test identity provider and the Graph stand-in: an
//! administrator signs in with Microsoft Graph Command Line Tools, the app registration is
//! created in Graph (which makes it a real client of the identity provider), saved, tested, and
//! then used to connect a mailbox. Run through `scripts/test.sh` (Node, a private Secret Service).
#![allow(
    clippy::too_many_lines,
    reason = "each test is one scenario, told step by step"
)]

mod common;

use common::*;
use mailconn_testkit::graph::Graph;
use serde_json::{Value, json};
use std::process::{Command, Output};

struct Stage {
    env: Env,
    graph: Graph,
}

fn stage() -> Stage {
    let env = Env::new(&[]);
    let graph = Graph::start(&env.idp);
    Stage { env, graph }
}

impl Stage {
    fn create_cmd(&self, admin: &str, args: &[&str]) -> Command {
        let mut c = self.env.cmd();
        c.args([
            "--json",
            "app",
            "create",
            "--authority-url",
            &self.env.idp.base,
            "--graph-url",
            self.graph.base(),
            "--no-browser",
            "--login-hint",
            admin,
        ])
        .args(args);
        c
    }

    /// Runs `app create` and plays the administrator's browser.
    fn create(&self, admin: &str, args: &[&str]) -> (Output, Value) {
        run_with_browser(self.create_cmd(admin, args))
    }

    fn created(&self) -> Value {
        self.graph.control_get("/created")
    }
}

fn ok(out: &Output, json: &Value) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}\nstdout: {json:#}",
        stderr(out)
    );
}

#[test]
#[ignore = "needs the test identity provider and Graph stand-in (node) and a Secret Service: run scripts/test.sh"]
fn desktop_apps_for_each_audience_are_created_tested_and_connect_a_mailbox() {
    let s = stage();
    let contoso = s.env.idp.fixture("/tenants/contoso/id");
    for (audience, tenant) in [
        ("my-org", contoso.as_str()),
        ("any-org", "organizations"),
        ("any-org-personal", "common"),
    ] {
        let name = format!("desktop {audience}");
        let (out, created) = s.create(
            "alice@contoso.test",
            &[
                "--name",
                &name,
                "--public",
                "--audience",
                audience,
                "--preset",
                "read",
            ],
        );
        ok(&out, &created);
        let log = stderr(&out);
        assert!(
            log.contains("Plan: a Mobile and desktop applications app"),
            "{log}"
        );
        assert!(log.contains("Signed in as alice@contoso.test"), "{log}");
        let reg = &created["registration"];
        assert_eq!(reg["name"], name.as_str());
        assert_eq!(reg["kind"], "public");
        assert_eq!(reg["tenant"], tenant, "{created:#}");
        assert_eq!(reg["client_id"], created["client_id"]);
        assert_eq!(reg["has_secret"], false);
        assert_eq!(created["tenant_id"], contoso.as_str());
        assert_eq!(created["secret"], Value::Null);
        assert_eq!(created["test"]["ok"], true, "{created:#}");
        let steps: Vec<&str> = created["test"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert!(steps.contains(&"Client ID"), "{steps:?}");
        assert_eq!(
            created["consent"]["granted"], false,
            "not asked: {created:#}"
        );
        assert_eq!(created["consent"]["needed"], false);

        // Exactly what the wizard would have had the admin click.
        let client_id = created["client_id"].as_str().unwrap();
        let apps = s.created();
        let app = apps["applications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["appId"] == client_id)
            .unwrap()
            .clone();
        assert_eq!(app["displayName"], name.as_str());
        assert_eq!(
            app["signInAudience"],
            match audience {
                "my-org" => "AzureADMyOrg",
                "any-org" => "AzureADMultipleOrgs",
                _ => "AzureADandPersonalMicrosoftAccount",
            }
        );
        assert_eq!(
            app["publicClient"]["redirectUris"],
            json!(["http://localhost"])
        );
        assert_eq!(app["web"]["redirectUris"], json!([]));
        assert_eq!(app["isFallbackPublicClient"], true);
        let access = &app["requiredResourceAccess"][0];
        assert_eq!(
            access["resourceAppId"],
            "00000003-0000-0000-c000-000000000000"
        );
        assert!(
            access["resourceAccess"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == "570282fd-fa5c-430d-a7fd-fc8dc98a9dca" && a["type"] == "Scope"),
            "Mail.Read: {access}"
        );
        assert!(
            apps["service_principals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|sp| sp["appId"] == client_id)
        );
    }

    // The created app connects a mailbox like any pasted one.
    let (out, connected) = s.env.connect("desktop my-org", "bob@contoso.test");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(connected["address"], "bob@contoso.test", "{connected:#}");

    // The admin's token was asked without offline_access and never stored.
    let graph_cli = s.env.idp.fixture("/clients/graph_cli/client_id");
    for entry in s.env.idp.log() {
        if entry["client_id"] == graph_cli.as_str() && entry["endpoint"] == "authorize" {
            let scope = entry["scope"].as_str().unwrap_or_default();
            assert!(!scope.contains("offline_access"), "{entry}");
            assert!(scope.contains("Application.ReadWrite.All"), "{entry}");
            assert!(
                !scope.contains("AppRoleAssignment"),
                "no consent asked: {entry}"
            );
        }
    }
}

#[test]
#[ignore = "needs the test identity provider and Graph stand-in (node) and a Secret Service: run scripts/test.sh"]
fn web_apps_get_a_secret_in_the_keychain_and_consent_in_app_or_by_link() {
    let s = stage();
    let contoso = s.env.idp.fixture("/tenants/contoso/id");
    for (audience, tenant) in [
        ("my-org", contoso.as_str()),
        ("any-org", "organizations"),
        ("any-org-personal", "common"),
    ] {
        let name = format!("web {audience}");
        let (out, created) = s.create(
            "alice@contoso.test",
            &[
                "--name",
                &name,
                "--audience",
                audience,
                "--secret-months",
                "6",
            ],
        );
        ok(&out, &created);
        let reg = &created["registration"];
        assert_eq!(reg["kind"], "confidential");
        assert_eq!(reg["tenant"], tenant);
        assert_eq!(reg["has_secret"], true);
        let expires = created["secret"]["expires"].as_str().unwrap();
        assert_eq!(reg["secret_expires"], expires, "recorded for the reminders");
        let days = (chrono::NaiveDate::parse_from_str(expires, "%Y-%m-%d").unwrap()
            - chrono::Utc::now().date_naive())
        .num_days();
        assert!((180..=186).contains(&days), "6 months: {days}");
        assert_eq!(created["secret"]["capped_to_days"], Value::Null);
        let app = s.created()["applications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["appId"] == created["client_id"])
            .unwrap()
            .clone();
        assert_eq!(
            app["web"]["redirectUris"],
            json!(["http://localhost/callback"])
        );
        assert_eq!(app["publicClient"]["redirectUris"], json!([]));
        assert!(app.get("isFallbackPublicClient") == Some(&json!(false)));
        // The value is in the keychain, under the registration, and nowhere in the output.
        let id = reg["id"].as_str().unwrap();
        let value = secret_tool_lookup(&format!("client-secret/{id}")).expect("secret stored");
        assert!(value.starts_with(created["secret"]["hint"].as_str().unwrap()));
        assert!(!String::from_utf8_lossy(&out.stdout).contains(&value));
        assert!(!stderr(&out).contains(&value));
        assert!(
            !dir_contains(&s.env.data(), &value),
            "never in the data dir"
        );
        assert_eq!(created["test"]["ok"], true, "{created:#}");
    }
    // For one organisation the test proves the new secret at the token endpoint.
    let my_org = s.env.test_app("web my-org");
    assert_eq!(my_org["steps"][1]["status"], "passed", "{my_org:#}");

    // Application access with consent granted here: one delegated grant, one role per permission.
    let (out, created) = s.create(
        "alice@contoso.test",
        &[
            "--name",
            "archiver",
            "--usage",
            "both",
            "--audience",
            "my-org",
            "--grant-consent",
        ],
    );
    ok(&out, &created);
    let consent = &created["consent"];
    assert_eq!(consent["granted"], true, "{created:#}");
    assert_eq!(consent["needed"], true);
    assert_eq!(
        consent["application"],
        json!(["Mail.ReadWrite", "Mail.Send", "User.Read.All"])
    );
    assert!(
        consent["delegated"]
            .as_array()
            .unwrap()
            .contains(&json!("Mail.ReadWrite"))
    );
    let objects = s.created();
    let sp = created["service_principal_id"].as_str().unwrap();
    let grant = objects["oauth2_permission_grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["clientId"] == sp)
        .expect("delegated grant")
        .clone();
    assert_eq!(grant["consentType"], "AllPrincipals");
    assert!(grant["scope"].as_str().unwrap().contains("Mail.ReadWrite"));
    let roles: Vec<_> = objects["app_role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["principalId"] == sp)
        .map(|a| a["appRoleId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(roles.len(), 3, "{objects:#}");
    assert!(roles.contains(&"e2a3a72e-5f79-4c64-b1b1-878b674786c9".to_owned()));
    let log = stderr(&out);
    assert!(log.contains("Admin consent granted"), "{log}");
    for entry in s.env.idp.log() {
        if entry["endpoint"] == "authorize" && entry["login_hint"] == "alice@contoso.test" {
            let scope = entry["scope"].as_str().unwrap_or_default();
            if scope.contains("Application.ReadWrite.All") && scope.contains("AppRoleAssignment") {
                assert!(
                    scope.contains("DelegatedPermissionGrant.ReadWrite.All"),
                    "{entry}"
                );
            }
        }
    }
    // The app's own token carries the granted roles.
    let check = s
        .env
        .run(&["--json", "mailbox", "check", "--app", "archiver"], None);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));

    // Without consent here, the admin consent link is handed over, and it works.
    let (out, created) = s.create(
        "alice@contoso.test",
        &[
            "--name",
            "later",
            "--usage",
            "application",
            "--audience",
            "my-org",
        ],
    );
    ok(&out, &created);
    let consent = &created["consent"];
    assert_eq!(consent["granted"], false);
    assert_eq!(consent["needed"], true);
    assert!(
        consent["message"]
            .as_str()
            .unwrap()
            .contains("admin consent link")
    );
    let link = consent["admin_consent_url"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/{contoso}/v2.0/adminconsent?", s.env.idp.base)),
        "{link}"
    );
    assert!(link.contains(created["client_id"].as_str().unwrap()));
    // The administrator's browser ends at the app's redirect URI with Microsoft's answer.
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut at = format!("{link}&login_hint=alice@contoso.test");
    let landed = loop {
        let r = http.get(&at).send().unwrap();
        let next = r.headers()["location"].to_str().unwrap().to_owned();
        let next = url::Url::parse(&at)
            .unwrap()
            .join(&next)
            .unwrap()
            .to_string();
        if next.starts_with("http://localhost/callback") {
            break next;
        }
        at = next;
    };
    assert!(landed.contains("admin_consent=True"), "{landed}");
}

#[test]
#[ignore = "needs the test identity provider and Graph stand-in (node) and a Secret Service: run scripts/test.sh"]
fn refusals_are_explained_and_nothing_is_saved() {
    let s = stage();
    // "Users can register applications" is off, and bob has no role.
    s.graph.control_post(
        "/tenant-settings",
        &json!({"tenant": "contoso.test", "users_can_register_apps": false}),
    );
    let (out, body) = s.create("bob@contoso.test", &["--name", "mine", "--public"]);
    assert_ne!(out.status.code(), Some(0));
    let e = &body["error"];
    assert_eq!(
        e["detail"]["graph_error"], "Authorization_RequestDenied",
        "{body:#}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("creating the app registration"),
        "{body:#}"
    );
    let fix = e["detail"]["fix"].as_str().unwrap();
    assert!(fix.contains("Users can register applications"), "{fix}");
    assert!(fix.contains("Application Developer"), "{fix}");
    assert!(fix.contains("manual wizard"), "{fix}");
    assert!(e["detail"]["request_id"].is_string());
    assert_eq!(s.created()["applications"], json!([]));
    let list = s.env.run(&["--json", "app", "list"], None);
    assert_eq!(
        serde_json::from_slice::<Value>(&list.stdout).unwrap(),
        json!([])
    );

    // The admin may; consent is refused to a non-admin but the app is kept with the link.
    s.graph.control_post(
        "/tenant-settings",
        &json!({"tenant": "contoso.test", "users_can_register_apps": true}),
    );
    let (out, created) = s.create(
        "bob@contoso.test",
        &[
            "--name",
            "bob's",
            "--usage",
            "both",
            "--audience",
            "my-org",
            "--grant-consent",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(created["consent"]["granted"], false, "{created:#}");
    assert!(
        created["consent"]["message"]
            .as_str()
            .unwrap()
            .contains("admin consent was not granted"),
        "{created:#}"
    );
    assert_eq!(
        created["consent"]["error"]["detail"]["graph_error"],
        "Authorization_RequestDenied"
    );
    assert!(created["consent"]["admin_consent_url"].is_string());

    // Conditional Access blocks the Graph command-line client.
    s.env.idp.post(
        "/_control/faults",
        &json!({"endpoint": "token", "mode": "aadsts", "code": 53003, "error": "access_denied", "message": "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.", "count": 1}),
    );
    let (out, body) = s.create("alice@contoso.test", &["--name", "blocked", "--public"]);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(body["error"]["detail"]["aadsts"], 53003, "{body:#}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Conditional Access blocks Microsoft Graph Command Line Tools")
    );
    assert!(
        body["error"]["detail"]["fix"]
            .as_str()
            .unwrap()
            .contains("14d82eec-204b-4c2f-b7e8-296a70dab67e")
    );

    // The Graph command-line client is not offered in this cloud or tenant (sovereign clouds,
    // or disabled by an administrator).
    s.env.idp.post(
        "/_control/faults",
        &json!({"endpoint": "token", "mode": "aadsts", "code": 700016, "error": "unauthorized_client", "message": "Application with identifier '14d82eec-204b-4c2f-b7e8-296a70dab67e' was not found in the directory.", "count": 1}),
    );
    let (out, body) = s.create("alice@contoso.test", &["--name", "elsewhere", "--public"]);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(body["error"]["detail"]["aadsts"], 700016, "{body:#}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not available in this tenant or cloud"),
        "{body:#}"
    );
    assert!(
        body["error"]["detail"]["fix"]
            .as_str()
            .unwrap()
            .contains("manual wizard")
    );

    // A personal account has no directory.
    let (out, body) = s.create(
        "carol@outlook.test",
        &["--name", "mine", "--public", "--tenant", "common"],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("personal Microsoft account"),
        "{body:#}"
    );
    assert!(
        body["error"]["detail"]["fix"]
            .as_str()
            .unwrap()
            .contains("Microsoft 365 developer tenant")
    );
    // ... also when it signs in where only organisations may.
    let (out, body) = s.create("carol@outlook.test", &["--name", "mine", "--public"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("personal Microsoft account"),
        "{body:#}"
    );

    // A name already saved here is refused before any sign-in.
    let out = s.env.run(
        &[
            "app",
            "create",
            "--name",
            "BOB'S",
            "--public",
            "--authority-url",
            &s.env.idp.base,
            "--graph-url",
            s.graph.base(),
            "--no-browser",
        ],
        None,
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("already saved here"),
        "{}",
        stderr(&out)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("open: "));

    // Choices that could never be saved are refused before any sign-in.
    let out = s.env.run(
        &[
            "app",
            "create",
            "--name",
            "x",
            "--public",
            "--cloud",
            "gcc-high",
            "--audience",
            "any-org-personal",
        ],
        None,
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("Personal Microsoft accounts"),
        "{}",
        stderr(&out)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("open: "));
}

#[test]
#[ignore = "needs the test identity provider and Graph stand-in (node) and a Secret Service: run scripts/test.sh"]
fn a_secret_lifetime_policy_caps_the_secret_and_replication_is_waited_for() {
    let s = stage();
    s.graph.control_post(
        "/tenant-settings",
        &json!({"tenant": "contoso.test", "max_password_lifetime_days": 90}),
    );
    s.graph
        .control_post("/replication", &json!({"delay_ms": 4000}));
    let (out, created) = s.create(
        "alice@contoso.test",
        &[
            "--name",
            "capped",
            "--audience",
            "my-org",
            "--secret-months",
            "12",
        ],
    );
    ok(&out, &created);
    let secret = &created["secret"];
    assert_eq!(secret["requested_months"], 12);
    assert_eq!(secret["capped_to_days"], 90, "{created:#}");
    let expires =
        chrono::NaiveDate::parse_from_str(secret["expires"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let days = (expires - chrono::Utc::now().date_naive()).num_days();
    assert!((89..=91).contains(&days), "{days}");
    assert_eq!(created["registration"]["secret_expires"], secret["expires"]);
    let log = stderr(&out);
    assert!(
        log.contains("does not allow 12 months, and 90 days is the longest it accepted"),
        "{log}"
    );
    // Microsoft did not know the app at first: the test waited and then passed.
    assert!(log.contains("Waiting for Microsoft"), "{log}");
    assert!(
        created["waited_seconds"].as_u64().unwrap() >= 3,
        "{created:#}"
    );
    assert_eq!(created["test"]["ok"], true, "{created:#}");
    let refused = s
        .graph
        .log()
        .into_iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .unwrap_or_default()
                .ends_with("/addPassword")
                && e["error_code"] == "CredentialInvalidLifetimeAsPerAppPolicy"
        })
        .count();
    assert!(refused >= 2, "365 and 180 days refused before 90");

    // A desktop app waits too (its client ID proven by a device code request).
    let (out, created) = s.create(
        "alice@contoso.test",
        &["--name", "slow desktop", "--public", "--audience", "my-org"],
    );
    ok(&out, &created);
    assert!(stderr(&out).contains("AADSTS700016"), "{}", stderr(&out));
    assert_eq!(created["test"]["ok"], true, "{created:#}");
}

#[test]
#[ignore = "needs the test identity provider and Graph stand-in (node) and a Secret Service: run scripts/test.sh"]
fn the_plan_is_shown_whole_and_device_code_works() {
    let s = stage();
    let out = s.env.run(
        &[
            "app",
            "create",
            "--name",
            "Planned",
            "--usage",
            "both",
            "--grant-consent",
            "--plan",
            "--authority-url",
            &s.env.idp.base,
            "--graph-url",
            s.graph.base(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("POST /v1.0/applications"), "{text}");
    assert!(
        text.contains("\"signInAudience\": \"AzureADandPersonalMicrosoftAccount\""),
        "{text}"
    );
    assert!(text.contains("POST /v1.0/oauth2PermissionGrants"), "{text}");
    assert!(text.contains("appRoleAssignedTo"), "{text}");
    assert!(text.contains("AppRoleAssignment.ReadWrite.All"), "{text}");
    assert_eq!(s.created()["applications"], json!([]), "nothing created");

    // Device code: the code is printed, the admin approves it elsewhere.
    let mut c = s.env.cmd();
    c.args([
        "--json",
        "app",
        "create",
        "--name",
        "by code",
        "--public",
        "--device-code",
        "--authority-url",
        &s.env.idp.base,
        "--graph-url",
        s.graph.base(),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    let code: Value = serde_json::from_str(&line).unwrap();
    s.env.idp.post(
        "/_control/device/approve",
        &json!({"user_code": code["user_code"], "login_hint": "erin@fabrikam.test"}),
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let created: Value = serde_json::from_str(&rest).unwrap();
    assert_eq!(
        created["tenant_id"],
        s.env.idp.fixture("/tenants/fabrikam/id").as_str()
    );
    assert_eq!(created["admin"], "erin@fabrikam.test");
}

/// A stand-in for the Azure CLI (it cannot be installed here): answers `account show` and the
/// calls of the exported script, and logs each call.
fn fake_az(dir: &std::path::Path, signed_in: bool) -> std::path::PathBuf {
    let bin = dir.join("fake-az-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("az.log");
    let script = format!(
        r#"#!/usr/bin/env bash
echo "$*" >> '{log}'
case "$1 $2" in
  "account show")
    {signed_out}
    if [[ "$*" == *"--query tenantId"* ]]; then echo aaaaaaaa-0000-4000-8000-000000000001
    else echo '{{"user": {{"name": "alice@contoso.test"}}, "tenantId": "aaaaaaaa-0000-4000-8000-000000000001"}}'; fi ;;
  "ad app")
    case "$3" in
      create) echo 5a5a5a5a-0000-4000-8000-00000000a2a2 ;;
      permission) echo "WARNING: permission $4 done" >&2 ;;
      credential) echo '{{"expires": "2027-03-01T00:00:00+00:00", "secret_value": "Az18Q~fake.secret.value-printed-once-0001"}}' ;;
    esac ;;
  "ad sp") echo '{{"id": "sp"}}' ;;
esac
"#,
        log = log.display(),
        signed_out = if signed_in {
            ""
        } else {
            "echo \"Please run 'az login' to setup account.\" >&2; exit 1"
        },
    );
    let az = bin.join("az");
    std::fs::write(&az, script).unwrap();
    std::fs::set_permissions(&az, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    bin
}

#[test]
#[ignore = "needs a Secret Service: run scripts/test.sh"]
fn the_exported_script_runs_with_a_signed_in_azure_cli_after_a_yes() {
    let env = Env::new(&[]);
    let path = format!(
        "{}:{}",
        fake_az(env.dir.path(), true).display(),
        std::env::var("PATH").unwrap()
    );
    let args = [
        "app",
        "create",
        "--name",
        "By az",
        "--audience",
        "my-org",
        "--with-az",
    ];

    // Shown in full, nothing run without a yes.
    let no = {
        let mut c = env.cmd();
        c.args(args).env("PATH", &path);
        let mut child = c
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"n\n").unwrap();
        child.wait_with_output().unwrap()
    };
    let shown = stderr(&no);
    assert!(shown.contains("signed in as alice@contoso.test"), "{shown}");
    assert!(
        shown.contains("az ad app create --display-name 'By az' --sign-in-audience AzureADMyOrg"),
        "{shown}"
    );
    assert!(shown.contains("az ad app credential reset"), "{shown}");
    assert!(shown.contains("Nothing was run."), "{shown}");
    let log = std::fs::read_to_string(env.dir.path().join("az.log")).unwrap();
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        ["account show --output json"],
        "only the check ran"
    );

    // After a yes: run, output captured (the secret replaced), the registration saved.
    let mut c = env.cmd();
    c.args(["--json"]).args(args).env("PATH", &path);
    let out = {
        let mut child = c
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"y\n").unwrap();
        child.wait_with_output().unwrap()
    };
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["ok"], true, "{run:#}");
    assert_eq!(run["client_id"], "5a5a5a5a-0000-4000-8000-00000000a2a2");
    let output = run["output"].as_str().unwrap();
    assert!(
        output.contains("WARNING: permission add done"),
        "stderr captured: {output}"
    );
    assert!(
        output.contains("[the secret's value: stored in the keychain]"),
        "{output}"
    );
    let secret = "Az18Q~fake.secret.value-printed-once-0001";
    assert!(!output.contains(secret));
    assert!(!stderr(&out).contains(secret));
    let reg = &run["registration"];
    assert_eq!(reg["client_id"], "5a5a5a5a-0000-4000-8000-00000000a2a2");
    assert_eq!(reg["tenant"], "aaaaaaaa-0000-4000-8000-000000000001");
    assert_eq!(reg["secret_expires"], "2027-03-01");
    let id = reg["id"].as_str().unwrap();
    assert_eq!(
        secret_tool_lookup(&format!("client-secret/{id}")).as_deref(),
        Some(secret)
    );
    let log = std::fs::read_to_string(env.dir.path().join("az.log")).unwrap();
    assert!(
        log.contains("ad sp create --id 5a5a5a5a-0000-4000-8000-00000000a2a2"),
        "{log}"
    );

    // Not signed in: said so, nothing run.
    let env2 = Env::new(&[]);
    let path = format!(
        "{}:{}",
        fake_az(env2.dir.path(), false).display(),
        std::env::var("PATH").unwrap()
    );
    let mut c = env2.cmd();
    c.args(args).arg("--yes").env("PATH", &path);
    let out = c.output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("not signed in: run az login"),
        "{}",
        stderr(&out)
    );
}
