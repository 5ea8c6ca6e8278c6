//! The storage mode across processes: two services over one data directory (the app and a
//! CLI run) share the database and the keychain; a switch made by one is seen by the other at
//! its next token call, and a switch moves the tokens of every connection both ways.

use std::sync::Arc;

use chrono::Utc;
use mailconn_core::Sensitive;
use mailconn_core::cloud::CloudId;
use mailconn_core::connection::{ConnectionKind, TokenState};
use mailconn_core::flow::identity::AccountType;
use mailconn_core::keychain::sealed::{SealedTable, StorageMode};
use mailconn_core::keychain::{Keychain, MemoryKeychain, SecretKey};
use mailconn_core::paths::DataDir;
use mailconn_core::registration::{Audience, ClientKind, RegistrationInput, Usage};
use mailconn_core::scopes::Preset;
use mailconn_core::service::Service;
use mailconn_core::store::Store;
use mailconn_core::store::connections::NewConnection;

fn public_app() -> RegistrationInput {
    RegistrationInput {
        name: "desktop".into(),
        client_id: "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc".into(),
        kind: ClientKind::Public,
        tenant: "common".into(),
        cloud: CloudId::Global,
        authority_url: None,
        graph_url: None,
        imap_server: None,
        pop_server: None,
        smtp_server: None,
        usage: Usage::Delegated,
        audience: Audience::AnyOrganization,
        preset: Preset::Read,
        redirect_uri: None,
        secret: None,
        secret_expires: None,
        secret_label: None,
    }
}

fn add_connection(db: &Store, registration_id: &str, n: usize) -> String {
    let id = format!("conn-{n}");
    let address = format!("user{n}@contoso.test");
    db.insert_connection(
        &NewConnection {
            id: &id,
            registration_id,
            kind: ConnectionKind::Delegated,
            account_key: &format!("tenant.user{n}"),
            address: &address,
            display_name: None,
            tenant_id: None,
            account_type: AccountType::Work,
            preset: Preset::Read,
            scopes_requested: &[],
            scopes_granted: &[],
            has_refresh_token: true,
            state: TokenState::Active { note: None },
            access_expires_at: None,
        },
        Utc::now(),
    )
    .unwrap();
    id
}

#[tokio::test]
async fn a_switch_by_another_service_is_seen_at_the_next_token_call() {
    let dir = tempfile::tempdir().unwrap();
    // One keychain for both, as two processes share the OS keychain.
    let keychain = Arc::new(MemoryKeychain::new());
    let open = || {
        Service::open(
            DataDir::open(dir.path().join("data")).unwrap(),
            keychain.clone(),
        )
        .unwrap()
    };
    let (app, cli) = (open(), open());
    let reg = app
        .add_registration(public_app())
        .await
        .unwrap()
        .registration;
    let db = Store::open(&dir.path().join("data").join("mailconn.sqlite3")).unwrap();
    let ids: Vec<String> = (0..5).map(|n| add_connection(&db, &reg.id, n)).collect();
    let token = |i: usize, round: u32| Sensitive::new(format!("rt-{i}-{round}"));
    for (i, id) in ids.iter().enumerate() {
        app.secrets()
            .set(&SecretKey::refresh_token(id), &token(i, 0))
            .unwrap();
    }
    assert_eq!(keychain.len(), 5);

    // The CLI switches; the app's next write goes to the sealed store, not the keychain.
    let done = cli.set_storage(StorageMode::Sealed, false).await.unwrap();
    assert_eq!(done.moved.refresh_tokens, 5);
    assert_eq!(keychain.len(), 1, "only the sealed store's key");
    app.secrets()
        .set(&SecretKey::refresh_token(&ids[0]), &token(0, 1))
        .unwrap();
    assert_eq!(keychain.len(), 1);
    assert_eq!(
        cli.secrets()
            .get(&SecretKey::refresh_token(&ids[0]))
            .unwrap(),
        Some(token(0, 1))
    );
    assert_eq!(db.sealed_accounts().unwrap().len(), 5);
    let status = app.storage(false).await.unwrap();
    assert_eq!(status.mode, StorageMode::Sealed);
    assert_eq!(status.sealed.refresh_tokens, 5);

    // And back, switched by the app this time: the CLI reads from the keychain again.
    let back = app.set_storage(StorageMode::Keychain, false).await.unwrap();
    assert_eq!(back.moved.refresh_tokens, 5);
    assert!(db.sealed_accounts().unwrap().is_empty());
    for (i, id) in ids.iter().enumerate() {
        let want = token(i, u32::from(i == 0));
        assert_eq!(
            keychain.get(&SecretKey::refresh_token(id)).unwrap(),
            Some(want.clone())
        );
        assert_eq!(
            cli.secrets().get(&SecretKey::refresh_token(id)).unwrap(),
            Some(want)
        );
    }
    // Disconnecting in one removes the token the other would read.
    cli.disconnect(&ids[1]).await.unwrap();
    assert_eq!(
        app.secrets()
            .get(&SecretKey::refresh_token(&ids[1]))
            .unwrap(),
        None
    );
}
