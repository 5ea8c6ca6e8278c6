//! Fault injection: the test identity provider's token endpoint and the Graph stand-in drop
//! connections, stall, answer 5xx or 429 (with `Retry-After`), send malformed or truncated JSON,
//! the wrong content type or a huge body. For each: the CLI finishes within a bound, the status
//! says what is happening (retrying, and why), nothing is lost (the refresh token is still in
//! the keychain and works once the fault clears), and service resumes by itself (the scheduler's
//! next run, no user action). Run through `scripts/test.sh` (a private Secret Service session,
//! Node for the servers); `--nocapture` prints the figures.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Env, secret_tool_lookup, stderr};
use mailconn_core::clock::SystemClock;
use mailconn_core::connection::TokenState;
use mailconn_core::engine::{Config, Engine};
use mailconn_core::keychain::SystemKeychain;
use mailconn_core::paths::DataDir;
use mailconn_core::store::Store;
use serde_json::{Value, json};

/// The CLI must answer within this, whatever the server does (below the 30 s request timeout,
/// which only a stall reaches: see `a_stalled_token_endpoint_times_out_and_resumes`).
const BOUND: Duration = Duration::from_secs(10);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn engine(env: &Env, http: reqwest::Client) -> (Arc<Engine>, Arc<Store>) {
    let dir = DataDir::open(env.data()).unwrap();
    let store = Arc::new(Store::open(&dir.database()).unwrap());
    let config = Config {
        retry_base: Duration::from_secs(1),
        retry_max: Duration::from_secs(2),
        lock_wait: Duration::from_secs(20),
        ..Config::default()
    };
    let engine = Arc::new(Engine::new(
        store.clone(),
        Arc::new(SystemKeychain::new()),
        http,
        Arc::new(SystemClock),
        dir.locks(),
        config,
    ));
    (engine, store)
}

/// `mailconn` with the scheduler's first retry after 1 s (`MAILCONN_RETRY_BASE_SECS`).
fn run_quick(env: &Env, args: &[&str]) -> std::process::Output {
    env.cmd()
        .env("MAILCONN_RETRY_BASE_SECS", "1")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn status_json(env: &Env, id: &str) -> Value {
    let out = env.run(&["--json", "status", id], None);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stderr(&out)))
}

fn stored_refresh_token(id: &str) -> String {
    secret_tool_lookup(&format!("refresh-token/{id}")).expect("refresh token in the keychain")
}

/// Waits until the scheduler's next run is due, then runs it (what the app's scheduler does by
/// itself), until the connection is active again.
fn resumes_by_itself(rt: &tokio::runtime::Runtime, engine: &Arc<Engine>, store: &Store, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let conn = store.get_connection(id).unwrap();
        if conn.state == TokenState::Active {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never resumed: {:?} {:?}",
            conn.state,
            conn.state_reason
        );
        if let Some(next) = conn.next_refresh_at {
            let wait = (next - chrono::Utc::now()).to_std().unwrap_or_default();
            std::thread::sleep(wait.min(Duration::from_secs(5)) + Duration::from_millis(20));
        }
        rt.block_on(engine.run_due()).unwrap();
    }
}

struct Figure {
    fault: String,
    cli_ms: u128,
    state: String,
    reason: String,
}

fn print_figures(title: &str, figures: &[Figure]) {
    eprintln!("{title}");
    for f in figures {
        eprintln!(
            "  {:<22} cli {:>5} ms  state {:<9} reason: {}",
            f.fault, f.cli_ms, f.state, f.reason
        );
    }
}

/// Each fault of the token endpoint, applied to one request.
fn token_faults() -> Vec<(&'static str, Value)> {
    vec![
        ("drop", json!({"mode": "drop"})),
        ("5xx 500", json!({"mode": "5xx", "status": 500})),
        ("5xx 503", json!({"mode": "5xx", "status": 503})),
        (
            "5xx 503 Retry-After 2",
            json!({"mode": "5xx", "status": 503, "retry_after": 2}),
        ),
        (
            "429 Retry-After 2",
            json!({"mode": "429", "retry_after": 2}),
        ),
        ("truncated JSON", json!({"mode": "truncated"})),
        ("malformed JSON", json!({"mode": "malformed"})),
        ("text/html 200", json!({"mode": "html"})),
        ("huge body 8 MiB", json!({"mode": "huge"})),
        (
            "slow 1.5 s (delay)",
            json!({"mode": "delay", "delay_ms": 1500}),
        ),
    ]
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn token_endpoint_faults_are_retried_and_lose_nothing() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &[]);
    let (out, json) = env.connect("desktop", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    let id = json["id"].as_str().unwrap().to_owned();
    let (engine, store) = engine(&env, mailconn_core::http::client());
    let rt = runtime();

    let faults = token_faults();
    let mut figures = Vec::new();
    for (name, fault) in faults {
        let before = stored_refresh_token(&id);
        let mut body = fault.clone();
        body["endpoint"] = json!("token");
        body["count"] = json!(1);
        env.idp.post("/_control/faults", &body);

        let started = Instant::now();
        let out = run_quick(&env, &["--json", "refresh", &id]);
        let took = started.elapsed();
        assert!(took < BOUND, "{name}: the CLI took {took:?}");
        let reports: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{name}: {}", stderr(&out)));
        let s = status_json(&env, &id);
        let state = s["state"].as_str().unwrap_or_default().to_owned();
        let reason = s["state_reason"].as_str().unwrap_or_default().to_owned();
        figures.push(Figure {
            fault: name.to_owned(),
            cli_ms: took.as_millis(),
            state: state.clone(),
            reason: reason.clone(),
        });

        if name == "text/html 200" || name.starts_with("huge") || name.starts_with("malformed") {
            assert!(reason.contains("not a token response"), "{name}: {reason}");
        }
        if name.starts_with("slow") {
            // A slow answer is a normal one.
            assert!(out.status.success(), "{name}: {reports:#}");
            assert_eq!(state, "active", "{name}: {s:#}");
            continue;
        }
        assert!(!out.status.success(), "{name}: {reports:#}");
        let error = &reports[0]["error"];
        assert!(error["message"].is_string(), "{name}: {reports:#}");
        assert_eq!(state, "retrying", "{name}: not a sign-in problem: {s:#}");
        assert!(!reason.is_empty(), "{name}: the status says why: {s:#}");
        assert!(
            s["next_refresh_at"].is_string(),
            "{name}: a retry is scheduled: {s:#}"
        );
        let text = String::from_utf8_lossy(&env.run(&["status", &id], None).stdout).into_owned();
        assert!(text.contains("retrying"), "{name}: {text}");
        if name.contains("Retry-After") {
            let next: chrono::DateTime<chrono::Utc> =
                s["next_refresh_at"].as_str().unwrap().parse().unwrap();
            assert!(
                next - chrono::Utc::now() >= chrono::TimeDelta::milliseconds(500),
                "{name}: Retry-After is honoured: {s:#}"
            );
        }
        assert_eq!(
            stored_refresh_token(&id),
            before,
            "{name}: the refresh token is kept as it was"
        );

        resumes_by_itself(&rt, &engine, &store, &id);
        assert_ne!(
            stored_refresh_token(&id),
            before,
            "{name}: the kept token worked (and rotated)"
        );
        let s = status_json(&env, &id);
        assert_eq!(s["state"], "active", "{name}: {s:#}");
        assert_eq!(s["retry_attempt"], 0, "{name}: {s:#}");
    }
    print_figures("token endpoint faults:", &figures);
    let sign_ins = env
        .idp
        .log()
        .iter()
        .filter(|e| e["endpoint"] == "authorize")
        .count();
    assert_eq!(
        sign_ins, 2,
        "the one sign-in at the start (two log entries), no other"
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn a_stalled_token_endpoint_times_out_and_resumes() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &[]);
    let (out, json) = env.connect("desktop", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    let id = json["id"].as_str().unwrap().to_owned();
    // The app's client gives up after 30 s; a 2 s one here keeps the test quick.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (engine, store) = engine(&env, http);
    let rt = runtime();
    let before = stored_refresh_token(&id);
    env.idp.post(
        "/_control/faults",
        &json!({"endpoint": "token", "mode": "hang", "count": 1}),
    );
    let started = Instant::now();
    let report = rt.block_on(engine.refresh(&id)).unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let error = report.error.expect("the request timed out");
    assert_eq!(report.connection.state, TokenState::Retrying, "{error:?}");
    let s = status_json(&env, &id);
    assert_eq!(s["state"], "retrying", "{s:#}");
    eprintln!(
        "stalled token endpoint: engine gave up after {} ms; status {}: {}",
        took.as_millis(),
        s["state"],
        s["state_reason"]
    );
    assert_eq!(stored_refresh_token(&id), before);
    resumes_by_itself(&rt, &engine, &store, &id);
    assert_ne!(stored_refresh_token(&id), before);
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn graph_faults_are_explained_and_the_connection_is_kept() {
    let env = Env::new(&[]);
    let graph = mailconn_testkit::graph::Graph::start(&env.idp);
    let client_id = env.idp.fixture("/clients/web/client_id");
    let out = env.run(
        &[
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
            graph.base(),
            "--usage",
            "both",
            "--secret-stdin",
            "--secret-expires",
            "2099-01-01",
        ],
        Some(&env.web_secret()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (out, json) = env.connect("web", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    let id = json["id"].as_str().unwrap().to_owned();

    let faults = [
        ("drop", json!({"mode": "drop"})),
        ("500", json!({"status": 500})),
        (
            "503 Retry-After 1",
            json!({"status": 503, "retry_after": 1}),
        ),
        ("504", json!({"status": 504})),
        (
            "429 Retry-After 1",
            json!({"status": 429, "retry_after": 1}),
        ),
        ("truncated JSON", json!({"mode": "truncated"})),
        ("malformed JSON", json!({"mode": "malformed"})),
        ("text/html 200", json!({"mode": "html"})),
        ("huge body 8 MiB", json!({"mode": "huge"})),
    ];
    let mut figures = Vec::new();
    for (name, fault) in faults {
        // Enough for every retry the client makes within one verification.
        let mut body = fault.clone();
        body["path"] = json!("^/v1\\.0/me$");
        body["count"] = json!(10);
        graph.fault(&body);
        let started = Instant::now();
        let out = run_quick(&env, &["--json", "verify", &id]);
        let took = started.elapsed();
        graph.clear_faults();
        assert!(took < BOUND, "{name}: the CLI took {took:?}");
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{name}: {}", stderr(&out)));
        assert!(!out.status.success(), "{name}: {report:#}");
        let message = report["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {report:#}"))
            .to_owned();
        assert!(!message.is_empty(), "{name}");
        let s = status_json(&env, &id);
        assert_ne!(
            s["state"], "needs_sign_in",
            "{name}: a Graph fault never asks for a sign-in: {s:#}"
        );
        if name == "text/html 200" {
            assert!(message.contains("captive portal"), "{name}: {message}");
        }
        if name == "truncated JSON" || name == "drop" {
            assert!(
                message.contains("could not be reached"),
                "{name}: {message}"
            );
        }
        // Verifying may refresh (and rotate) first; a refresh token is always there.
        let kept = stored_refresh_token(&id);
        assert!(!kept.is_empty(), "{name}: kept");
        figures.push(Figure {
            fault: name.to_owned(),
            cli_ms: took.as_millis(),
            state: s["state"].as_str().unwrap_or_default().to_owned(),
            reason: message,
        });

        // Once the fault clears, the same connection works.
        let out = env.run(&["verify", &id], None);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
    }
    print_figures("Graph faults (verify):", &figures);
}
