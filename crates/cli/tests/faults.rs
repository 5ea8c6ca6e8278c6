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
use mailconn_core::connection::{StateKind, TokenState};
use mailconn_core::engine::{Config, Engine};
use mailconn_core::keychain::SystemKeychain;
use mailconn_core::paths::DataDir;
use mailconn_core::resource::Resource;
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
        if conn.state == StateKind::Active {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never resumed: {:?} {:?}",
            conn.state,
            conn.state.reason()
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

        if name == "text/html 200" || name.starts_with("malformed") {
            assert!(reason.contains("not a token response"), "{name}: {reason}");
        }
        if name.starts_with("huge") {
            // Read up to the cap (1 MiB), never to the end.
            assert!(reason.contains("larger than 1024 KiB"), "{name}: {reason}");
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
    assert_eq!(
        report.connection.state.kind(),
        StateKind::Retrying,
        "{error:?}"
    );
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
fn app_only_token_faults_are_explained_within_the_bound() {
    let env = Env::new(&[]);
    let graph = mailconn_testkit::graph::Graph::start(&env.idp);
    env.add_web_app_with_graph(&graph);
    let mut figures = Vec::new();
    for (name, fault) in token_faults() {
        if name.starts_with("slow") {
            continue;
        }
        let mut body = fault.clone();
        body["endpoint"] = json!("token");
        body["count"] = json!(1);
        env.idp.post("/_control/faults", &body);
        let started = Instant::now();
        let out = run_quick(&env, &["--json", "mailbox", "check", "--app", "web"]);
        let took = started.elapsed();
        assert!(took < BOUND, "{name}: the CLI took {took:?}");
        assert!(!out.status.success(), "{name}: {}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{name}: {}", stderr(&out)));
        let message = report["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!message.is_empty(), "{name}: {report:#}");
        assert_ne!(
            report["error"]["code"], "needs_sign_in",
            "{name}: {report:#}"
        );
        figures.push(Figure {
            fault: name.to_owned(),
            cli_ms: took.as_millis(),
            state: report["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            reason: message,
        });
        let out = run_quick(&env, &["--json", "mailbox", "check", "--app", "web"]);
        assert!(
            out.status.success(),
            "{name}: works once cleared: {}",
            stderr(&out)
        );
    }
    print_figures(
        "app-only token faults (mailbox check; state = error code):",
        &figures,
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn graph_faults_are_explained_and_the_connection_is_kept() {
    let env = Env::new(&[]);
    let graph = mailconn_testkit::graph::Graph::start(&env.idp);
    env.add_web_app_with_graph(&graph);
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

// ---- a ten-minute outage, 100 connections, a fake clock ------------------------------------

/// One headless sign-in of alice with the confidential app; returns the refresh token.
fn sign_in_refresh_token(idp: &mailconn_testkit::Idp, client_id: &str, secret: &str) -> String {
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = "http://127.0.0.1:43917/callback";
    let mut url = url::Url::parse(&format!("{}/common/oauth2/v2.0/authorize", idp.base)).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "openid profile email offline_access User.Read")
        .append_pair("state", "s1")
        .append_pair("login_hint", "alice@contoso.test");
    let mut code = None;
    for _ in 0..10 {
        let r = http.get(url.clone()).send().unwrap();
        let location = r
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("no redirect from {url}"))
            .to_str()
            .unwrap()
            .to_owned();
        url = url.join(&location).unwrap();
        if url.as_str().starts_with(redirect) {
            code = url
                .query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned());
            break;
        }
    }
    let code = code.expect("a code came back");
    let token: Value = http
        .post(format!("{}/common/oauth2/v2.0/token", idp.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    token["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

/// Another refresh token of the same grant (each refresh rotates; the old one stays valid).
fn next_refresh_token(
    idp: &mailconn_testkit::Idp,
    client_id: &str,
    secret: &str,
    rt: &str,
) -> String {
    let token: Value = reqwest::blocking::Client::new()
        .post(format!("{}/common/oauth2/v2.0/token", idp.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "openid offline_access User.Read"),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    token["refresh_token"].as_str().expect("rotated").to_owned()
}

/// The outage test's world: the provider, a store with one confidential app, 100 delegated
/// connections in use, and an engine on a fake clock with the default (production) times.
struct Fleet {
    idp: mailconn_testkit::Idp,
    store: Arc<Store>,
    keychain: Arc<mailconn_core::keychain::MemoryKeychain>,
    clock: Arc<mailconn_core::clock::FakeClock>,
    engine: Arc<Engine>,
    ids: Vec<String>,
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// The fleet's one confidential app on the identity provider.
fn fleet_app(
    idp: &mailconn_testkit::Idp,
    client_id: &str,
    secret: &str,
) -> mailconn_core::registration::RegistrationInput {
    use mailconn_core::Sensitive;
    use mailconn_core::cloud::CloudId;
    use mailconn_core::registration::{Audience, ClientKind, RegistrationInput, Usage};
    use mailconn_core::scopes::Preset;
    RegistrationInput {
        name: "web".into(),
        client_id: client_id.to_owned(),
        kind: ClientKind::Confidential,
        tenant: "common".into(),
        cloud: CloudId::Custom,
        authority_url: Some(idp.base.clone()),
        graph_url: Some(idp.base.clone()),
        imap_server: None,
        pop_server: None,
        smtp_server: None,
        usage: Usage::Delegated,
        audience: Audience::AnyOrganizationAndPersonal,
        preset: Preset::Read,
        redirect_uri: None,
        secret: Some(Sensitive::from(secret.to_owned())),
        secret_expires: chrono::NaiveDate::from_ymd_opt(2099, 1, 1),
        secret_label: None,
    }
}

fn fleet(connections: usize) -> Fleet {
    use chrono::TimeDelta;
    use mailconn_core::Sensitive;
    use mailconn_core::clock::FakeClock;
    use mailconn_core::connection::ConnectionKind;
    use mailconn_core::flow::identity::AccountType;
    use mailconn_core::keychain::{Keychain, MemoryKeychain, SecretKey};
    use mailconn_core::scopes::Preset;
    use mailconn_core::store::connections::NewConnection;

    // Access tokens of 7 minutes: every connection's refresh falls due inside the outage.
    let idp = mailconn_testkit::Idp::start(&[("IDP_ACCESS_TOKEN_TTL", "420")]);
    let client_id = idp.fixture("/clients/web/client_id");
    let secret = idp.fixture("/clients/web/secrets/0/value");
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open_in_memory().unwrap());
    let keychain = Arc::new(MemoryKeychain::new());
    let start = chrono::Utc::now();
    let clock = Arc::new(FakeClock::new(start));
    let input = fleet_app(&idp, &client_id, &secret);
    let (reg, _) =
        mailconn_core::service::registrations::create(&store, keychain.as_ref(), &input, start)
            .unwrap();
    let engine = Arc::new(Engine::new(
        store.clone(),
        keychain.clone(),
        mailconn_core::http::client(),
        clock.clone(),
        dir.path().to_owned(),
        Config::default(),
    ));

    // 100 connections, each in use (an access token handed out just before the outage).
    let scopes: Vec<String> = ["openid", "profile", "email", "offline_access", "User.Read"]
        .map(String::from)
        .to_vec();
    let mut rt_value = sign_in_refresh_token(&idp, &client_id, &secret);
    let mut ids = Vec::new();
    for i in 0..connections {
        let id = uuid::Uuid::new_v4().to_string();
        let (key, address) = (format!("account-{i}"), format!("user{i:03}@contoso.test"));
        store
            .insert_connection(
                &NewConnection {
                    id: &id,
                    registration_id: &reg.id,
                    kind: ConnectionKind::Delegated,
                    account_key: &key,
                    address: &address,
                    display_name: None,
                    tenant_id: None,
                    account_type: AccountType::Work,
                    preset: Preset::Read,
                    scopes_requested: &scopes,
                    scopes_granted: &scopes[..4],
                    has_refresh_token: true,
                    state: TokenState::ACTIVE,
                    access_expires_at: Some(start + TimeDelta::minutes(2)),
                },
                start,
            )
            .unwrap();
        keychain
            .set(
                &SecretKey::refresh_token(&id),
                &Sensitive::from(rt_value.clone()),
            )
            .unwrap();
        engine.connected(&id).unwrap();
        rt_value = next_refresh_token(&idp, &client_id, &secret, &rt_value);
        ids.push(id);
    }
    let rt = runtime();
    for id in &ids {
        rt.block_on(engine.access_token(id, Resource::Graph))
            .unwrap();
    }
    Fleet {
        idp,
        store,
        keychain,
        clock,
        engine,
        ids,
        rt,
        _dir: dir,
    }
}

/// Browser legs of sign-ins the provider saw (each sign-in logs two `authorize` entries).
fn sign_ins(idp: &mailconn_testkit::Idp) -> usize {
    idp.log()
        .iter()
        .filter(|e| e["endpoint"] == "authorize")
        .count()
}

/// Refresh-token requests the provider saw.
fn requests(idp: &mailconn_testkit::Idp) -> usize {
    idp.token_requests()
        .iter()
        .filter(|e| e["grant_type"] == "refresh_token")
        .count()
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn a_ten_minute_outage_of_100_connections_ends_with_no_sign_in_needed() {
    use chrono::TimeDelta;
    use mailconn_core::clock::Clock;
    use mailconn_core::keychain::{Keychain, SecretKey};

    const CONNECTIONS: usize = 100;
    let wall = Instant::now();
    let Fleet {
        idp,
        store,
        keychain,
        clock,
        engine,
        ids,
        rt,
        _dir,
    } = fleet(CONNECTIONS);
    let sign_ins_before = sign_ins(&idp);

    // The outage: five minutes of 503, then five of dropped connections. The scheduler's pass
    // runs every 10 s of fake time.
    let before = requests(&idp);
    idp.post(
        "/_control/faults",
        &json!({"endpoint": "token", "mode": "5xx", "status": 503}),
    );
    let step = TimeDelta::seconds(10);
    let mut max_attempt = 0;
    for tick in 0..60 {
        if tick == 30 {
            idp.post(
                "/_control/faults",
                &json!({"endpoint": "token", "mode": "drop"}),
            );
        }
        rt.block_on(engine.run_due()).unwrap();
        for c in store.list_connections().unwrap() {
            assert_ne!(
                c.state.kind(),
                StateKind::NeedsSignIn,
                "an outage never asks for a sign-in"
            );
            max_attempt = max_attempt.max(c.state.attempt());
        }
        clock.advance(step);
    }
    let during = requests(&idp) - before;
    let retrying = store
        .list_connections()
        .unwrap()
        .iter()
        .filter(|c| c.state == StateKind::Retrying)
        .count();
    assert_eq!(
        retrying, CONNECTIONS,
        "every connection is waiting to retry"
    );

    // Service back: the scheduler's own passes bring every connection back.
    idp.delete("/_control/faults");
    let back = clock.now();
    let mut passes = 0;
    while store
        .list_connections()
        .unwrap()
        .iter()
        .any(|c| c.state != StateKind::Active)
    {
        passes += 1;
        assert!(passes < 400, "not recovered after {passes} passes");
        rt.block_on(engine.run_due()).unwrap();
        clock.advance(step);
    }
    let recovered_in = clock.now() - back;
    let after = requests(&idp) - before - during;
    let conns = store.list_connections().unwrap();
    assert_eq!(conns.len(), CONNECTIONS);
    assert!(conns.iter().all(|c| c.state == StateKind::Active));
    for id in &ids {
        assert!(
            keychain
                .get(&SecretKey::refresh_token(id))
                .unwrap()
                .is_some(),
            "refresh token kept"
        );
    }
    assert_eq!(sign_ins(&idp) - sign_ins_before, 0, "no sign-in was needed");
    assert!(
        during <= CONNECTIONS * 8,
        "backoff, not a retry storm: {during} requests in 10 minutes"
    );
    eprintln!(
        "outage: {CONNECTIONS} connections, 10 min (fake) of 503 then dropped connections: {during} token requests during it (max retry attempt {max_attempt}), all back {} min after it ended with {after} more requests; needs sign-in 0, sign-ins 0; wall {} ms",
        recovered_in.num_minutes(),
        wall.elapsed().as_millis()
    );
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn discovery_faults_fail_the_registration_test_with_a_reason_within_the_bound() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &[]);
    let faults = [
        ("drop", json!({"mode": "drop"})),
        ("5xx 500", json!({"mode": "5xx", "status": 500})),
        (
            "429 Retry-After 2",
            json!({"mode": "429", "retry_after": 2}),
        ),
        ("truncated JSON", json!({"mode": "truncated"})),
        ("malformed JSON", json!({"mode": "malformed"})),
        ("text/html 200", json!({"mode": "html"})),
        ("huge body 8 MiB", json!({"mode": "huge"})),
    ];
    let mut figures = Vec::new();
    for (name, fault) in faults {
        let mut body = fault.clone();
        body["endpoint"] = json!("discovery");
        body["count"] = json!(1);
        env.idp.post("/_control/faults", &body);
        let started = Instant::now();
        let out = run_quick(&env, &["--json", "app", "test", "desktop"]);
        let took = started.elapsed();
        assert!(took < BOUND, "{name}: the CLI took {took:?}");
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{name}: {}", stderr(&out)));
        assert_eq!(report["ok"], false, "{name}: {report:#}");
        let failed = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["status"] == "failed")
            .unwrap_or_else(|| panic!("{name}: {report:#}"))
            .clone();
        let message = failed["message"].as_str().unwrap_or_default().to_owned();
        assert!(!message.is_empty(), "{name}: {report:#}");
        figures.push(Figure {
            fault: name.to_owned(),
            cli_ms: took.as_millis(),
            state: "failed".to_owned(),
            reason: message,
        });
        let out = run_quick(&env, &["--json", "app", "test", "desktop"]);
        let again: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(again["ok"], true, "{name}: works once cleared: {again:#}");
    }
    print_figures("discovery faults (app test):", &figures);
}
