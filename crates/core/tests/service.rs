//! The service's background work as the desktop app runs it: the first pass of the schedulers
//! reports at once, and nothing it reports before a shell listens is lost.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use mailconn_core::Sensitive;
use mailconn_core::cloud::CloudId;
use mailconn_core::keychain::MemoryKeychain;
use mailconn_core::paths::DataDir;
use mailconn_core::registration::{Audience, ClientKind, RegistrationInput, Usage};
use mailconn_core::scopes::Preset;
use mailconn_core::service::{Service, ServiceEvent};

fn input(expires_in_days: i64) -> RegistrationInput {
    RegistrationInput {
        name: "Contoso mail".into(),
        client_id: "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc".into(),
        kind: ClientKind::Confidential,
        tenant: "contoso.onmicrosoft.com".into(),
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
        secret: Some(Sensitive::from("Abc8Q~abcdefghijklmnopqrstuvwxyz0123456")),
        secret_expires: Some((Utc::now() + TimeDelta::days(expires_in_days)).date_naive()),
        secret_label: None,
    }
}

#[tokio::test]
async fn a_reminder_due_at_start_reaches_the_shell_as_a_notification_and_a_list() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path().join("data")).unwrap();
    let service = Arc::new(Service::open(data, Arc::new(MemoryKeychain::new())).unwrap());
    service.add_registration(input(10)).await.unwrap();

    let mut events = service.subscribe();
    let running = tokio::spawn(service.clone().run());
    let (mut notified, mut listed) = (None, None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while notified.is_none() || listed.is_none() {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the reminder was not reported within 10 s")
            .unwrap();
        match event {
            ServiceEvent::Notify { title, .. } => notified = Some(title),
            ServiceEvent::Reminders(list) => listed = Some(list),
            _ => {}
        }
    }
    let title = notified.unwrap();
    assert!(title.contains("Contoso mail"), "{title}");
    let list = listed.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].registration_name, "Contoso mail");
    assert_eq!(service.attention().secrets, 1, "the tray counts it");

    service.shutdown();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the background work stops on shutdown")
        .unwrap();
}

#[tokio::test]
async fn the_dashboard_is_what_the_separate_calls_answer() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path().join("data")).unwrap();
    let service = Service::open(data, Arc::new(MemoryKeychain::new())).unwrap();

    let empty = service.dashboard().await.unwrap();
    assert_eq!(empty.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        empty.data_dir,
        service.data_dir().root().display().to_string()
    );
    assert!(empty.registrations.is_empty() && empty.connections.is_empty());
    assert!(empty.reminders.is_empty());

    service.add_registration(input(10)).await.unwrap();
    let first = service.dashboard().await.unwrap();
    assert_eq!(first.registrations.len(), 1);
    assert_eq!(first.registrations[0].name, "Contoso mail");
    assert_eq!(
        json(&first.reminders),
        json(&service.reminders(None).await.unwrap()),
        "the same reminders as list_reminders"
    );
    assert_eq!(first.reminders.len(), 1, "the secret expiring in 10 days");
    assert_eq!(
        json(&first.connections),
        json(&service.connections().await.unwrap())
    );
}

#[tokio::test]
async fn a_limited_dashboard_holds_the_first_rows_of_the_list_and_counts_every_connection() {
    use mailconn_core::connection::{ConnectionKind, TokenState};
    use mailconn_core::flow::identity::AccountType;
    use mailconn_core::store::Store;
    use mailconn_core::store::connections::NewConnection;

    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path().join("data")).unwrap();
    let service = Service::open(data, Arc::new(MemoryKeychain::new())).unwrap();
    let registration = service.add_registration(input(200)).await.unwrap();
    let db = Store::open(&dir.path().join("data/mailconn.sqlite3")).unwrap();
    // Out of order, in mixed case, one beyond ASCII, and two whose secret has expired (for the
    // reminders, which count every connection, shown or not).
    let addresses = [
        ("c1", "zed@contoso.test", false),
        ("c2", "Bob@contoso.test", true),
        ("c3", "amy@contoso.test", false),
        ("c4", "Émile@contoso.test", false),
        ("c5", "carl@contoso.test", true),
        ("c6", "ALAN@contoso.test", false),
    ];
    for (id, address, expired) in addresses {
        db.insert_connection(
            &NewConnection {
                id,
                registration_id: &registration.registration.id,
                kind: ConnectionKind::Delegated,
                account_key: id,
                address,
                display_name: None,
                tenant_id: None,
                account_type: AccountType::Work,
                preset: Preset::Read,
                scopes_requested: &[],
                scopes_granted: &[],
                has_refresh_token: true,
                state: if expired {
                    TokenState::SecretExpired {
                        reason: "The secret expired.".into(),
                        aadsts: Some(7000222),
                    }
                } else {
                    TokenState::Active { note: None }
                },
                access_expires_at: None,
            },
            Utc::now(),
        )
        .unwrap();
    }

    let all = service.dashboard().await.unwrap();
    assert_eq!(all.connections.len(), 6);
    assert_eq!(all.connections_total, 6);
    let first = service.dashboard_first(Some(3)).await.unwrap();
    assert_eq!(first.connections_total, 6);
    let order: Vec<&str> = first
        .connections
        .iter()
        .map(|c| c.address.as_str())
        .collect();
    // The list's first order: lowercase address, as JavaScript compares strings.
    assert_eq!(
        order,
        ["ALAN@contoso.test", "amy@contoso.test", "Bob@contoso.test"]
    );
    // Two connections refused: the registration's reminder says so, from every row.
    assert_eq!(all.reminders.len(), 1);
    assert_eq!(all.reminders[0].connections_broken, 2);
    assert_eq!(
        json(&first.reminders),
        json(&all.reminders),
        "reminders count the connections not sent too"
    );
    // A limit at or above the count sends every row, in the store's order.
    let wide = service.dashboard_first(Some(6)).await.unwrap();
    assert_eq!(json(&wide.connections), json(&all.connections));
    let none = service.dashboard_first(Some(0)).await.unwrap();
    assert!(none.connections.is_empty());
    assert_eq!(none.connections_total, 6);
    // "é" sorts after every ASCII letter, as in the list.
    let five = service.dashboard_first(Some(5)).await.unwrap();
    assert_eq!(five.connections[4].address, "zed@contoso.test");
}

/// An answer in its IPC form (the types have no `PartialEq`).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}
