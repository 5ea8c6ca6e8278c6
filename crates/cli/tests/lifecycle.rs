//! Keeping connections alive, against the local identity provider (short token lifetimes,
//! failure injection, restarts) and the real keychain: rotation, transient failures and
//! recovery, `Retry-After`, permanent failures without retry storms, single flight in one
//! process and across processes, `kill -9` during refreshes, keep-alive with a fake clock, and
//! notifications once per problem. Run through `scripts/test.sh`.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::{Env, secret_tool_lookup, stderr};
use mailconn_core::clock::{Clock, FakeClock, SystemClock};
use mailconn_core::connection::{Connection, StateKind};
use mailconn_core::engine::{Config, Engine, EngineEvent};
use mailconn_core::keychain::SystemKeychain;
use mailconn_core::paths::DataDir;
use mailconn_core::resource::Resource;
use mailconn_core::store::Store;
use mailconn_testkit::Idp;
use serde_json::{Value, json};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn test_config() -> Config {
    Config {
        retry_base: Duration::from_secs(1),
        retry_max: Duration::from_secs(8),
        lock_wait: Duration::from_secs(20),
        ..Config::default()
    }
}

fn engine(env: &Env, clock: Arc<dyn Clock>, config: Config) -> (Arc<Engine>, Arc<Store>) {
    let dir = DataDir::open(env.data()).unwrap();
    let store = Arc::new(Store::open(&dir.database()).unwrap());
    let engine = Arc::new(Engine::new(
        store.clone(),
        Arc::new(SystemKeychain::new()),
        mailconn_core::http::client(),
        clock,
        dir.locks(),
        config,
    ));
    (engine, store)
}

/// A public app and one connection per address; returns the connection ids.
fn connected(env: &Env, addresses: &[&str]) -> Vec<String> {
    env.add_app("desktop", "public", "common", None, &[]);
    addresses
        .iter()
        .map(|a| {
            let (out, json) = env.connect("desktop", a);
            assert!(out.status.success(), "connect {a}: {}", stderr(&out));
            json["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn refresh_requests(idp: &Idp) -> usize {
    idp.token_requests()
        .iter()
        .filter(|e| e["grant_type"] == "refresh_token")
        .count()
}

fn status_json(env: &Env, id: &str) -> Value {
    let out = env.run(&["--json", "status", id], None);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stderr(&out)))
}

fn history_kinds(store: &Store, id: &str) -> Vec<String> {
    store
        .events(id, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn stored_refresh_token(id: &str) -> String {
    secret_tool_lookup(&format!("refresh-token/{id}")).expect("refresh token in the keychain")
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn refresh_rotates_the_stored_token_and_runs_before_expiry() {
    let env = Env::new(&[("IDP_ACCESS_TOKEN_TTL", "600")]);
    let ids = connected(&env, &["alice@contoso.test"]);
    let id = &ids[0];
    let before = stored_refresh_token(id);

    // By hand, through the CLI: the keychain holds the new refresh token afterwards.
    let out = env.run(&["refresh", "alice@contoso.test"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("refreshed, new refresh token stored"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let after = stored_refresh_token(id);
    assert_ne!(
        before, after,
        "the rotated refresh token replaced the old one"
    );
    assert_eq!(refresh_requests(&env.idp), 1);

    // In use: the engine hands out an access token, then refreshes 5 minutes before it expires.
    let clock = Arc::new(FakeClock::new(Utc::now()));
    let (engine, store) = engine(&env, clock.clone(), test_config());
    let rt = runtime();
    let first = rt
        .block_on(engine.access_token(id, Resource::Graph))
        .unwrap();
    assert_eq!(
        refresh_requests(&env.idp),
        1,
        "the token the CLI's refresh stored in the keychain is shared: no new request"
    );
    let again = rt
        .block_on(engine.access_token(id, Resource::Graph))
        .unwrap();
    assert_eq!(
        again.token.expose(),
        first.token.expose(),
        "cached while valid"
    );
    assert_eq!(refresh_requests(&env.idp), 1);
    let conn = store.get_connection(id).unwrap();
    let due = conn.next_refresh_at.expect("scheduled");
    assert!(
        due <= first.expires_at - TimeDelta::minutes(5),
        "{due} vs {}",
        first.expires_at
    );
    assert!(due >= first.expires_at - TimeDelta::minutes(7));

    clock.set(due - TimeDelta::seconds(1));
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 0, "not yet due");
    clock.set(due);
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 1);
    assert_eq!(refresh_requests(&env.idp), 2, "refreshed before expiry");
    assert_ne!(stored_refresh_token(id), after, "rotated again");
    let kinds = history_kinds(&store, id);
    assert_eq!(
        kinds.iter().filter(|k| *k == "refreshed").count(),
        2,
        "{kinds:?}"
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn identity_provider_down_then_back_needs_no_sign_in() {
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("idp.json");
    let idp_env = [("IDP_STATE_FILE", file.to_str().unwrap())];
    let mut env = Env::new(&idp_env);
    let ids = connected(&env, &["alice@contoso.test"]);
    let id = &ids[0];
    let (engine, store) = engine(&env, Arc::new(SystemClock), test_config());
    let rt = runtime();

    // The scheduler runs the whole time, asleep until something is due (a keep-alive in 7 days).
    let cancel = tokio_util::sync::CancellationToken::new();
    rt.spawn(engine.clone().run(cancel.clone()));
    let port = env.idp.port;
    env.idp.stop();
    let report = rt.block_on(engine.refresh(id)).unwrap();
    let error = report.error.expect("the provider is down");
    assert_eq!(report.connection.state, StateKind::Retrying);
    assert_eq!(report.connection.state.attempt(), 1);
    assert!(
        error.message.contains("could not be reached"),
        "{}",
        error.message
    );
    let s = status_json(&env, id);
    assert_eq!(s["state"], "retrying");
    assert!(s["next_refresh_at"].is_string());
    let text = String::from_utf8_lossy(&env.run(&["status", id], None).stdout).into_owned();
    assert!(text.contains("offline, retrying (attempt 1) at"), "{text}");

    // The failure woke the scheduler, which retries by itself. Still down: backoff grows,
    // nothing is lost.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.get_connection(id).unwrap().state.attempt() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler did not retry"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let conn = store.get_connection(id).unwrap();
    assert_eq!(conn.state, StateKind::Retrying);
    assert_eq!(conn.state.attempt(), 2);
    assert!(
        secret_tool_lookup(&format!("refresh-token/{id}")).is_some(),
        "kept"
    );

    env.idp = Idp::start_on(port, &idp_env);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while store.get_connection(id).unwrap().state != StateKind::Active {
        assert!(std::time::Instant::now() < deadline, "never recovered");
        std::thread::sleep(Duration::from_millis(100));
    }
    cancel.cancel();
    let conn = store.get_connection(id).unwrap();
    assert_eq!(conn.state, StateKind::Active, "{:?}", conn.state);
    assert_eq!(conn.state.attempt(), 0);
    let kinds = history_kinds(&store, id);
    assert_eq!(
        &kinds[..3],
        ["recovered", "refreshed", "failed"],
        "{kinds:?}"
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn throttling_honours_retry_after() {
    let env = Env::new(&[]);
    let ids = connected(&env, &["alice@contoso.test"]);
    let id = &ids[0];
    let (engine, store) = engine(&env, Arc::new(SystemClock), test_config());
    let rt = runtime();
    env.idp.post(
        "/_control/token-endpoint",
        &json!({"mode": "429", "retry_after": 3, "count": 1}),
    );
    let asked = Utc::now();
    let report = rt.block_on(engine.refresh(id)).unwrap();
    assert_eq!(report.connection.state, StateKind::Retrying);
    let next = report.connection.next_refresh_at.unwrap();
    assert!(
        next - asked >= TimeDelta::seconds(3),
        "retry {next} is before Retry-After"
    );
    assert!(next - asked < TimeDelta::seconds(5), "and not much later");
    let event = &store.events(id, 1).unwrap()[0];
    assert_eq!(event.kind, "failed");
    assert_eq!(event.aadsts, Some(90055));
    assert!(event.summary.contains("temporary"), "{}", event.summary);

    // Before Retry-After has passed the scheduler does not ask again.
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 0);
    assert_eq!(refresh_requests(&env.idp), 1);
    std::thread::sleep(
        (next - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(50),
    );
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 1);
    assert_eq!(store.get_connection(id).unwrap().state, StateKind::Active);
    let times: Vec<chrono::DateTime<Utc>> = env
        .idp
        .token_requests()
        .iter()
        .filter(|e| e["grant_type"] == "refresh_token")
        .map(|e| e["t"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(times.len(), 2);
    let gap = times[1] - times[0];
    assert!(
        gap >= TimeDelta::seconds(3),
        "second request {gap} after the 429"
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn revoked_grant_needs_sign_in_once_without_a_retry_storm_and_one_notification() {
    let env = Env::new(&[]);
    let ids = connected(&env, &["alice@contoso.test", "bob@contoso.test"]);
    let (alice, bob) = (&ids[0], &ids[1]);
    let (engine, store) = engine(&env, Arc::new(SystemClock), test_config());
    let mut events = engine.subscribe();
    let rt = runtime();
    env.idp
        .post("/_control/users/alice@contoso.test/revoke", &json!({}));

    let report = rt.block_on(engine.refresh(alice)).unwrap();
    let c = &report.connection;
    assert_eq!(c.state, StateKind::NeedsSignIn);
    assert_eq!(c.state.aadsts(), Some(50173));
    assert_eq!(c.next_refresh_at, None, "no retry is scheduled");
    assert!(
        c.state.reason().unwrap().contains("Sign in"),
        "{:?}",
        c.state
    );
    // The scheduler leaves it alone; a second manual refresh fails the same way.
    for _ in 0..3 {
        rt.block_on(engine.run_due()).unwrap();
    }
    rt.block_on(engine.refresh(alice)).unwrap();
    assert_eq!(
        refresh_requests(&env.idp),
        2,
        "one automatic attempt, one manual, no storm"
    );
    assert_eq!(
        store.get_connection(bob).unwrap().state,
        StateKind::Active,
        "others unaffected"
    );

    let mut notices = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let EngineEvent::Notice(n) = e {
            notices.push(n);
        }
    }
    assert_eq!(
        notices.len(),
        1,
        "one notification for the same problem: {notices:?}"
    );
    assert_eq!(notices[0].address, "alice@contoso.test");
    assert!(
        notices[0].title.contains("sign in again"),
        "{}",
        notices[0].title
    );

    // The CLI tells the same story, with exit code 1 (attention).
    let out = env.run(&["status"], None);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("needs sign in"), "{text}");
    assert!(
        text.contains("AADSTS50173") || text.contains("password"),
        "{text}"
    );
    let out = env.run(&["refresh", "alice@contoso.test"], None);
    assert_eq!(out.status.code(), Some(6), "sign-in needed");
    let history = String::from_utf8_lossy(&env.run(&["history", alice], None).stdout).into_owned();
    assert!(
        history.contains("[AADSTS50173]") && history.contains("trace "),
        "{history}"
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn an_expired_client_secret_marks_every_connection_of_the_app() {
    let env = Env::new(&[]);
    let secret = env.web_secret();
    env.add_app("web", "web", "common", Some(&secret), &[]);
    let mut ids = Vec::new();
    for a in ["alice@contoso.test", "bob@contoso.test"] {
        let (out, json) = env.connect("web", a);
        assert!(out.status.success(), "{}", stderr(&out));
        ids.push(json["id"].as_str().unwrap().to_owned());
    }
    let client = env.idp.fixture("/clients/web/client_id");
    let key = env.idp.fixture("/clients/web/secrets/0/keyId");
    env.idp.post(
        &format!("/_control/clients/{client}/secrets/{key}/expire"),
        &json!({}),
    );
    let out = env.run(&["--json", "refresh", "alice@contoso.test"], None);
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["error"]["detail"]["aadsts"], 7000222);
    for id in &ids {
        let s = status_json(&env, id);
        assert_eq!(s["state"], "secret_expired", "{s}");
        assert!(
            s["state_reason"].as_str().unwrap().contains("secret"),
            "{s}"
        );
    }
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn twenty_concurrent_token_requests_share_one_refresh() {
    let env = Env::new(&[]);
    let ids = connected(&env, &["alice@contoso.test"]);
    let id = ids[0].clone();
    let (engine, _) = engine(&env, Arc::new(SystemClock), test_config());
    env.idp.post(
        "/_control/token-endpoint",
        &json!({"mode": "delay", "delay_ms": 300, "count": 1}),
    );
    let rt = runtime();
    let tokens: Vec<String> = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (engine, id) = (engine.clone(), id.clone());
            set.spawn(async move {
                engine
                    .access_token(&id, Resource::Graph)
                    .await
                    .unwrap()
                    .token
                    .expose()
                    .clone()
            });
        }
        set.join_all().await
    });
    assert_eq!(tokens.len(), 20);
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "everyone got the same token"
    );
    assert_eq!(refresh_requests(&env.idp), 1);
    assert_eq!(engine.token_requests(), 1);
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn app_and_cli_refreshing_at_once_make_one_request() {
    let env = Env::new(&[]);
    let ids = connected(&env, &["alice@contoso.test"]);
    let id = ids[0].clone();
    let (engine, _) = engine(&env, Arc::new(SystemClock), test_config());
    env.idp.post(
        "/_control/token-endpoint",
        &json!({"mode": "delay", "delay_ms": 1500, "count": 2}),
    );
    let rt = runtime();
    let cli = env
        .cmd()
        .args(["--json", "refresh", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let app = rt.block_on(engine.refresh(&id)).unwrap();
    let cli = cli.wait_with_output().unwrap();
    assert!(cli.status.success(), "{}", stderr(&cli));
    let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert!(app.error.is_none());
    let requested = [app.requested, cli[0]["requested"].as_bool().unwrap()];
    assert_eq!(
        requested.iter().filter(|r| **r).count(),
        1,
        "exactly one refreshed: {requested:?}"
    );
    assert_eq!(refresh_requests(&env.idp), 1);
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn kill_9_during_200_refresh_cycles_leaves_every_connection_working() {
    let env = Env::new(&[]);
    let ids = connected(
        &env,
        &[
            "alice@contoso.test",
            "bob@contoso.test",
            "carol@outlook.test",
        ],
    );
    let binary = env!("CARGO_BIN_EXE_mailconn");
    let mut killed_mid_request = 0;
    for cycle in 0..200u64 {
        let before = env.idp.log().len();
        let mut child = Command::new(binary)
            .arg("--data-dir")
            .arg(env.data())
            .args(["refresh", "--all"])
            .env_remove("MAILCONN_KEYCHAIN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over start-up, keychain reads, requests and writes.
        let delay = (cycle * 7919 + 13) % 400;
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        if env.idp.log().len() > before {
            killed_mid_request += 1;
        }
        if cycle % 50 == 49 {
            env.idp.delete("/_control/log");
        }
    }
    assert!(
        killed_mid_request > 20,
        "kills landed during refreshes only {killed_mid_request} times"
    );
    let out = env.run(&["--json", "refresh", "--all"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports.as_array().unwrap().len(), 3);
    for r in reports.as_array().unwrap() {
        assert!(r["error"].is_null(), "{r}");
        assert_eq!(r["connection"]["state"], "active", "{r}");
    }
    for id in &ids {
        assert!(secret_tool_lookup(&format!("refresh-token/{id}")).is_some());
    }
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn idle_connections_get_a_keep_alive_refresh_every_seven_days() {
    let env = Env::new(&[]);
    let ids = connected(&env, &["alice@contoso.test"]);
    let id = &ids[0];
    let start = Utc::now();
    let clock = Arc::new(FakeClock::new(start));
    let (engine, store) = engine(&env, clock.clone(), test_config());
    let rt = runtime();
    // The first pass only schedules the new connection: it was refreshed at sign-in.
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 0);
    let conn: Connection = store.get_connection(id).unwrap();
    let keep_alive = conn.next_refresh_at.unwrap();
    assert_eq!(
        keep_alive,
        conn.last_refresh_at.unwrap() + TimeDelta::days(7)
    );
    assert!(conn.inactivity_deadline.unwrap() - keep_alive > TimeDelta::days(80));

    clock.advance(TimeDelta::days(6));
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 0);
    assert_eq!(
        refresh_requests(&env.idp),
        0,
        "idle and not due: no request"
    );
    clock.set(keep_alive + TimeDelta::seconds(1));
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 1);
    assert_eq!(refresh_requests(&env.idp), 1);
    let conn = store.get_connection(id).unwrap();
    assert_eq!(conn.state, StateKind::Active);
    assert_eq!(
        conn.last_refresh_at,
        Some(keep_alive + TimeDelta::seconds(1))
    );
    assert_eq!(
        conn.next_refresh_at,
        Some(keep_alive + TimeDelta::seconds(1) + TimeDelta::days(7))
    );
    assert_eq!(
        conn.inactivity_deadline,
        Some(keep_alive + TimeDelta::seconds(1) + TimeDelta::days(90)),
        "the 90-day limit starts again"
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn verify_calls_graph_with_the_connections_token() {
    let env = Env::new(&[]);
    let graph = mailconn_testkit::graph::Graph::start(&env.idp);
    env.add_web_app_with_graph(&graph);
    let (out, json) = env.connect("web", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    let id = json["id"].as_str().unwrap().to_owned();

    let out = env.run(&["verify", "alice@contoso.test"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified through Microsoft Graph"));
    let me: Vec<Value> = graph
        .log()
        .into_iter()
        .filter(|e| e["path"] == "/v1.0/me")
        .collect();
    assert_eq!(me.len(), 1, "one Graph call");
    assert_eq!(me[0]["status"], 200);
    assert_eq!(me[0]["auth"], "delegated");
    let history = String::from_utf8_lossy(&env.run(&["history", &id], None).stdout).into_owned();
    assert!(
        history.contains("verified")
            && history.contains("Microsoft Graph answered for alice@contoso.test"),
        "{history}"
    );

    // Graph down: the verification fails with Graph's words and the history says so.
    graph.fault(&json!({"status": 503, "count": 10}));
    let out = env.run(&["--json", "verify", &id], None);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["error"]["message"].is_string(), "{report}");
    graph.clear_faults();
    let history = String::from_utf8_lossy(&env.run(&["history", &id], None).stdout).into_owned();
    assert!(history.contains("Verification failed"), "{history}");
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn application_mailboxes_are_checked_by_the_same_engine() {
    let env = Env::new(&[]);
    let graph = mailconn_testkit::graph::Graph::start(&env.idp);
    env.add_web_app_with_graph(&graph);
    let out = env.run(
        &["mailbox", "add", "--app", "web", "user01@contoso.test"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (engine, store) = engine(&env, Arc::new(SystemClock), test_config());
    let mut events = engine.subscribe();
    let rt = runtime();
    let conn = store.get_connection("user01@contoso.test").unwrap();
    assert_eq!(conn.state, StateKind::Active);
    // The scheduler checks application mailboxes daily.
    rt.block_on(engine.run_due()).unwrap();
    let next = store
        .get_connection(&conn.id)
        .unwrap()
        .next_refresh_at
        .unwrap();
    assert_eq!(next, conn.last_refresh_at.unwrap() + TimeDelta::days(1));

    // Exchange closes the mailbox to the app: the check says so, with one notification.
    graph.access_denied(&["user01@contoso.test"]);
    let report = rt.block_on(engine.refresh(&conn.id)).unwrap();
    assert_eq!(report.connection.state, StateKind::NoAccess, "{report:?}");
    assert!(report.connection.state.reason().is_some());
    rt.block_on(engine.refresh(&conn.id)).unwrap();
    let notices = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, EngineEvent::Notice(_)))
        .count();
    assert_eq!(notices, 1, "one notification while the problem stays");

    // Open again: `refresh --all` (the same engine, through the CLI) brings it back.
    graph.clear_access_denied();
    let out = env.run(&["--json", "refresh", "--all"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["connection"]["kind"], "application");
    assert_eq!(reports[0]["connection"]["state"], "active");
    // No refresh token exists in this flow: only client-credentials requests were made.
    assert!(
        env.idp
            .token_requests()
            .iter()
            .all(|e| e["grant_type"] == "client_credentials")
    );
}
