//! Refresh-all as a pipeline (`engine/bulk.rs`) against the test identity provider, over a real
//! `SQLite` file: every connection refreshed exactly once, every rotated refresh token stored
//! before its row and usable afterwards, a batch whose secrets cannot be stored left as it was
//! with the keychain's reason, two engines over one data directory (the app and the CLI) never
//! refreshing one connection twice, and an access token asked for meanwhile sharing the bulk
//! run's request. Run through `scripts/test.sh`, or
//! `cargo test -p mailconn-core --test refresh_all -- --include-ignored`.

mod fleet;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use mailconn_core::Sensitive;
use mailconn_core::connection::StateKind;
use mailconn_core::keychain::{Keychain, KeychainError, MemoryKeychain, SecretKey, SecretKind};
use mailconn_core::resource::Resource;
use mailconn_core::store::Store;

use fleet::{fleet, refresh_requests, refresh_tokens};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A memory keychain that can be told to refuse `set_many`, and that notes, for every refresh
/// token written, what the connection's row said at that moment (its last refresh).
#[derive(Debug, Default)]
struct Keys {
    inner: MemoryKeychain,
    refuse: AtomicBool,
    /// A connection whose refresh token cannot be read (a damaged sealed row, say): reading it
    /// fails, and so does any `get_many` that includes it.
    unreadable: Mutex<Option<String>>,
    store: Mutex<Option<Arc<Store>>>,
    rows_at_write: Mutex<Vec<(String, Option<DateTime<Utc>>)>>,
}

impl Keychain for Keys {
    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<(), KeychainError> {
        self.inner.set(key, value)
    }
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError> {
        if self.unreadable.lock().unwrap().as_deref() == Some(key.id.as_str()) {
            return Err(KeychainError::Unreadable("the test row is damaged".into()));
        }
        self.inner.get(key)
    }
    fn get_many(
        &self,
        keys: &[SecretKey],
    ) -> Result<Vec<Option<Sensitive<String>>>, KeychainError> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    fn delete(&self, key: &SecretKey) -> Result<(), KeychainError> {
        self.inner.delete(key)
    }
    fn set_many(&self, items: &[(SecretKey, Sensitive<String>)]) -> Result<(), KeychainError> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(KeychainError::Locked(
                "the test keyring refuses every write".into(),
            ));
        }
        if let Some(store) = self.store.lock().unwrap().as_ref() {
            let mut seen = self.rows_at_write.lock().unwrap();
            for (key, _) in items {
                if key.kind == SecretKind::RefreshToken {
                    let row = store.get_connection(&key.id).unwrap();
                    seen.push((key.id.clone(), row.last_refresh_at));
                }
            }
        }
        self.inner.set_many(items)
    }
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn refresh_all_of_200_refreshes_each_once_and_stores_every_rotated_token_first() {
    let keys = Arc::new(Keys::default());
    let f = fleet(200, keys.as_ref());
    let (engine, store) = f.engine(keys.clone());
    *keys.store.lock().unwrap() = Some(store.clone());
    let before_rows = store.list_connections().unwrap();
    let before = refresh_tokens(keys.as_ref(), &f.ids);
    let rt = runtime();

    let reports = rt.block_on(engine.refresh_all()).unwrap();
    assert_eq!(reports.len(), 200);
    for r in &reports {
        assert!(r.error.is_none(), "{:?}", r.error);
        assert!(r.requested && r.rotated, "{}", r.connection.address);
        assert_eq!(r.connection.state, StateKind::Active);
    }
    // Exactly one token request per connection.
    assert_eq!(refresh_requests(&f.idp), 200);
    assert_eq!(engine.token_requests(), 200);
    // Every connection has a new refresh token of its own, read back from the store.
    let after = refresh_tokens(keys.as_ref(), &f.ids);
    let distinct: HashSet<&String> = after.iter().flatten().collect();
    assert_eq!(distinct.len(), 200);
    for (b, a) in before.iter().zip(&after) {
        assert_ne!(b, a);
    }
    // Each new token reached the store while its row still told of the previous refresh.
    let seen = keys.rows_at_write.lock().unwrap().clone();
    assert_eq!(seen.len(), 200);
    for (id, at_write) in seen {
        let old = before_rows.iter().find(|c| c.id == id).unwrap();
        assert_eq!(
            at_write, old.last_refresh_at,
            "{id}: the row was written first"
        );
    }
    // Rows and history.
    let now = Utc::now();
    for (c, old) in store.list_connections().unwrap().iter().zip(&before_rows) {
        assert_eq!(c.id, old.id);
        assert_eq!(c.state, StateKind::Active);
        assert!(c.last_refresh_at > old.last_refresh_at);
        assert!(c.access_expires_at.unwrap() > now);
        assert!(c.next_refresh_at.unwrap() > now, "scheduled");
        let events = store.events(&c.id, 10).unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].kind, "refreshed");
        assert_eq!(
            events[0].summary,
            "Refreshed; the new refresh token is stored"
        );
    }
    // The stored tokens work: a second run refreshes every connection again.
    let again = rt.block_on(engine.refresh_all()).unwrap();
    assert!(again.iter().all(|r| r.error.is_none() && r.rotated));
    assert_eq!(refresh_requests(&f.idp), 400);
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn a_batch_whose_secrets_cannot_be_stored_is_left_as_it_was_and_says_why() {
    let keys = Arc::new(Keys::default());
    let f = fleet(20, keys.as_ref());
    let (engine, store) = f.engine(keys.clone());
    let before_rows = store.list_connections().unwrap();
    let before = refresh_tokens(keys.as_ref(), &f.ids);
    let rt = runtime();

    keys.refuse.store(true, Ordering::SeqCst);
    let reports = rt.block_on(engine.refresh_all()).unwrap();
    assert_eq!(reports.len(), 20);
    for r in &reports {
        let e = r.error.as_ref().expect("reported failed");
        assert!(
            e.message.contains("could not be stored")
                && e.message.contains("the test keyring refuses every write"),
            "{}",
            e.message
        );
        assert!(!r.rotated);
    }
    // Nothing changed: rows, history, stored refresh tokens.
    let rows = store.list_connections().unwrap();
    for (c, old) in rows.iter().zip(&before_rows) {
        assert_eq!(c.state, old.state);
        assert_eq!(c.last_refresh_at, old.last_refresh_at);
        assert_eq!(c.next_refresh_at, old.next_refresh_at);
        assert_eq!(c.updated_at, old.updated_at);
        assert!(store.events(&c.id, 10).unwrap().is_empty());
    }
    assert_eq!(refresh_tokens(keys.as_ref(), &f.ids), before);

    // The next run retries, with the refresh tokens still stored (still valid at Microsoft).
    keys.refuse.store(false, Ordering::SeqCst);
    let reports = rt.block_on(engine.refresh_all()).unwrap();
    assert!(reports.iter().all(|r| r.error.is_none() && r.rotated));
    assert_eq!(refresh_requests(&f.idp), 40);
    for (c, old) in store.list_connections().unwrap().iter().zip(&before_rows) {
        assert_eq!(c.state, StateKind::Active);
        assert!(c.last_refresh_at > old.last_refresh_at);
        assert_eq!(store.events(&c.id, 10).unwrap().len(), 1);
    }
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn a_token_that_cannot_be_read_fails_its_own_connection_only() {
    let keys = Arc::new(Keys::default());
    let f = fleet(12, keys.as_ref());
    let (engine, _store) = f.engine(keys.clone());
    let broken = f.ids[5].clone();
    *keys.unreadable.lock().unwrap() = Some(broken.clone());
    let reports = runtime().block_on(engine.refresh_all()).unwrap();
    assert_eq!(reports.len(), 12);
    for r in &reports {
        if r.connection.id == broken {
            let e = r.error.as_ref().expect("the unreadable one fails");
            assert!(e.message.contains("cannot be read"), "{}", e.message);
            assert!(!r.rotated);
        } else {
            assert!(r.error.is_none() && r.rotated, "{:?}", r.error);
        }
    }
    assert_eq!(refresh_requests(&f.idp), 11);
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn two_engines_over_one_data_directory_refresh_each_connection_once() {
    let keys: Arc<MemoryKeychain> = Arc::new(MemoryKeychain::new());
    let f = fleet(120, keys.as_ref());
    // Two stores over one file and one lock folder: the app's scheduler and `mailconn refresh --all`.
    let (app, app_store) = f.engine(keys.clone());
    let (cli, _cli_store) = f.engine(keys.clone());
    let rt = runtime();

    let (a, b) = rt.block_on(async { tokio::join!(app.refresh_all(), cli.refresh_all()) });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.len(), b.len()), (120, 120));
    for r in a.iter().chain(&b) {
        assert!(r.error.is_none(), "{:?}", r.error);
    }
    // Each connection was refreshed by one of them; the other saw it done.
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.connection.id, y.connection.id);
        assert!(x.requested ^ y.requested, "{}", x.connection.address);
    }
    assert_eq!(app.token_requests() + cli.token_requests(), 120);
    assert_eq!(refresh_requests(&f.idp), 120);
    let tokens = refresh_tokens(keys.as_ref(), &f.ids);
    assert_eq!(tokens.iter().flatten().collect::<HashSet<_>>().len(), 120);
    for c in app_store.list_connections().unwrap() {
        assert_eq!(c.state, StateKind::Active);
        assert_eq!(app_store.events(&c.id, 10).unwrap().len(), 1);
    }
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn an_access_token_asked_for_during_refresh_all_shares_its_request() {
    let keys: Arc<MemoryKeychain> = Arc::new(MemoryKeychain::new());
    let f = fleet(60, keys.as_ref());
    let (engine, _store) = f.engine(keys.clone());
    let rt = runtime();
    let (reports, tokens) = rt.block_on(async {
        let bulk = engine.refresh_all();
        let single = async {
            let mut out = Vec::new();
            for id in f.ids.iter().rev().take(10) {
                out.push(engine.access_token(id, Resource::Graph).await);
            }
            out
        };
        tokio::join!(bulk, single)
    });
    let reports = reports.unwrap();
    assert!(reports.iter().all(|r| r.error.is_none()));
    for t in tokens {
        assert!(!t.unwrap().token.expose().is_empty());
    }
    // One request per connection, whoever asked first.
    assert_eq!(refresh_requests(&f.idp), 60);
    assert_eq!(engine.token_requests(), 60);
}
