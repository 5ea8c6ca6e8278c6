//! The refresh engine against the test identity provider (`tests/idp`): single flight, rotation
//! and its durability order, transient failures and recovery, permanent failures and the states
//! they set, and the keep-alive schedule on a fake clock. Secrets live in a `MemoryKeychain`
//! (these tests are about the engine, not the keychain). Run through `scripts/test.sh`, or
//! `cargo test -p mailconn-core --test engine -- --include-ignored`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use mailconn_core::Sensitive;
use mailconn_core::clock::{Clock, FakeClock, SystemClock};
use mailconn_core::connect::{ConnectOptions, finish, prepare};
use mailconn_core::connection::{Connection, StateKind, TokenState};
use mailconn_core::engine::{Config, Engine};
use mailconn_core::flow::auth_code;
use mailconn_core::keychain::{Keychain, KeychainError, MemoryKeychain, SecretKey};
use mailconn_core::paths::DataDir;
use mailconn_core::registration::{Registration, RegistrationInput};
use mailconn_core::resource::Resource;
use mailconn_core::service::registrations as service;
use mailconn_core::store::Store;
use mailconn_testkit::{Idp, browse};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// A keychain that remembers, for every refresh token written, what the connection's row said
/// at that moment (its last refresh), so a test can tell which of the two was written first.
#[derive(Debug)]
struct Keys {
    inner: MemoryKeychain,
    store: Arc<Store>,
    writes: Mutex<Vec<(String, Option<DateTime<Utc>>)>>,
}

impl Keychain for Keys {
    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<(), KeychainError> {
        let row = self
            .store
            .list_connections()
            .unwrap()
            .into_iter()
            .find(|c| *key == SecretKey::refresh_token(&c.id));
        if let Some(c) = row {
            self.writes
                .lock()
                .unwrap()
                .push((value.expose().clone(), c.last_refresh_at));
        }
        self.inner.set(key, value)
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError> {
        self.inner.get(key)
    }

    fn delete(&self, key: &SecretKey) -> Result<(), KeychainError> {
        self.inner.delete(key)
    }
}

struct Env {
    idp: Idp,
    _dir: tempfile::TempDir,
    data: DataDir,
    store: Arc<Store>,
    keys: Arc<Keys>,
    http: reqwest::Client,
}

impl Env {
    fn new(idp_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        let store = Arc::new(Store::open(&data.database()).unwrap());
        let keys = Arc::new(Keys {
            inner: MemoryKeychain::new(),
            store: store.clone(),
            writes: Mutex::new(Vec::new()),
        });
        Self {
            idp: Idp::start(idp_env),
            _dir: dir,
            data,
            store,
            keys,
            http: mailconn_core::http::client(),
        }
    }

    fn engine(&self, clock: Arc<dyn Clock>) -> Arc<Engine> {
        Arc::new(Engine::new(
            self.store.clone(),
            self.keys.clone(),
            self.http.clone(),
            clock,
            self.data.locks(),
            Config {
                retry_base: Duration::from_secs(1),
                retry_max: Duration::from_secs(8),
                lock_wait: Duration::from_secs(20),
                ..Config::default()
            },
        ))
    }

    /// A registration of one of the provider's clients (`public` or `web`, with its secret).
    fn add_app(&self, name: &str, client: &str) -> Registration {
        let confidential = client == "web";
        let mut input = json!({
            "name": name,
            "client_id": self.idp.fixture(&format!("/clients/{client}/client_id")),
            "kind": if confidential { "confidential" } else { "public" },
            "tenant": "common",
            "cloud": "custom",
            "authority_url": self.idp.base,
            "graph_url": "http://127.0.0.1:9",
            "usage": "delegated",
            "audience": "any_organization_and_personal",
            "preset": "full",
        });
        if confidential {
            input["secret"] = json!(self.idp.fixture("/clients/web/secrets/0/value"));
            input["secret_expires"] = json!("2099-01-01");
        }
        let input: RegistrationInput = serde_json::from_value(input).unwrap();
        service::create(&self.store, self.keys.as_ref(), &input, Utc::now())
            .unwrap()
            .0
    }

    /// Signs in through the browser flow (the provider signs in `login_hint`).
    async fn connect(&self, app: &str, login_hint: &str) -> Connection {
        let options = ConnectOptions {
            registration: app.to_owned(),
            login_hint: Some(login_hint.to_owned()),
            ..ConnectOptions::default()
        };
        let prepared = prepare(&self.store, self.keys.as_ref(), &options).unwrap();
        let pending = auth_code::begin(prepared.sign_in.clone(), None)
            .await
            .unwrap();
        let url = pending.url().to_owned();
        let browser = tokio::task::spawn_blocking(move || browse(&url));
        let (tokens, identity) = pending
            .complete(
                &self.http,
                Duration::from_secs(30),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        let page = browser.await.unwrap();
        assert!(page.status < 500, "{}: {}", page.url, page.body);
        finish(
            &self.store,
            self.keys.as_ref(),
            &prepared,
            &tokens,
            &identity,
        )
        .unwrap()
        .0
    }

    fn refresh_token(&self, id: &str) -> Option<String> {
        self.keys
            .get(&SecretKey::refresh_token(id))
            .unwrap()
            .map(|t| t.expose().clone())
    }

    fn refresh_requests(&self) -> usize {
        self.idp
            .token_requests()
            .iter()
            .filter(|e| e["grant_type"] == "refresh_token")
            .count()
    }

    fn connection(&self, id: &str) -> Connection {
        self.store.get_connection(id).unwrap()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn twenty_concurrent_access_token_calls_make_one_token_request() {
    let rt = runtime();
    let env = Env::new(&[]);
    env.add_app("desktop", "public");
    let id = rt.block_on(env.connect("desktop", "alice@contoso.test")).id;
    let engine = env.engine(Arc::new(SystemClock));
    let tokens = rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (engine, id) = (engine.clone(), id.clone());
            tasks.spawn(async move {
                engine
                    .access_token(&id, Resource::Graph)
                    .await
                    .unwrap()
                    .token
            });
        }
        let mut out = Vec::new();
        while let Some(t) = tasks.join_next().await {
            out.push(t.unwrap().expose().clone());
        }
        out
    });
    assert_eq!(tokens.len(), 20);
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
    assert_eq!(engine.token_requests(), 1);
    assert_eq!(env.refresh_requests(), 1);
    assert_eq!(env.connection(&id).state, StateKind::Active);
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn a_rotated_refresh_token_reaches_the_keychain_before_the_row_and_the_old_one_still_works() {
    let rt = runtime();
    let env = Env::new(&[]);
    let reg = env.add_app("desktop", "public");
    let conn = rt.block_on(env.connect("desktop", "alice@contoso.test"));
    let old = env.refresh_token(&conn.id).expect("stored at sign-in");
    // The sign-in stored its token through the same path: before its row existed.
    assert_eq!(env.keys.writes.lock().unwrap().len(), 0, "no row yet then");
    let engine = env.engine(Arc::new(SystemClock));

    let report = rt.block_on(engine.refresh(&conn.id)).unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.rotated);
    let new = env.refresh_token(&conn.id).unwrap();
    assert_ne!(new, old, "the rotated token replaced the old one");
    let after = env.connection(&conn.id);
    assert!(after.last_refresh_at > conn.last_refresh_at);
    let writes = env.keys.writes.lock().unwrap().clone();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].0, new);
    assert_eq!(
        writes[0].1, conn.last_refresh_at,
        "the row still showed the previous refresh when the new token was written"
    );

    // The old token still works at the provider (so a crash before the keychain write loses
    // nothing either).
    let cloud = reg.cloud().unwrap();
    let scope = conn.scopes_requested.join(" ");
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", reg.client_id.as_str()),
        ("refresh_token", old.as_str()),
        ("scope", scope.as_str()),
    ];
    let request = env.http.post(cloud.token_url("common")).form(&form);
    let answer = rt.block_on(async { request.send().await }).unwrap();
    assert_eq!(answer.status(), 200);
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn the_provider_down_gives_retrying_keeps_the_token_and_recovers() {
    let rt = runtime();
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("idp.json");
    let idp_env = [("IDP_STATE_FILE", file.to_str().unwrap())];
    let mut env = Env::new(&idp_env);
    env.add_app("desktop", "public");
    let id = rt.block_on(env.connect("desktop", "alice@contoso.test")).id;
    let token = env.refresh_token(&id).unwrap();
    let engine = env.engine(Arc::new(SystemClock));

    let port = env.idp.port;
    env.idp.stop();
    for attempt in 1..=2 {
        let asked = Utc::now();
        let report = rt.block_on(engine.refresh(&id)).unwrap();
        assert!(report.error.is_some());
        let TokenState::Retrying {
            attempt: n,
            next_at,
            last_error,
        } = &report.connection.state
        else {
            panic!("{:?}", report.connection.state);
        };
        assert_eq!(*n, attempt);
        // 1 s, then 2 s, each with up to 20 % jitter.
        let backoff = TimeDelta::seconds(1 << (attempt - 1));
        assert!(
            *next_at >= asked + backoff * 4 / 5,
            "{next_at} after {asked}"
        );
        assert!(*next_at <= Utc::now() + backoff * 6 / 5, "{next_at}");
        assert_eq!(report.connection.next_refresh_at, Some(*next_at));
        assert!(last_error.contains("could not be reached"), "{last_error}");
        assert_eq!(
            env.refresh_token(&id).as_deref(),
            Some(token.as_str()),
            "kept"
        );
    }

    env.idp = Idp::start_on(port, &idp_env);
    let report = rt.block_on(engine.refresh(&id)).unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.connection.state, TokenState::ACTIVE);
    assert_eq!(report.connection.state.attempt(), 0);
    let kinds: Vec<String> = env
        .store
        .events(&id, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        &kinds[..4],
        ["recovered", "refreshed", "failed", "failed"],
        "{kinds:?}"
    );
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn server_errors_and_throttling_are_retried_and_honour_retry_after() {
    let rt = runtime();
    let env = Env::new(&[]);
    env.add_app("desktop", "public");
    let id = rt.block_on(env.connect("desktop", "alice@contoso.test")).id;
    let engine = env.engine(Arc::new(SystemClock));

    env.idp.post(
        "/_control/token-endpoint",
        &json!({"mode": "5xx", "count": 1}),
    );
    let report = rt.block_on(engine.refresh(&id)).unwrap();
    assert_eq!(report.connection.state, StateKind::Retrying);
    assert_eq!(report.connection.state.attempt(), 1);
    assert!(env.refresh_token(&id).is_some());

    env.idp.post(
        "/_control/token-endpoint",
        &json!({"mode": "429", "retry_after": 3, "count": 1}),
    );
    let asked = Utc::now();
    let report = rt.block_on(engine.refresh(&id)).unwrap();
    let TokenState::Retrying {
        attempt, next_at, ..
    } = report.connection.state
    else {
        panic!("{:?}", report.connection.state);
    };
    assert_eq!(attempt, 2, "a second failure in a row");
    assert!(
        next_at - asked >= TimeDelta::seconds(3),
        "{next_at} is before Retry-After"
    );
    assert!(
        next_at - asked < TimeDelta::seconds(5),
        "and not much later"
    );

    // Not due before Retry-After; due after it, and then working again.
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 0);
    std::thread::sleep(
        (next_at - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(50),
    );
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 1);
    assert_eq!(env.connection(&id).state, TokenState::ACTIVE);
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn a_revoked_grant_needs_sign_in_with_the_reason_and_aadsts_code() {
    let rt = runtime();
    let env = Env::new(&[]);
    env.add_app("desktop", "public");
    let alice = rt.block_on(env.connect("desktop", "alice@contoso.test")).id;
    let bob = rt.block_on(env.connect("desktop", "bob@contoso.test")).id;
    let engine = env.engine(Arc::new(SystemClock));
    env.idp
        .post("/_control/users/alice@contoso.test/revoke", &json!({}));

    let report = rt.block_on(engine.refresh(&alice)).unwrap();
    assert_eq!(report.error.unwrap().detail.unwrap().aadsts, Some(50173));
    let c = env.connection(&alice);
    let TokenState::NeedsSignIn { reason, aadsts } = &c.state else {
        panic!("{:?}", c.state);
    };
    assert_eq!(*aadsts, Some(50173));
    assert!(reason.contains("Sign in"), "{reason}");
    assert_eq!(c.next_refresh_at, None, "no retry is scheduled");
    assert!(c.needs_attention());
    assert_eq!(
        rt.block_on(engine.run_due()).unwrap(),
        0,
        "the scheduler leaves it"
    );
    assert_eq!(
        env.connection(&bob).state,
        StateKind::Active,
        "others unaffected"
    );
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn an_expired_client_secret_marks_every_connection_of_the_app() {
    let rt = runtime();
    let env = Env::new(&[]);
    env.add_app("web", "web");
    let ids: Vec<String> = ["alice@contoso.test", "bob@contoso.test"]
        .iter()
        .map(|a| rt.block_on(env.connect("web", a)).id)
        .collect();
    let engine = env.engine(Arc::new(SystemClock));
    let client = env.idp.fixture("/clients/web/client_id");
    let key = env.idp.fixture("/clients/web/secrets/0/keyId");
    env.idp.post(
        &format!("/_control/clients/{client}/secrets/{key}/expire"),
        &json!({}),
    );

    let report = rt.block_on(engine.refresh(&ids[0])).unwrap();
    assert_eq!(report.error.unwrap().detail.unwrap().aadsts, Some(7000222));
    for id in &ids {
        let c = env.connection(id);
        let TokenState::SecretExpired { reason, aadsts } = &c.state else {
            panic!("{id}: {:?}", c.state);
        };
        assert_eq!(*aadsts, Some(7000222));
        assert!(reason.contains("secret"), "{reason}");
        assert_eq!(c.next_refresh_at, None);
        assert!(env.refresh_token(id).is_some(), "the refresh token is kept");
    }
    assert_eq!(
        env.refresh_requests(),
        1,
        "one request found it out for both"
    );
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn idle_connections_get_a_keep_alive_on_the_schedule() {
    let rt = runtime();
    let env = Env::new(&[]);
    env.add_app("desktop", "public");
    let id = rt.block_on(env.connect("desktop", "alice@contoso.test")).id;
    let clock = Arc::new(FakeClock::new(Utc::now()));
    let engine = env.engine(clock.clone());

    // The first pass only schedules the new connection: it was refreshed at sign-in.
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 0);
    let conn = env.connection(&id);
    let keep_alive = conn.next_refresh_at.unwrap();
    assert_eq!(
        keep_alive,
        conn.last_refresh_at.unwrap() + TimeDelta::days(7)
    );

    clock.advance(TimeDelta::days(6));
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 0);
    assert_eq!(env.refresh_requests(), 0, "idle and not due: no request");
    clock.set(keep_alive + TimeDelta::seconds(1));
    assert_eq!(rt.block_on(engine.run_due()).unwrap(), 1);
    assert_eq!(env.refresh_requests(), 1);
    let conn = env.connection(&id);
    assert_eq!(conn.state, TokenState::ACTIVE);
    let refreshed = keep_alive + TimeDelta::seconds(1);
    assert_eq!(conn.last_refresh_at, Some(refreshed));
    assert_eq!(conn.next_refresh_at, Some(refreshed + TimeDelta::days(7)));
    assert_eq!(
        conn.inactivity_deadline,
        Some(refreshed + TimeDelta::days(90)),
        "the 90-day limit starts again"
    );
}
