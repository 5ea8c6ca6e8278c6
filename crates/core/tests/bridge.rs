//! The bridge keeps the connections it serves alive without any client: with a bridge password
//! on one connection and the bridge started (no program ever connects), moving a fake clock past
//! the access token's expiry makes the engine refresh that connection, while a connection
//! without a bridge password keeps its idle keep-alive a week away. Against the test identity
//! provider (`tests/idp`); secrets in a `MemoryKeychain`. Run through `scripts/test.sh`, or
//! `cargo test -p mailconn-core --test bridge -- --include-ignored`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use mailconn_core::clock::{Clock, FakeClock};
use mailconn_core::connect::{ConnectOptions, finish, prepare};
use mailconn_core::connection::{Connection, TokenState};
use mailconn_core::engine::Config;
use mailconn_core::flow::auth_code;
use mailconn_core::keychain::MemoryKeychain;
use mailconn_core::paths::DataDir;
use mailconn_core::registration::RegistrationInput;
use mailconn_core::service::bridge::PortOverrides;
use mailconn_core::service::registrations;
use mailconn_core::service::{Options, Service};
use mailconn_core::store::Store;
use mailconn_testkit::{Idp, browse};
use serde_json::json;
use tokio_util::sync::CancellationToken;

struct Env {
    idp: Idp,
    _dir: tempfile::TempDir,
    data: DataDir,
    store: Arc<Store>,
    keys: Arc<MemoryKeychain>,
    http: reqwest::Client,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        let store = Arc::new(Store::open(&data.database()).unwrap());
        Self {
            idp: Idp::start(&[]),
            _dir: dir,
            data,
            store,
            keys: Arc::new(MemoryKeychain::new()),
            http: mailconn_core::http::client(),
        }
    }

    /// A public app with the mail-programs preset (IMAP, POP, SMTP), on the custom cloud.
    fn add_app(&self) {
        let input: RegistrationInput = serde_json::from_value(json!({
            "name": "desktop",
            "client_id": self.idp.fixture("/clients/public/client_id"),
            "kind": "public",
            "tenant": "common",
            "cloud": "custom",
            "authority_url": self.idp.base,
            "graph_url": "http://127.0.0.1:9",
            "usage": "delegated",
            "audience": "any_organization_and_personal",
            "preset": "mail-programs",
        }))
        .unwrap();
        registrations::create(&self.store, self.keys.as_ref(), &input, Utc::now()).unwrap();
    }

    async fn sign_in(&self, who: &str) -> Connection {
        let options = ConnectOptions {
            registration: "desktop".to_owned(),
            login_hint: Some(who.to_owned()),
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
        assert!(browser.await.unwrap().status < 500);
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

    /// Refresh requests the provider saw (its log is read with a blocking client).
    fn refresh_requests(&self) -> usize {
        tokio::task::block_in_place(|| {
            self.idp
                .token_requests()
                .into_iter()
                .filter(|e| e["grant_type"] == "refresh_token")
                .count()
        })
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` (every 50 ms, up to 20 s of real time) until it gives a value.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
async fn a_served_connection_is_refreshed_before_expiry_without_clients_and_others_are_not() {
    let env = Env::new();
    env.add_app();
    let served = env.sign_in("alice@contoso.test").await;
    let idle = env.sign_in("bob@contoso.test").await;
    let expiry = served.access_expires_at.expect("a token from the sign-in");

    let clock = Arc::new(FakeClock::new(Utc::now()));
    let service = Arc::new(
        Service::with_options(
            env.data.clone(),
            env.keys.clone(),
            Options {
                clock: clock.clone(),
                // Wake often in real time, so that a move of the fake clock is seen at once.
                engine: Config {
                    idle_wake: Duration::from_millis(100),
                    ..Config::default()
                },
                ..Options::default()
            },
        )
        .unwrap(),
    );
    let running = tokio::spawn(service.clone().run());

    // The scheduler's first pass: both idle, their keep-alive a week after the sign-in.
    let week = |c: &Connection| c.last_refresh_at.unwrap() + TimeDelta::days(7);
    for c in [&served, &idle] {
        let id = c.id.clone();
        eventually("the first pass schedules the connections", async || {
            let now = service.connection(&id).await.unwrap();
            (now.next_refresh_at == Some(week(c))).then_some(())
        })
        .await;
    }

    service
        .add_bridge_password(&served.address, "Office scanner")
        .await
        .unwrap();
    let imap = free_port();
    let status = service
        .start_bridge(PortOverrides {
            imap: Some(imap),
            imaps: Some(0),
            pop: Some(0),
            pops: Some(0),
            smtp: Some(0),
            smtps: Some(0),
        })
        .await
        .unwrap();
    assert!(status.running);
    assert_eq!(status.listeners.len(), 1, "{:?}", status.listeners);
    assert!(status.sessions.is_empty(), "no program connected");
    // The first start made the certificate; the ports given for this run were not saved.
    assert!(status.certificate_fingerprint.is_some());
    assert_eq!(
        service.bridge_settings().await.unwrap(),
        mailconn_core::bridge::BridgeSettings::default(),
        "one run's ports are not the saved settings"
    );

    // Served by the bridge: marked in use, so due before its access token runs out.
    let id = served.id.clone();
    let due = eventually("the served connection is due before expiry", async || {
        let c = service.connection(&id).await.unwrap();
        c.next_refresh_at.filter(|at| *at < expiry)
    })
    .await;
    assert!(due > clock.now(), "{due}");
    assert_eq!(env.refresh_requests(), 0, "nothing was due yet");

    clock.set(expiry + TimeDelta::seconds(1));
    let after = clock.now();
    let refreshed = eventually("the engine refreshes the served connection", async || {
        let c = service.connection(&id).await.unwrap();
        (c.last_refresh_at == Some(after)).then_some(c)
    })
    .await;
    assert_eq!(refreshed.state, TokenState::ACTIVE);
    assert!(refreshed.access_expires_at.unwrap() > after);
    assert_eq!(env.refresh_requests(), 1);

    // Not served: its access token ran out too, and it waits for its weekly keep-alive.
    let other = service.connection(&idle.id).await.unwrap();
    assert_eq!(other.last_refresh_at, idle.last_refresh_at);
    assert_eq!(other.next_refresh_at, Some(week(&idle)));
    assert_eq!(other.last_used_at, None);
    assert_eq!(env.refresh_requests(), 1, "only the served one");

    service.stop_bridge().await.unwrap();
    service.shutdown();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the background work stops on shutdown")
        .unwrap();
}
