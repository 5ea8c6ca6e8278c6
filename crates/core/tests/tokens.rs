//! Access tokens per resource against the test identity provider (`tests/idp`): Graph and
//! Outlook tokens from one refresh token under one single flight (one rotation at a time, one
//! request per audience however many callers), a program polling every minute on a fake clock
//! (refreshed within the margin, one history entry per hour), and the Service's errors. Secrets
//! live in a `MemoryKeychain`. Run through `scripts/test.sh`, or
//! `cargo test -p mailconn-core --test tokens -- --include-ignored`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use mailconn_core::clock::{Clock, FakeClock, SystemClock};
use mailconn_core::connect::{ConnectOptions, finish, prepare};
use mailconn_core::connection::{Connection, ConnectionKind, StateKind, TokenState};
use mailconn_core::engine::{Config, Engine};
use mailconn_core::error::Remedy;
use mailconn_core::flow::auth_code;
use mailconn_core::flow::identity::AccountType;
use mailconn_core::keychain::{Keychain, KeychainError, MemoryKeychain, SecretKey, SecretKind};
use mailconn_core::paths::DataDir;
use mailconn_core::registration::RegistrationInput;
use mailconn_core::resource::Resource;
use mailconn_core::scopes::Preset;
use mailconn_core::service::registrations;
use mailconn_core::service::tokens::{Mechanism, TokenUse};
use mailconn_core::service::{Options, Service};
use mailconn_core::store::Store;
use mailconn_core::store::connections::NewConnection;
use mailconn_core::{ErrorCode, Sensitive};
use mailconn_testkit::{Idp, browse};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Counts refresh-token writes (each one a rotation stored).
#[derive(Debug, Default)]
struct Keys {
    inner: MemoryKeychain,
    rotations: Mutex<u32>,
}

impl Keychain for Keys {
    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<(), KeychainError> {
        if key.kind == SecretKind::RefreshToken {
            *self.rotations.lock().unwrap() += 1;
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
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path().join("data")).unwrap();
        let store = Arc::new(Store::open(&data.database()).unwrap());
        Self {
            idp: Idp::start(&[]),
            _dir: dir,
            data,
            store,
            keys: Arc::new(Keys::default()),
            http: mailconn_core::http::client(),
        }
    }

    fn add_app(&self, preset: &str) {
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
            "preset": preset,
        }))
        .unwrap();
        registrations::create(&self.store, self.keys.as_ref(), &input, Utc::now()).unwrap();
    }

    async fn sign_in(&self, preset: Option<Preset>, reconnect: Option<String>) -> Connection {
        let options = ConnectOptions {
            registration: "desktop".to_owned(),
            login_hint: Some("alice@contoso.test".to_owned()),
            preset,
            reconnect,
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

    fn refresh_requests(&self) -> Vec<serde_json::Value> {
        self.idp
            .token_requests()
            .into_iter()
            .filter(|e| e["grant_type"] == "refresh_token")
            .collect()
    }

    fn service(&self, clock: Arc<dyn Clock>) -> Service {
        Service::with_options(
            self.data.clone(),
            self.keys.clone(),
            Options {
                clock,
                engine: Config::default(),
                ..Options::default()
            },
        )
        .unwrap()
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
fn graph_and_imap_callers_at_once_make_one_request_per_audience_one_rotation_at_a_time() {
    let rt = runtime();
    let env = Env::new();
    env.add_app("full");
    let first = rt.block_on(env.sign_in(None, None));
    // Signed in again for mail programs: Graph's consent stays, Outlook's is added.
    let conn = rt.block_on(env.sign_in(Some(Preset::MailPrograms), Some(first.id.clone())));
    assert_eq!(conn.id, first.id);
    let rotations_before = *env.keys.rotations.lock().unwrap();
    let engine = Arc::new(Engine::new(
        env.store.clone(),
        env.keys.clone(),
        env.http.clone(),
        Arc::new(SystemClock),
        env.data.locks(),
        Config::default(),
    ));
    env.idp.post(
        "/_control/token-endpoint",
        &json!({"mode": "delay", "delay_ms": 300, "count": 2}),
    );
    let got: Vec<(Resource, String)> = rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..20 {
            let resource = [
                Resource::Graph,
                Resource::Imap,
                Resource::Smtp,
                Resource::Pop,
            ][n % 4];
            let (engine, id) = (engine.clone(), conn.id.clone());
            tasks.spawn(async move {
                let t = engine.access_token(&id, resource).await.unwrap();
                (resource, t.token.expose().clone())
            });
        }
        tasks.join_all().await
    });
    let graph: Vec<&String> = got
        .iter()
        .filter(|(r, _)| *r == Resource::Graph)
        .map(|(_, t)| t)
        .collect();
    let outlook: Vec<&String> = got
        .iter()
        .filter(|(r, _)| *r != Resource::Graph)
        .map(|(_, t)| t)
        .collect();
    assert!(graph.iter().all(|t| *t == graph[0]), "one Graph token");
    assert!(
        outlook.iter().all(|t| *t == outlook[0]),
        "one Outlook token for IMAP, SMTP, POP"
    );
    assert_ne!(graph[0], outlook[0]);
    assert_eq!(
        graph[0].split('.').count(),
        3,
        "Graph: a JWT for a work account"
    );
    assert_eq!(outlook[0].split('.').count(), 1, "Outlook: opaque");
    assert_eq!(engine.token_requests(), 2, "one request per audience");
    assert_eq!(env.refresh_requests().len(), 2);
    assert_eq!(
        *env.keys.rotations.lock().unwrap() - rotations_before,
        2,
        "the refresh token rotated once per request, never lost to a parallel one"
    );
    // The granted list holds both resources' scopes.
    let after = env.store.get_connection(&conn.id).unwrap();
    assert!(
        after.scopes_granted.iter().any(|s| s == "Mail.ReadWrite"),
        "{:?}",
        after.scopes_granted
    );
    assert!(
        after
            .scopes_granted
            .iter()
            .any(|s| s.ends_with("/IMAP.AccessAsUser.All")),
        "{:?}",
        after.scopes_granted
    );
    assert!(
        after.scopes_missing.is_empty(),
        "{:?}",
        after.scopes_missing
    );
    let kinds: Vec<String> = env
        .store
        .events(&conn.id, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.summary)
        .collect();
    assert!(
        kinds
            .iter()
            .any(|s| s.starts_with("Refreshed for Microsoft Graph;")),
        "{kinds:?}"
    );
}

/// The connection's history entries for programs' fetches: summary and time, newest first.
fn token_lines(
    rt: &tokio::runtime::Runtime,
    service: &Service,
    id: &str,
) -> Vec<(String, DateTime<Utc>)> {
    rt.block_on(service.history(id, 50))
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "token")
        .map(|e| (e.summary, e.at))
        .collect()
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn a_program_polling_every_minute_is_refreshed_within_the_margin_and_folded_per_hour() {
    let rt = runtime();
    let env = Env::new();
    env.add_app("mail-programs");
    let conn = rt.block_on(env.sign_in(None, None));
    assert!(
        conn.programs_allowed,
        "the mail-programs preset lets programs in"
    );
    let t0: DateTime<Utc> = "2030-01-01T10:00:00Z".parse().unwrap();
    let clock = Arc::new(FakeClock::new(t0));
    let service = env.service(clock.clone());
    let poller = TokenUse::Program {
        name: "poller".to_owned(),
    };
    let mut tokens = Vec::new();
    for minute in 0..90 {
        clock.set(t0 + TimeDelta::minutes(minute));
        let t = rt
            .block_on(service.access_token(&conn.address, Resource::Imap, poller.clone()))
            .unwrap();
        assert!(
            t.expires_at - clock.now() > TimeDelta::minutes(5),
            "minute {minute}"
        );
        tokens.push(t.token.expose().clone());
    }
    // The first call refreshed; the token was handed out until 5 minutes before its expiry
    // (11:00), then refreshed once more.
    assert_eq!(env.refresh_requests().len(), 2);
    assert!(tokens[..55].iter().all(|t| *t == tokens[0]));
    assert!(tokens[55..].iter().all(|t| *t == tokens[55]));
    assert_ne!(tokens[0], tokens[55]);
    assert_eq!(
        token_lines(&rt, &service, &conn.id),
        [
            (
                "poller fetched an access token for IMAP (30 times within the hour)".to_owned(),
                t0 + TimeDelta::minutes(89)
            ),
            (
                "poller fetched an access token for IMAP (60 times within the hour)".to_owned(),
                t0 + TimeDelta::minutes(59)
            ),
        ]
    );
    let c = rt.block_on(service.connection(&conn.id)).unwrap();
    assert_eq!(
        c.last_used_at,
        Some(t0 + TimeDelta::minutes(89)),
        "marked in use"
    );
    // In use: the engine's next refresh is before the token's expiry, not a week away.
    let next = c.next_refresh_at.unwrap();
    assert!(next < t0 + TimeDelta::minutes(55 + 60), "{next}");

    // The app's own checks need no switch and leave no program entry.
    rt.block_on(service.set_program_access(&conn.id, false))
        .unwrap();
    let e = rt
        .block_on(service.access_token(&conn.id, Resource::Smtp, poller.clone()))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotAllowed);
    assert_eq!(
        e.message(),
        "Programs may not fetch the tokens of alice@contoso.test."
    );
    let own = rt
        .block_on(service.access_token(&conn.id, Resource::Smtp, TokenUse::App))
        .unwrap();
    assert_eq!(own.token.expose(), &tokens[55]);
    let r = rt
        .block_on(service.sasl_response(&conn.id, None, &Mechanism::Xoauth2, TokenUse::App))
        .unwrap();
    assert_eq!(r.resource, Resource::Imap, "IMAP by default");
    assert_eq!(
        r.raw.expose(),
        &format!(
            "user=alice@contoso.test\u{1}auth=Bearer {}\u{1}\u{1}",
            tokens[55]
        )
    );
    let history = rt.block_on(service.history(&conn.id, 50)).unwrap();
    assert_eq!(history.iter().filter(|e| e.kind == "token").count(), 2);
    assert_eq!(
        history.iter().filter(|e| e.kind == "token_refused").count(),
        1
    );
    assert!(history.iter().any(|e| e.kind == "programs"
        && e.summary == "Programs may no longer fetch this connection's tokens"));

    // Graph was never consented for this connection: the error names what is missing.
    let e = rt
        .block_on(service.access_token(&conn.id, Resource::Graph, TokenUse::App))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NeedsConsent);
    assert!(
        e.message()
            .contains("was not given access to Microsoft Graph"),
        "{}",
        e.message()
    );
    assert_eq!(env.refresh_requests().len(), 2, "no request for it");
}

/// A connection row written straight to the store (no sign-in, no network).
fn row(store: &Store, id: &str, kind: ConnectionKind, preset: Preset) {
    let scopes = preset.delegated_scopes();
    store
        .insert_connection(
            &NewConnection {
                id,
                registration_id: &store.find_registration("desktop").unwrap().id,
                kind,
                account_key: id,
                address: &format!("{id}@contoso.test"),
                display_name: None,
                tenant_id: None,
                account_type: AccountType::Work,
                preset,
                scopes_requested: &scopes,
                scopes_granted: &scopes,
                has_refresh_token: kind == ConnectionKind::Delegated,
                state: TokenState::ACTIVE,
                access_expires_at: None,
            },
            Utc::now(),
        )
        .unwrap();
}

#[test]
fn connections_that_cannot_hand_out_a_token_say_why_without_a_request() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path().join("data")).unwrap();
    let store = Arc::new(Store::open(&data.database()).unwrap());
    let keys = Arc::new(MemoryKeychain::new());
    let input: RegistrationInput = serde_json::from_value(json!({
        "name": "desktop", "client_id": "cccccccc-0000-4000-8000-000000000002", "kind": "public",
        "tenant": "common", "cloud": "custom",
        // Nothing listens there: any request would fail with a network error instead.
        "authority_url": "http://127.0.0.1:9", "graph_url": "http://127.0.0.1:9",
        "usage": "delegated", "audience": "any_organization_and_personal", "preset": "mail-programs",
    }))
    .unwrap();
    registrations::create(&store, keys.as_ref(), &input, Utc::now()).unwrap();
    row(
        &store,
        "app",
        ConnectionKind::Application,
        Preset::Application,
    );
    row(
        &store,
        "mail",
        ConnectionKind::Delegated,
        Preset::MailPrograms,
    );
    let engine = Engine::new(
        store.clone(),
        keys,
        mailconn_core::http::client(),
        Arc::new(SystemClock),
        data.locks(),
        Config::default(),
    );
    let fail = |id: &str, resource| rt.block_on(engine.access_token(id, resource)).unwrap_err();
    let fix = |e: &mailconn_core::Error| e.detail().and_then(|d| d.fix.clone()).unwrap_or_default();

    let e = fail("app", Resource::Imap);
    assert_eq!(e.code(), ErrorCode::Validation);
    assert_eq!(
        e.message(),
        "app@contoso.test is an application-access mailbox: it has Microsoft Graph tokens only, not IMAP."
    );
    assert!(fix(&e).contains("--preset mail-programs"), "{}", fix(&e));

    let e = fail("mail", Resource::Graph);
    assert_eq!(e.code(), ErrorCode::NeedsConsent);
    assert_eq!(
        e.message(),
        "The connection mail@contoso.test was not given access to Microsoft Graph: it lacks a Microsoft Graph permission (e.g. User.Read)."
    );
    assert_eq!(
        fix(&e),
        "Sign in again with that permission: `mailconn reconnect mail@contoso.test --preset read`."
    );

    stopped_states_say_what_to_run(&rt, &engine, &store);
    assert_eq!(engine.token_requests(), 0, "none of them asked Microsoft");
}

/// Each state someone must act on, refused with its reason, the command and the remedy.
fn stopped_states_say_what_to_run(rt: &tokio::runtime::Runtime, engine: &Engine, store: &Store) {
    let fail = |id: &str, resource| rt.block_on(engine.access_token(id, resource)).unwrap_err();
    let fix = |e: &mailconn_core::Error| e.detail().and_then(|d| d.fix.clone()).unwrap_or_default();
    let cases = [
        (
            TokenState::problem(
                StateKind::NeedsSignIn,
                "The sign-in was revoked.".into(),
                Some(50173),
            ),
            ErrorCode::NeedsSignIn,
            "mail@contoso.test needs you to sign in again: The sign-in was revoked.",
            "Sign in again: `mailconn reconnect mail@contoso.test` (or Reconnect in the app).",
            Some(Remedy::SignInAgain),
        ),
        (
            TokenState::problem(
                StateKind::NeedsConsent,
                "Consent is missing.".into(),
                Some(65001),
            ),
            ErrorCode::NeedsConsent,
            "mail@contoso.test needs consent before it can be used: Consent is missing.",
            "Sign in again and accept: `mailconn reconnect mail@contoso.test` (or Reconnect in the app).",
            Some(Remedy::SignInAgain),
        ),
        (
            TokenState::problem(
                StateKind::SecretExpired,
                "The secret expired.".into(),
                Some(7000222),
            ),
            ErrorCode::NeedsSignIn,
            "The client secret of \"desktop\" no longer works: The secret expired.",
            "Give the app a new client secret: `mailconn app rotate-secret desktop` (or Rotate in the app).",
            Some(Remedy::RotateSecret),
        ),
    ];
    for (state, code, message, expected_fix, remedy) in cases {
        store.record_state("mail", &state, Utc::now()).unwrap();
        let e = fail("mail", Resource::Smtp);
        assert_eq!(e.code(), code, "{message}");
        assert_eq!(e.message(), message);
        assert_eq!(fix(&e), expected_fix);
        assert_eq!(e.detail().unwrap().remedy, remedy);
        assert_eq!(e.detail().unwrap().aadsts, state.aadsts());
    }
    store
        .record_state(
            "app",
            &TokenState::problem(
                StateKind::NoAccess,
                "An access policy denies it.".into(),
                None,
            ),
            Utc::now(),
        )
        .unwrap();
    let e = fail("app", Resource::Graph);
    assert_eq!(e.code(), ErrorCode::NeedsConsent);
    assert_eq!(
        e.message(),
        "The app has no access to app@contoso.test: An access policy denies it."
    );
}
