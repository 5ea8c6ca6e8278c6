//! Application access against the local identity provider (`tests/idp`, client credentials with
//! its confidential app) and the Graph stand-in (`tests/graph`): the app-only token and its reuse,
//! refusals explained in plain words, admin consent, and adding organisation and shared mailboxes
//! one by one and fifty at a time with unknown, denied and throttled ones. Run through
//! `scripts/test.sh` (a private Secret Service session, Node for the servers).

mod common;

use std::collections::HashMap;
use std::process::Output;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use common::{Env, dir_contains, stderr};
use mailconn_core::Sensitive;
use mailconn_core::application::AppTokenCache;
use mailconn_core::cloud::CloudId;
use mailconn_core::keychain::MemoryKeychain;
use mailconn_core::registration::{Audience, ClientKind, RegistrationInput, Usage};
use mailconn_core::scopes::Preset;
use mailconn_core::service::registrations as service;
use mailconn_core::store::Store;
use mailconn_testkit::graph::Graph;
use serde_json::{Value, json};

const CONTOSO: &str = "contoso.test";

/// The provider, Graph in front of it, and a data directory.
struct Org {
    env: Env,
    graph: Graph,
}

impl Org {
    fn new(idp_env: &[(&str, &str)]) -> Self {
        let env = Env::new(idp_env);
        let graph = Graph::start(&env.idp);
        Self { env, graph }
    }

    fn web_id(&self) -> String {
        self.env.idp.fixture("/clients/web/client_id")
    }

    /// `mailconn app add` for the provider's confidential app, with Graph at the stand-in.
    fn add_app(&self, name: &str, tenant: &str, usage: &str, secret: &str) -> Output {
        let client_id = self.web_id();
        self.env.run(
            &[
                "app",
                "add",
                "--name",
                name,
                "--client-id",
                &client_id,
                "--tenant",
                tenant,
                "--authority-url",
                &self.env.idp.base,
                "--graph-url",
                self.graph.base(),
                "--usage",
                usage,
                "--secret-stdin",
                "--secret-expires",
                "2099-01-01",
            ],
            Some(secret),
        )
    }

    fn run_json(&self, args: &[&str]) -> (Output, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.env.run(&all, None);
        let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out, json)
    }

    fn client_credentials_requests(&self) -> usize {
        self.env
            .idp
            .token_requests()
            .iter()
            .filter(|r| r["grant_type"] == "client_credentials")
            .count()
    }

    fn control(&self, path: &str, body: &Value) {
        self.env
            .idp
            .post(&format!("/_control/clients/{}/{path}", self.web_id()), body);
    }
}

fn rows_by_address(report: &Value) -> HashMap<String, Value> {
    report["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {report:#}"))
        .iter()
        .map(|r| (r["address"].as_str().unwrap_or("").to_owned(), r.clone()))
        .collect()
}

// ---- the app-only token ------------------------------------------------------------------

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn the_app_token_is_requested_once_and_reused_until_near_expiry() {
    let org = Org::new(&[("IDP_ACCESS_TOKEN_TTL", "4")]);
    let (store, secrets) = (
        Store::open_in_memory().unwrap(),
        Arc::new(MemoryKeychain::new()),
    );
    let input = RegistrationInput {
        name: "org".into(),
        client_id: org.web_id(),
        kind: ClientKind::Confidential,
        tenant: CONTOSO.into(),
        cloud: CloudId::Custom,
        authority_url: Some(org.env.idp.base.clone()),
        graph_url: Some(org.graph.base().to_owned()),
        imap_server: None,
        pop_server: None,
        smtp_server: None,
        usage: Usage::Application,
        audience: Audience::AnyOrganization,
        preset: Preset::Application,
        redirect_uri: None,
        secret: Some(Sensitive::from(org.env.web_secret())),
        secret_expires: NaiveDate::from_ymd_opt(2099, 1, 1),
        secret_label: None,
    };
    let (reg, _) = service::create(&store, secrets.as_ref(), &input, Utc::now()).unwrap();
    let reg = Arc::new(reg);
    let (cache, http) = (
        Arc::new(AppTokenCache::new()),
        mailconn_core::http::client(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let token = |cache: &Arc<AppTokenCache>| {
        let (cache, reg, secrets, http) =
            (cache.clone(), reg.clone(), secrets.clone(), http.clone());
        async move { cache.token(&reg, secrets.as_ref(), &http).await.unwrap() }
    };

    let tokens = rt.block_on(async {
        let calls: Vec<_> = (0..10).map(|_| tokio::spawn(token(&cache))).collect();
        let mut out = Vec::new();
        for c in calls {
            out.push(c.await.unwrap());
        }
        out
    });
    let first = &tokens[0];
    assert!(tokens.iter().all(|t| t.access_token == first.access_token));
    assert_eq!(
        org.client_credentials_requests(),
        1,
        "ten callers at once, one token request"
    );
    assert_eq!(
        first.roles,
        ["Mail.ReadWrite", "Mail.Send", "User.Read.All"]
    );
    assert_eq!(
        first.tenant_id.as_deref(),
        Some("aaaaaaaa-0000-4000-8000-000000000001")
    );
    let lifetime = (first.expires_at - Utc::now()).num_milliseconds();
    assert!((2000..=4000).contains(&lifetime), "{lifetime} ms");

    // Graph takes it.
    let (status, body) = org.graph.get(
        "/v1.0/users/user07@contoso.test?$select=id,displayName",
        first.access_token.expose(),
    );
    assert_eq!(
        (status, body["displayName"].as_str()),
        (200, Some("User 07")),
        "{body}"
    );

    rt.block_on(token(&cache));
    assert_eq!(org.client_credentials_requests(), 1, "reused while fresh");
    // A quarter of the 4 s lifetime before expiry it is renewed.
    std::thread::sleep((first.renew_at - Utc::now()).to_std().unwrap_or_default());
    let second = rt.block_on(token(&cache));
    assert_ne!(second.access_token, first.access_token);
    assert!(second.expires_at > first.expires_at);
    assert_eq!(
        org.client_credentials_requests(),
        2,
        "renewed before expiry"
    );
    assert!(
        org.env
            .idp
            .token_requests()
            .iter()
            .all(|r| r["scope"] == "https://graph.microsoft.com/.default"),
        "scope is Graph's .default"
    );
}

// ---- refusals in plain words ---------------------------------------------------------------

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn a_wrong_secret_and_a_generic_tenant_are_refused_in_plain_words() {
    let org = Org::new(&[]);
    let out = org.add_app(
        "wrong",
        CONTOSO,
        "application",
        "Zz9_Q~this-is-not-the-secret-value-at-all",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (out, json) = org.run_json(&["mailbox", "add", "--app", "wrong", "user01@contoso.test"]);
    assert_eq!(out.status.code(), Some(5), "{json:#}");
    let error = &json["error"];
    assert_eq!(error["detail"]["aadsts"], 7000215, "{json:#}");
    assert_eq!(
        error["message"],
        "The client secret is not valid. (AADSTS7000215)"
    );
    assert!(error["detail"]["fix"].as_str().unwrap().contains("Value"));
    assert!(error["detail"]["trace_id"].is_string());
    assert!(org.graph.log().is_empty(), "Graph was never called");

    // Application access on `common` is refused when the app is added...
    let out = org.add_app("everyone", "common", "application", &org.env.web_secret());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Application access needs your tenant ID"),
        "{}",
        stderr(&out)
    );

    // ...and by `mailbox add` for a sign-in app on `common`, before anything is sent.
    let before = org.client_credentials_requests();
    assert!(
        org.add_app("signin", "common", "delegated", &org.env.web_secret())
            .status
            .success()
    );
    let out = org.env.run(
        &["mailbox", "add", "--app", "signin", "user01@contoso.test"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "Application access cannot use the tenant 'common': it stands for many organisations"
        ),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("Directory (tenant) ID"));
    assert_eq!(
        org.client_credentials_requests(),
        before,
        "no token request for 'common'"
    );

    // A sign-in app on a real tenant is told to allow application access.
    assert!(
        org.add_app(
            "signin-contoso",
            CONTOSO,
            "delegated",
            &org.env.web_secret()
        )
        .status
        .success()
    );
    let out = org.env.run(
        &[
            "mailbox",
            "add",
            "--app",
            "signin-contoso",
            "user01@contoso.test",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("set up for sign-in only"),
        "{}",
        stderr(&out)
    );

    let (_, list) = org.run_json(&["list"]);
    assert_eq!(list, json!([]), "nothing was stored");
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn missing_admin_consent_shows_the_link_and_a_recheck_works_once_an_admin_accepted() {
    let org = Org::new(&[]);
    assert!(
        org.add_app("org", CONTOSO, "application", &org.env.web_secret())
            .status
            .success()
    );
    org.control("consent", &json!({"tenant": CONTOSO, "consented": false}));

    let (out, json) = org.run_json(&["mailbox", "check", "--app", "org"]);
    assert_eq!(out.status.code(), Some(6), "{json:#}");
    assert_eq!(json["error"]["code"], "needs_consent");
    assert_eq!(json["error"]["detail"]["aadsts"], 65001);
    let fix = json["error"]["detail"]["fix"].as_str().unwrap();
    assert!(
        fix.contains("An administrator of the tenant must grant admin consent"),
        "{fix}"
    );
    let link = fix
        .split("Admin consent link: ")
        .nth(1)
        .expect("the link is in the fix")
        .trim();
    let url = url::Url::parse(link).unwrap();
    assert_eq!(url.path(), "/contoso.test/v2.0/adminconsent");
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "client_id" && v == org.web_id())
    );
    let out = org.env.run(
        &["mailbox", "add", "--app", "org", "info@contoso.test"],
        None,
    );
    assert_eq!(out.status.code(), Some(6), "adding stops at once");
    assert!(org.graph.log().is_empty());

    // The administrator opens the link and accepts (the redirect back is not followed).
    let answer = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{link}&state=s1&login_hint=alice%40contoso.test"))
        .send()
        .unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("admin_consent=True"), "{location}");

    let (out, json) = org.run_json(&["mailbox", "check", "--app", "org"]);
    assert_eq!(out.status.code(), Some(0), "{json:#}");
    assert_eq!(json["permissions"]["ok"], true);
    assert_eq!(json["tenant_id"], "aaaaaaaa-0000-4000-8000-000000000001");

    // Fewer permissions: the check names what is missing; adding needs User.Read.All.
    org.control("roles", &json!({"tenant": CONTOSO, "roles": ["Mail.Read"]}));
    let (out, json) = org.run_json(&["mailbox", "check", "--app", "org", "--use", "full"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json["permissions"]["missing"],
        json!(["Mail.ReadWrite", "Mail.Send", "User.Read.All"])
    );
    let read = &json["permissions"]["permissions"][0];
    assert_eq!(
        (read["name"].as_str(), read["granted"].as_bool()),
        (Some("Mail.Read"), Some(true))
    );
    let (out, json) = org.run_json(&["mailbox", "add", "--app", "org", "info@contoso.test"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("User.Read.All"),
        "{json:#}"
    );
    assert!(
        json["error"]["detail"]["fix"]
            .as_str()
            .unwrap()
            .contains("adminconsent")
    );
}

// ---- adding mailboxes ------------------------------------------------------------------------

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn shared_mailboxes_and_a_user_without_a_mailbox() {
    let org = Org::new(&[]);
    assert!(
        org.add_app("org", CONTOSO, "both", &org.env.web_secret())
            .status
            .success()
    );
    let (out, report) = org.run_json(&[
        "mailbox",
        "add",
        "--app",
        "org",
        "Info@Contoso.test",
        "sales@contoso.test, support@contoso.test",
        "nomailbox@contoso.test",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = rows_by_address(&report);
    for (address, name) in [
        ("info@contoso.test", "Info"),
        ("sales@contoso.test", "Sales"),
        ("support@contoso.test", "Support"),
    ] {
        let row = &rows[address];
        assert_eq!(row["status"], "connected", "{row:#}");
        assert!(
            row["display_name"].as_str().unwrap().contains(name),
            "{row:#}"
        );
    }
    // An organisation mailbox has no sign-in: mail programs are pointed at a signed-in one.
    let out = org.env.run(&["use", "info@contoso.test", "msmtp"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("info@contoso.test is reached through application access"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
    let none = &rows["nomailbox@contoso.test"];
    assert_eq!(none["status"], "no_access");
    assert_eq!(
        none["problem"]["detail"]["graph_error"],
        "MailboxNotEnabledForRESTAPI"
    );
    assert!(
        none["problem"]["message"]
            .as_str()
            .unwrap()
            .contains("no Exchange Online mailbox")
    );
    assert!(
        none["problem"]["detail"]["request_id"].is_string(),
        "{none:#}"
    );

    let (_, list) = org.run_json(&["list"]);
    let info = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "info@contoso.test")
        .unwrap();
    assert_eq!(info["kind"], "application");
    assert_eq!(
        info["account_key"], "5a000000-0000-4000-8000-000000000001",
        "the Graph user id"
    );
    assert_eq!(info["preset"], "application");
    assert_eq!(info["has_refresh_token"], false);
    assert_eq!(info["state"], "active");
    assert_eq!(
        info["scopes_granted"],
        json!(["Mail.ReadWrite", "Mail.Send", "User.Read.All"])
    );
    assert_eq!(info["scopes_missing"], json!([]));

    // Text output for a person, then removal.
    let out = org.env.run(
        &["mailbox", "add", "--app", "org", "info@contoso.test"],
        None,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already added"),
        "{}",
        stderr(&out)
    );
    let out = org
        .env
        .run(&["mailbox", "remove", "info@contoso.test"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, list) = org.run_json(&["list"]);
    assert_eq!(list.as_array().unwrap().len(), 3);
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn fifty_mailboxes_with_unknown_denied_and_throttled_ones() {
    let org = Org::new(&[]);
    assert!(
        org.add_app("org", CONTOSO, "application", &org.env.web_secret())
            .status
            .success()
    );
    org.graph
        .access_denied(&["user46@contoso.test", "user47@contoso.test"]);
    // Throttling on both calls of a lookup: the directory and the mailbox itself.
    org.graph.fault(
        &json!({"status": 429, "retry_after": 2, "count": 3, "path": "^/v1\\.0/users/[^/]+$"}),
    );
    org.graph
        .fault(&json!({"status": 429, "retry_after": 1, "count": 2, "path": "/messages$"}));
    // Every other answer takes a moment, as Graph's do: otherwise the stand-in, answering on one
    // thread, can finish each request before the next arrives and parallel lookups look serial.
    org.graph
        .fault(&json!({"delay_ms": 30, "path": "^/v1\\.0/users/"}));

    let mut lines = vec!["Name,Email,Department".to_owned()];
    lines.extend((1..=47).map(|n| format!("User {n:02},user{n:02}@contoso.test,Sales")));
    lines.extend((1..=3).map(|n| format!("Nobody {n},ghost{n}@contoso.test,None")));
    let file = org.env.dir.path().join("mailboxes.csv");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let started = std::time::Instant::now();
    let (out, report) = org.run_json(&[
        "mailbox",
        "add",
        "--app",
        "org",
        "--from-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some need attention: {}",
        stderr(&out)
    );
    assert_eq!(report["rows"].as_array().unwrap().len(), 50);
    assert_eq!(report["connected"], 45, "{report:#}");
    assert_eq!(report["problems"], 5);
    assert_eq!(
        report["summary"],
        "45 mailboxes connected, 5 need attention."
    );

    assert_problem_rows(&report);
    assert_retry_after_honoured(&org.graph.log(), 5);
    assert_concurrency_bounded(&org.graph.log(), 4);
    assert_eq!(
        org.client_credentials_requests(),
        1,
        "one app token for the whole run"
    );
    assert!(
        started.elapsed().as_secs() < 60,
        "took {:?}",
        started.elapsed()
    );

    // Stored: 45 active and 5 with a plain reason; no secret anywhere in the data directory.
    let (_, list) = org.run_json(&["list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 50);
    assert!(list.iter().all(|c| c["kind"] == "application"));
    assert_eq!(list.iter().filter(|c| c["state"] == "active").count(), 45);
    let denied = list
        .iter()
        .find(|c| c["address"] == "user46@contoso.test")
        .unwrap();
    assert_eq!(denied["state"], "no_access");
    assert!(
        denied["state_reason"]
            .as_str()
            .unwrap()
            .contains("Exchange keeps the app out")
    );
    assert!(
        !dir_contains(&org.env.data(), &org.env.web_secret()),
        "the client secret leaked"
    );

    recheck_after_the_admin_lets_the_app_in(&org, &file);
}

/// Three unknown addresses and two mailboxes closed to the app, each with what to do.
fn assert_problem_rows(report: &Value) {
    let rows = rows_by_address(report);
    for n in 1..=3 {
        let row = &rows[&format!("ghost{n}@contoso.test")];
        assert_eq!(row["status"], "no_access", "{row:#}");
        assert_eq!(
            row["problem"]["message"],
            "No user or shared mailbox with this address exists in the organisation."
        );
        assert!(
            row["problem"]["detail"]["fix"]
                .as_str()
                .unwrap()
                .contains("primary email address")
        );
        assert!(
            row["line"].as_u64().unwrap() >= 49,
            "CSV line numbers, header counted"
        );
    }
    for n in [46, 47] {
        let row = &rows[&format!("user{n}@contoso.test")];
        assert_eq!(row["status"], "no_access", "{row:#}");
        assert_eq!(row["problem"]["detail"]["graph_error"], "ErrorAccessDenied");
        assert!(
            row["problem"]["detail"]["fix"]
                .as_str()
                .unwrap()
                .contains("application access policy")
        );
        assert!(row["problem"]["detail"]["request_id"].is_string());
    }
    assert_eq!(rows["user12@contoso.test"]["display_name"], "User 12");
}

/// Adding the list again rechecks only the five with a problem; two now work.
fn recheck_after_the_admin_lets_the_app_in(org: &Org, file: &std::path::Path) {
    // The administrator lets the app in: adding the list again rechecks only the five.
    org.graph.clear_access_denied();
    org.graph.clear_faults();
    org.graph.clear_log();
    let (out, again) = org.run_json(&[
        "mailbox",
        "add",
        "--app",
        "org",
        "--from-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the three unknown addresses still need attention"
    );
    assert_eq!(again["already_added"], 45);
    assert_eq!(again["connected"], 2);
    assert_eq!(again["problems"], 3);
    let looked_up: std::collections::HashSet<String> = org
        .graph
        .log()
        .iter()
        .filter(|e| e["path"].as_str().unwrap().split('/').count() == 4)
        .map(|e| e["mailbox"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        looked_up.len(),
        5,
        "only the five with a problem: {looked_up:?}"
    );
    let (_, history) = org.run_json(&["history", "user46@contoso.test"]);
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["verified", "failed"], "{history:#}");
}

/// After every 429 for a mailbox and path, the next request for them starts no sooner than its
/// `Retry-After` said.
fn assert_retry_after_honoured(log: &[Value], expected_429s: usize) {
    let throttled: Vec<&Value> = log.iter().filter(|e| e["status"] == 429).collect();
    assert_eq!(throttled.len(), expected_429s, "{log:#?}");
    for t in throttled {
        let wait_ms = if t["path"].as_str().unwrap().ends_with("/messages") {
            1000
        } else {
            2000
        };
        let next = log
            .iter()
            .filter(|e| e["mailbox"] == t["mailbox"] && e["path"] == t["path"])
            .filter(|e| e["t_start"].as_f64() > t["t_start"].as_f64())
            .min_by(|a, b| {
                a["t_start"]
                    .as_f64()
                    .partial_cmp(&b["t_start"].as_f64())
                    .unwrap()
            })
            .unwrap_or_else(|| panic!("a throttled request was not retried: {t:#}"));
        // From when the 429 was sent: the client cannot have read it sooner.
        let waited = next["t_start"].as_f64().unwrap() - t["t_sent"].as_f64().unwrap();
        assert!(
            waited >= f64::from(wait_ms) - 5.0,
            "retried after {waited} ms, Retry-After asked {wait_ms}: {t:#}"
        );
    }
}

/// Never more than `limit` requests in flight: per mailbox (the stand-in's count) and in all.
fn assert_concurrency_bounded(log: &[Value], limit: u64) {
    let per_mailbox = log
        .iter()
        .filter_map(|e| e["in_flight"].as_u64())
        .max()
        .unwrap_or(0);
    assert!(
        per_mailbox <= limit,
        "{per_mailbox} in flight for one mailbox"
    );
    let mut edges: Vec<(f64, i32)> = log
        .iter()
        .flat_map(|e| {
            [
                (e["t_start"].as_f64().unwrap(), 1),
                (e["t_end"].as_f64().unwrap(), -1),
            ]
        })
        .collect();
    // At equal times an end comes before a start.
    edges.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0, 0);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    assert!(
        most <= i32::try_from(limit).unwrap(),
        "{most} Graph requests at once"
    );
    assert!(most >= 2, "the lookups ran in parallel ({most} at most)");
}

// ---- tokens that do not show their roles --------------------------------------------------

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn opaque_app_tokens_leave_the_roles_unknown_and_graph_explains_a_refusal() {
    let org = Org::new(&[("IDP_ACCESS_TOKEN_FORMAT", "opaque")]);
    assert!(
        org.add_app("org", CONTOSO, "both", &org.env.web_secret())
            .status
            .success()
    );

    // The check cannot read the token: "unknown", never "lacks".
    let (out, check) = org.run_json(&["mailbox", "check", "--app", "org"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "not confirmed: {}",
        stderr(&out)
    );
    let p = &check["permissions"];
    assert_eq!(p["roles_known"], false, "{check:#}");
    assert_eq!(p["missing"], json!([]), "{check:#}");
    assert!(
        !p["summary"].as_str().unwrap().contains("lacks"),
        "{check:#}"
    );
    let text = org.env.run(&["mailbox", "check", "--app", "org"], None);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("[?   ] User.Read.All"), "{text}");
    assert!(!text.contains("MISS"), "{text}");

    // Every permission held: Graph lets the app in.
    let (out, report) = org.run_json(&["mailbox", "add", "--app", "org", "info@contoso.test"]);
    assert!(out.status.success(), "{}\n{report:#}", stderr(&out));
    assert_eq!(
        rows_by_address(&report)["info@contoso.test"]["status"],
        "connected"
    );

    // No User.Read.All: the app still asks Graph, and shows Graph's 403 with its fix.
    org.control(
        "roles",
        &json!({"tenant": CONTOSO, "roles": ["Mail.ReadWrite", "Mail.Send"]}),
    );
    let before = org.graph.log().len();
    let (out, report) = org.run_json(&["mailbox", "add", "--app", "org", "sales@contoso.test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let graph_log = org.graph.log();
    assert!(
        graph_log[before..]
            .iter()
            .any(|e| e["path"] == "/v1.0/users/sales@contoso.test" && e["status"] == 403),
        "Graph was asked and refused"
    );
    let row = &rows_by_address(&report)["sales@contoso.test"];
    assert_eq!(row["status"], "failed", "{row:#}");
    assert_eq!(row["problem"]["code"], "needs_consent", "{row:#}");
    assert_eq!(
        row["problem"]["detail"]["graph_error"], "Authorization_RequestDenied",
        "{row:#}"
    );
    assert_eq!(
        row["problem"]["message"],
        "The app may not look up mailboxes in the directory."
    );
    assert!(
        row["problem"]["detail"]["fix"]
            .as_str()
            .unwrap()
            .contains("User.Read.All"),
        "{row:#}"
    );
    assert!(
        !serde_json::to_string(&report)
            .unwrap()
            .contains("lacks the User.Read.All"),
        "the app does not claim what it cannot know: {report:#}"
    );
    org.control(
        "roles",
        &json!({"tenant": CONTOSO, "roles": ["Mail.ReadWrite", "Mail.Send", "User.Read.All"]}),
    );
}
