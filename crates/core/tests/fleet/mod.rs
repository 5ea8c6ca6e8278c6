//! Many delegated connections of one confidential app on the test identity provider, in a real
//! `SQLite` file, for the refresh-all tests and the `refresh_all` example (its measurement).
#![allow(
    dead_code,
    reason = "shared by tests and an example that use different parts"
)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use mailconn_core::Sensitive;
use mailconn_core::clock::SystemClock;
use mailconn_core::cloud::CloudId;
use mailconn_core::connection::{ConnectionKind, TokenState};
use mailconn_core::engine::{Config, Engine};
use mailconn_core::flow::identity::AccountType;
use mailconn_core::keychain::{Keychain, SecretKey};
use mailconn_core::registration::{Audience, ClientKind, RegistrationInput, Usage};
use mailconn_core::scopes::Preset;
use mailconn_core::store::Store;
use mailconn_core::store::connections::NewConnection;
use mailconn_testkit::Idp;

pub struct Fleet {
    pub idp: Idp,
    pub dir: tempfile::TempDir,
    pub ids: Vec<String>,
    pub registration: String,
}

impl Fleet {
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("mailconn.sqlite3")
    }

    pub fn locks(&self) -> PathBuf {
        self.dir.path().join("locks")
    }

    /// An engine over the fleet's database and lock folder (call twice for "two processes").
    pub fn engine(&self, keychain: Arc<dyn Keychain>) -> (Arc<Engine>, Arc<Store>) {
        let store = Arc::new(Store::open(&self.db()).expect("database opens"));
        let engine = Arc::new(Engine::new(
            store.clone(),
            keychain,
            mailconn_core::http::client(),
            Arc::new(SystemClock),
            self.locks(),
            Config::default(),
        ));
        (engine, store)
    }
}

fn app(idp: &Idp) -> RegistrationInput {
    RegistrationInput {
        name: "web".into(),
        client_id: idp.fixture("/clients/web/client_id"),
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
        secret: Some(Sensitive::from(idp.fixture("/clients/web/secrets/0/value"))),
        secret_expires: chrono::NaiveDate::from_ymd_opt(2099, 1, 1),
        secret_label: None,
    }
}

/// Another refresh token of the same grant (each refresh rotates; the old one stays valid).
fn next_refresh_token(http: &reqwest::blocking::Client, idp: &Idp, rt: &str) -> String {
    let token: serde_json::Value = http
        .post(format!("{}/common/oauth2/v2.0/token", idp.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", &idp.fixture("/clients/web/client_id")),
            (
                "client_secret",
                &idp.fixture("/clients/web/secrets/0/value"),
            ),
            ("scope", "openid offline_access User.Read"),
        ])
        .send()
        .expect("idp answers")
        .json()
        .expect("token JSON");
    token["refresh_token"].as_str().expect("rotated").to_owned()
}

/// `n` delegated connections, each with its own refresh token (one grant, rotated per
/// connection), in a new data directory; the identity provider's log is cleared afterwards.
pub fn fleet(n: usize, keychain: &dyn Keychain) -> Fleet {
    fleet_on(
        Idp::start(&[]),
        tempfile::tempdir().expect("temp dir"),
        n,
        keychain,
    )
}

/// [`fleet`] on a given provider and in a given directory.
pub fn fleet_on(idp: Idp, dir: tempfile::TempDir, n: usize, keychain: &dyn Keychain) -> Fleet {
    let store = Store::open(&dir.path().join("mailconn.sqlite3")).expect("database");
    let start = Utc::now();
    let (reg, _) =
        mailconn_core::service::registrations::create(&store, keychain, &app(&idp), start)
            .expect("registration");
    let scopes: Vec<String> = ["openid", "profile", "email", "offline_access", "User.Read"]
        .map(String::from)
        .to_vec();
    let first = mailconn_testkit::sign_in_tokens(
        &idp,
        "alice@contoso.test",
        "openid profile email offline_access User.Read",
    );
    let mut rt = first["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let http = reqwest::blocking::Client::new();
    let mut ids = Vec::with_capacity(n);
    let mut secrets = Vec::with_capacity(n);
    for i in 0..n {
        let id = uuid::Uuid::new_v4().to_string();
        let (key, address) = (format!("account-{i}"), format!("user{i:04}@contoso.test"));
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
                    scopes_granted: &scopes,
                    has_refresh_token: true,
                    state: TokenState::ACTIVE,
                    access_expires_at: Some(start + TimeDelta::minutes(2)),
                },
                start,
            )
            .expect("connection");
        secrets.push((SecretKey::refresh_token(&id), Sensitive::from(rt.clone())));
        rt = next_refresh_token(&http, &idp, &rt);
        ids.push(id);
    }
    keychain.set_many(&secrets).expect("refresh tokens stored");
    idp.delete("/_control/log");
    Fleet {
        idp,
        dir,
        ids,
        registration: reg.id,
    }
}

/// The stored refresh token of each connection.
pub fn refresh_tokens(keychain: &dyn Keychain, ids: &[String]) -> Vec<Option<String>> {
    let keys: Vec<SecretKey> = ids.iter().map(|id| SecretKey::refresh_token(id)).collect();
    keychain
        .get_many(&keys)
        .expect("keychain answers")
        .into_iter()
        .map(|v| v.map(|s| s.expose().clone()))
        .collect()
}

/// Refresh-token requests the provider saw.
pub fn refresh_requests(idp: &Idp) -> usize {
    idp.token_requests()
        .iter()
        .filter(|e| e["grant_type"] == "refresh_token")
        .count()
}
