//! Every entry of the AADSTS catalogue, end to end: the test identity provider (`tests/idp`)
//! answers one refresh with Microsoft's error body for the code (its `aadsts` fault: `error`,
//! `error_description` "`AADSTSn`: ... Trace ID ... Correlation ID ... Timestamp", `error_codes`,
//! `trace_id`, `correlation_id`, `timestamp`, `error_uri`), and the engine's refresh must leave
//! the connection in the state of the code's class, with the catalogue's message, fix and remedy,
//! the support IDs kept, and the same words `mailconn explain` prints. One provider, one
//! connection, one refresh per entry. Run through `scripts/test.sh`, or
//! `cargo test -p mailconn-core --test aadsts_catalogue -- --include-ignored`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use mailconn_core::aadsts::{self, CATALOGUE, Entry, ErrorClass, Found};
use mailconn_core::clock::SystemClock;
use mailconn_core::connect::{ConnectOptions, finish, prepare};
use mailconn_core::connection::{StateKind, TokenState};
use mailconn_core::engine::{Config, Engine};
use mailconn_core::flow::auth_code;
use mailconn_core::keychain::MemoryKeychain;
use mailconn_core::paths::DataDir;
use mailconn_core::registration::RegistrationInput;
use mailconn_core::service::registrations as service;
use mailconn_core::store::Store;
use mailconn_testkit::{Idp, browse};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The OAuth error name and HTTP status Microsoft sends with a code (the provider's default
/// status is 400, 401 for `invalid_client`).
fn wire(entry: &Entry) -> (&'static str, Option<u16>) {
    match entry.code {
        90033 => ("temporarily_unavailable", Some(503)),
        90055 => ("temporarily_unavailable", Some(429)),
        50000 => ("server_error", Some(500)),
        700016 | 9002332 => ("unauthorized_client", None),
        70011 | 1002012 => ("invalid_scope", None),
        500011 => ("invalid_resource", None),
        // 50196 is sent as a plain 400, so that the catalogue's class alone makes it temporary.
        90002 | 50059 | 50128 | 9001023 | 50194 | 900144 | 90014 | 9002313 | 50011 | 500113
        | 700054 | 50196 => ("invalid_request", None),
        50076 | 50079 | 50078 | 50158 => ("interaction_required", None),
        _ if entry.class == ErrorClass::Secret => ("invalid_client", None),
        700025 | 7000229 | 700024 => ("invalid_client", None),
        _ => ("invalid_grant", None),
    }
}

/// The state each class leaves a connection in after a refresh.
fn expected_state(class: ErrorClass) -> StateKind {
    match class {
        ErrorClass::Transient => StateKind::Retrying,
        ErrorClass::Secret => StateKind::SecretExpired,
        ErrorClass::Consent => StateKind::NeedsConsent,
        ErrorClass::SignIn | ErrorClass::Setup | ErrorClass::Policy | ErrorClass::Restart => {
            StateKind::NeedsSignIn
        }
    }
}

/// The provider, a public app on it and one signed-in connection, and the engine over them.
struct World {
    rt: tokio::runtime::Runtime,
    idp: Idp,
    _dir: tempfile::TempDir,
    engine: Engine,
    id: String,
}

fn world() -> World {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let idp = Idp::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path().join("data")).unwrap();
    let store = Arc::new(Store::open(&data.database()).unwrap());
    let keys = Arc::new(MemoryKeychain::new());
    let http = mailconn_core::http::client();
    let input: RegistrationInput = serde_json::from_value(json!({
        "name": "desktop",
        "client_id": idp.fixture("/clients/public/client_id"),
        "kind": "public",
        "tenant": "common",
        "cloud": "custom",
        "authority_url": idp.base,
        "graph_url": "http://127.0.0.1:9",
        "usage": "delegated",
        "audience": "any_organization_and_personal",
        "preset": "full",
    }))
    .unwrap();
    service::create(&store, keys.as_ref(), &input, Utc::now()).unwrap();
    let options = ConnectOptions {
        registration: "desktop".to_owned(),
        login_hint: Some("alice@contoso.test".to_owned()),
        ..ConnectOptions::default()
    };
    let prepared = prepare(&store, keys.as_ref(), &options).unwrap();
    let id = rt.block_on(async {
        let pending = auth_code::begin(prepared.sign_in.clone(), None)
            .await
            .unwrap();
        let url = pending.url().to_owned();
        let browser = tokio::task::spawn_blocking(move || browse(&url));
        let (tokens, identity) = pending
            .complete(&http, Duration::from_secs(30), &CancellationToken::new())
            .await
            .unwrap();
        assert!(browser.await.unwrap().status < 500);
        finish(&store, keys.as_ref(), &prepared, &tokens, &identity)
            .unwrap()
            .0
            .id
    });
    let engine = Engine::new(
        store,
        keys,
        http,
        Arc::new(SystemClock),
        data.locks(),
        Config::default(),
    );
    World {
        rt,
        idp,
        _dir: dir,
        engine,
        id,
    }
}

/// Feeds one entry's code to the next refresh and checks what the user gets; returns the state.
fn feed(w: &World, entry: &Entry) -> StateKind {
    let code = entry.code;
    let (error, status) = wire(entry);
    let mut fault = json!({
        "endpoint": "token", "mode": "aadsts", "count": 1,
        "code": code, "error": error, "message": entry.microsoft,
    });
    if let Some(status) = status {
        fault["status"] = json!(status);
    }
    let set = w.idp.post("/_control/faults", &fault);
    assert_eq!(set["code"], code, "the provider took the fault: {set}");

    let report = w.rt.block_on(w.engine.refresh(&w.id)).unwrap();
    let body = report
        .error
        .unwrap_or_else(|| panic!("AADSTS{code}: the refresh succeeded"));
    let message = format!("{} (AADSTS{code})", entry.meaning);
    assert_eq!(body.message, message, "AADSTS{code}");
    let detail = body.detail.expect("detail");
    assert_eq!(detail.aadsts, Some(code));
    assert_eq!(detail.oauth_error.as_deref(), Some(error), "AADSTS{code}");
    assert_eq!(detail.remedy, Some(entry.remedy), "AADSTS{code}");
    assert_eq!(detail.fix.as_deref(), Some(entry.fix), "AADSTS{code}");
    for (name, id) in [
        ("trace", &detail.trace_id),
        ("correlation", &detail.correlation_id),
        ("timestamp", &detail.timestamp),
    ] {
        assert!(
            id.as_deref().is_some_and(|v| !v.is_empty()),
            "AADSTS{code}: {name}"
        );
    }

    // The state of the code's class, with the words the user reads.
    let state = &report.connection.state;
    let expected = expected_state(entry.class);
    assert_eq!(state.kind(), expected, "AADSTS{code}: {state:?}");
    if let TokenState::Retrying { last_error, .. } = state {
        assert_eq!(*last_error, message, "AADSTS{code}");
    } else {
        assert_eq!(state.aadsts(), Some(code));
        assert_eq!(
            state.reason(),
            Some(format!("{message} {}", entry.fix).as_str()),
            "AADSTS{code}"
        );
    }

    // `mailconn explain` says the same for the code.
    let explained = aadsts::explain(&format!("AADSTS{code}"));
    assert_eq!(explained.found, Found::Known);
    assert_eq!(explained.meaning, Some(entry.meaning));
    assert_eq!(explained.fix, Some(entry.fix));
    assert_eq!(explained.remedy, Some(entry.remedy));
    assert_eq!(explained.consequence, Some(entry.class.consequence()));
    expected
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn every_catalogue_entry_fed_as_microsofts_error_sets_its_state_message_and_remedy() {
    let w = world();
    let started = Instant::now();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for entry in CATALOGUE {
        *counts.entry(feed(&w, entry).as_str()).or_default() += 1;
    }
    let took = started.elapsed();

    // Every fault reached the provider's token endpoint as a refresh, once each, in order.
    let injected: Vec<u64> = w
        .idp
        .token_requests()
        .iter()
        .filter(|e| e["injected"] == "aadsts")
        .map(|e| e["error_codes"][0].as_u64().unwrap())
        .collect();
    let codes: Vec<u64> = CATALOGUE.iter().map(|e| u64::from(e.code)).collect();
    assert_eq!(injected, codes);

    // The sign-in survived all of it: the next refresh works.
    let report = w.rt.block_on(w.engine.refresh(&w.id)).unwrap();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.connection.state.kind(), StateKind::Active);
    eprintln!(
        "{} catalogue entries through the token endpoint in {} ms: {counts:?}",
        CATALOGUE.len(),
        took.as_millis()
    );
}
