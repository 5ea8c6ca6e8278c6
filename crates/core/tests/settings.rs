//! Settings through the Service, as the app and the CLI use them: saved in the database, seen by
//! another process over the same data directory, applied without a restart (the engine's
//! schedule, the reminders, the notifications), and registrations shared without secrets.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use mailconn_core::cloud::CloudId;
use mailconn_core::connection::{ConnectionKind, TokenState};
use mailconn_core::flow::identity::AccountType;
use mailconn_core::keychain::{MemoryKeychain, SecretKey};
use mailconn_core::paths::DataDir;
use mailconn_core::registration::transfer::SharedRegistration;
use mailconn_core::registration::{Audience, ClientKind, RegistrationInput, Usage};
use mailconn_core::scopes::Preset;
use mailconn_core::service::transfer::{ImportSource, ImportStatus};
use mailconn_core::service::{Options, Service, ServiceEvent};
use mailconn_core::settings::{NotificationKind, SettingKey, SettingSource};
use mailconn_core::store::Store;
use mailconn_core::store::connections::NewConnection;
use mailconn_core::{ErrorCode, Sensitive};

const SECRET: &str = "Abc8Q~abcdefghijklmnopqrstuvwxyz0123456";

fn input(name: &str, kind: ClientKind) -> RegistrationInput {
    let confidential = kind == ClientKind::Confidential;
    RegistrationInput {
        name: name.into(),
        client_id: "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc".into(),
        kind,
        tenant: if confidential {
            "contoso.onmicrosoft.com".into()
        } else {
            "common".into()
        },
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
        secret: confidential.then(|| Sensitive::from(SECRET)),
        secret_expires: confidential.then(|| (Utc::now() + TimeDelta::days(5)).date_naive()),
        secret_label: None,
    }
}

struct Two {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    keychain: Arc<MemoryKeychain>,
}

impl Two {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            root: dir.path().join("data"),
            _dir: dir,
            keychain: Arc::new(MemoryKeychain::new()),
        }
    }

    /// A service over the shared data directory (the app, or one CLI run).
    fn open(&self, deep_links: bool) -> Service {
        Service::with_options(
            DataDir::open(&self.root).unwrap(),
            self.keychain.clone(),
            Options {
                deep_links,
                ..Options::default()
            },
        )
        .unwrap()
    }

    fn store(&self) -> Store {
        Store::open(&self.root.join("mailconn.sqlite3")).unwrap()
    }
}

fn idle_connection(db: &Store, registration_id: &str) -> String {
    db.insert_connection(
        &NewConnection {
            id: "c1",
            registration_id,
            kind: ConnectionKind::Delegated,
            account_key: "tenant.alice",
            address: "alice@contoso.test",
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
    "c1".into()
}

#[tokio::test]
async fn settings_are_saved_shared_between_processes_and_reset() {
    let two = Two::new();
    let (app, cli) = (two.open(true), two.open(false));
    let listed = app.settings().await.unwrap();
    assert_eq!(listed.len(), SettingKey::ALL.len());
    assert!(listed.iter().all(|s| s.source == SettingSource::Default));

    let saved = cli
        .set_setting("refresh-margin", "10 minutes")
        .await
        .unwrap();
    assert_eq!(
        (saved.text.as_str(), saved.source),
        ("10m", SettingSource::Saved)
    );
    let seen = app.setting("refresh-margin").await.unwrap();
    assert_eq!(seen.text, "10m");
    assert_eq!(seen.source, SettingSource::Saved);
    // A new process (the next CLI run) starts with it.
    assert_eq!(
        two.open(false).engine().config().margin,
        TimeDelta::minutes(10)
    );

    let back = app.reset_setting("refresh-margin").await.unwrap();
    assert_eq!(
        (back.text.as_str(), back.source),
        ("5m", SettingSource::Default)
    );
    assert_eq!(
        cli.setting("refresh-margin").await.unwrap().source,
        SettingSource::Default
    );
    assert!(two.store().saved_settings().unwrap().is_empty());
}

#[tokio::test]
async fn invalid_values_are_refused_and_change_nothing() {
    let two = Two::new();
    let app = two.open(false);
    for (key, value, message) in [
        (
            "refresh-margin",
            "2h",
            "Refresh margin of 2 hours is too long: the longest is 30 minutes.",
        ),
        (
            "keep-alive",
            "0",
            "Keep-alive interval of 0 seconds is too short: the shortest is 1 day.",
        ),
        (
            "reminder-days",
            "30,-1",
            "\"-1\" is not a whole number of days.",
        ),
        (
            "notify-secrets",
            "sometimes",
            "\"sometimes\" is neither on nor off.",
        ),
        ("colour", "blue", "There is no setting \"colour\"."),
    ] {
        let e = app.set_setting(key, value).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Validation, "{key}");
        assert_eq!(e.message(), message, "{key}");
    }
    assert!(two.store().saved_settings().unwrap().is_empty());
}

#[tokio::test]
async fn a_new_keep_alive_moves_the_schedule_at_once_and_in_the_other_process() {
    let two = Two::new();
    let (app, cli) = (two.open(true), two.open(false));
    let reg = app
        .add_registration(app_input_public())
        .await
        .unwrap()
        .registration;
    let id = idle_connection(&two.store(), &reg.id);
    app.engine().connected(&id).unwrap();
    let before = app.connection(&id).await.unwrap();
    let last = before.last_refresh_at.unwrap();
    assert_eq!(before.next_refresh_at, Some(last + TimeDelta::days(7)));

    // Changed in this process: the schedule moves at once.
    app.set_setting("keep-alive", "14d").await.unwrap();
    assert_eq!(
        app.connection(&id).await.unwrap().next_refresh_at,
        Some(last + TimeDelta::days(14))
    );
    assert_eq!(app.engine().config().keep_alive, TimeDelta::days(14));

    // Changed by the CLI: the CLI computes the schedule, the app's engine follows at its next
    // pass (and says so to its listeners).
    let mut events = app.engine().subscribe();
    cli.set_setting("keep-alive", "3d").await.unwrap();
    assert_eq!(
        app.connection(&id).await.unwrap().next_refresh_at,
        Some(last + TimeDelta::days(3))
    );
    assert_eq!(app.engine().config().keep_alive, TimeDelta::days(14));
    app.engine().follow_settings().unwrap();
    assert_eq!(app.engine().config().keep_alive, TimeDelta::days(3));
    let mut changed = false;
    while let Ok(e) = events.try_recv() {
        changed |= matches!(e, mailconn_core::engine::EngineEvent::SettingsChanged(_));
    }
    assert!(changed);
}

fn app_input_public() -> RegistrationInput {
    input("Desktop", ClientKind::Public)
}

/// Runs the app's background work until the reminders are reported; the notifications sent.
async fn notifications_of_a_run(app: &Arc<Service>) -> (usize, Vec<(NotificationKind, String)>) {
    let mut events = app.subscribe();
    tokio::spawn(app.clone().run());
    let mut notified = Vec::new();
    let mut reminders = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reminders.is_none() {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(ServiceEvent::Reminders(list))) => reminders = Some(list.len()),
            Ok(Ok(ServiceEvent::Notify { kind, title, .. })) => notified.push((kind, title)),
            Ok(_) => {}
            Err(elapsed) => panic!("no reminders reported ({elapsed})"),
        }
    }
    // The notice of a stage is sent right after the list.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(e) = events.try_recv() {
        if let ServiceEvent::Notify { kind, title, .. } = e {
            notified.push((kind, title));
        }
    }
    app.shutdown();
    (reminders.unwrap_or(0), notified)
}

#[tokio::test]
async fn reminders_follow_the_setting_and_notifications_obey_their_switch() {
    for on in [true, false] {
        let two = Two::new();
        let app = Arc::new(two.open(true));
        // Expires in 5 days: inside the default 7-day step.
        app.add_registration(input("Contoso", ClientKind::Confidential))
            .await
            .unwrap();
        assert_eq!(app.reminders(None).await.unwrap().len(), 1);
        app.set_setting("reminder-days", "3,1").await.unwrap();
        assert!(
            app.reminders(None).await.unwrap().is_empty(),
            "5 days is not within 3"
        );
        app.set_setting("reminder-days", "30").await.unwrap();
        app.set_setting("notify-secrets", if on { "on" } else { "off" })
            .await
            .unwrap();
        assert_eq!(app.notifies(NotificationKind::Secrets), on);
        assert!(app.notifies(NotificationKind::Connections));

        let (reminders, notified) = notifications_of_a_run(&app).await;
        assert_eq!(reminders, 1, "the reminder itself shows either way");
        if on {
            assert_eq!(notified.len(), 1, "{notified:?}");
            assert_eq!(notified[0].0, NotificationKind::Secrets);
            assert!(notified[0].1.contains("Contoso"), "{notified:?}");
        } else {
            assert!(notified.is_empty(), "{notified:?}");
        }
    }
}

#[tokio::test]
async fn registrations_go_out_without_secrets_and_come_back_after_a_check() {
    let (from, to) = (Two::new(), Two::new());
    let admin = from.open(false);
    admin
        .add_registration(input("Contoso", ClientKind::Confidential))
        .await
        .unwrap();
    admin.add_registration(app_input_public()).await.unwrap();
    let export = admin.export_registrations(&[]).await.unwrap();
    assert!(!export.contains("Abc8Q"), "{export}");
    let file = from.root.join("shared.json");
    let written = admin
        .write_registrations_export(&file, &[], false)
        .await
        .unwrap();
    assert_eq!(written.count, 2);
    let again = admin
        .write_registrations_export(&file, &[], false)
        .await
        .unwrap_err();
    assert_eq!(again.code(), ErrorCode::Conflict);
    assert!(
        again.message().ends_with("exists already."),
        "{}",
        again.message()
    );

    let colleague = to.open(false);
    let source = || ImportSource::File {
        path: file.display().to_string(),
    };
    let preview = colleague.preview_import(source()).await.unwrap();
    assert_eq!(preview.entries.len(), 2);
    assert!(
        preview
            .entries
            .iter()
            .all(|e| e.status == ImportStatus::New)
    );
    assert!(
        colleague.registrations().await.unwrap().is_empty(),
        "a preview saves nothing"
    );
    let report = colleague.import_registrations(source()).await.unwrap();
    assert_eq!(report.added.len(), 2);
    let confidential = report
        .added
        .iter()
        .find(|r| r.kind == ClientKind::Confidential)
        .unwrap();
    assert!(!confidential.has_secret, "no secret travelled");
    assert!(to.keychain.is_empty());
    // The same file again: both are here already.
    let second = colleague.import_registrations(source()).await.unwrap();
    assert!(second.added.is_empty());
    assert!(
        second
            .skipped
            .iter()
            .all(|e| e.status == ImportStatus::AlreadyHere)
    );

    // A link of one registration; another app of that name with other settings is not replaced.
    let mut other = SharedRegistration::from(&admin.registration("Desktop").await.unwrap());
    other.client_id = "11111111-2222-4333-8444-555555555555".into();
    let preview = colleague
        .preview_import(ImportSource::Text { text: other.link() })
        .await
        .unwrap();
    assert_eq!(preview.entries[0].status, ImportStatus::NameTaken);
    let e = colleague
        .import_registrations(ImportSource::Text {
            text: format!("{}&client_secret=x", other.link()),
        })
        .await
        .unwrap_err();
    assert!(
        e.message().contains("a client secret is never shared"),
        "{}",
        e.message()
    );
    let missing = colleague
        .preview_import(ImportSource::File {
            path: "/nonexistent/shared.json".into(),
        })
        .await
        .unwrap_err();
    assert!(
        missing
            .message()
            .starts_with("/nonexistent/shared.json cannot be read")
    );
    assert_eq!(
        colleague
            .secrets()
            .get(&SecretKey::client_secret(&confidential.id))
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn an_import_link_from_the_os_waits_for_confirmation() {
    let (from, to) = (Two::new(), Two::new());
    let admin = from.open(false);
    let reg = admin
        .add_registration(app_input_public())
        .await
        .unwrap()
        .registration;
    let link = admin.import_link(&reg.id).await.unwrap();
    assert!(
        link.starts_with("mailconn://import?v=1&name=Desktop&"),
        "{link}"
    );

    let desktop = to.open(true);
    let mut events = desktop.subscribe();
    desktop.deliver_deep_link(&link).unwrap();
    let offer = desktop.pending_import_offer().unwrap();
    assert_eq!(offer.link, link, "shown in full");
    assert_eq!(offer.preview.unwrap().entries[0].status, ImportStatus::New);
    assert!(matches!(
        events.try_recv(),
        Ok(ServiceEvent::ImportOffer(_))
    ));
    assert!(
        desktop.registrations().await.unwrap().is_empty(),
        "nothing saved yet"
    );

    // A forged link is offered with its reason, and replaces nothing in the database.
    desktop
        .deliver_deep_link(&format!("{link}&client_secret={SECRET}"))
        .unwrap();
    let refused = desktop.pending_import_offer().unwrap();
    assert!(refused.link.starts_with(&link), "{}", refused.link);
    assert!(
        !refused.link.contains("Abc8Q~"),
        "the secret is not shown: {}",
        refused.link
    );
    assert!(refused.preview.is_none());
    assert!(refused.error.unwrap().message.contains("client secret"));
    desktop.dismiss_import_offer();
    assert!(desktop.pending_import_offer().is_none());

    // Confirmed: saved.
    desktop.deliver_deep_link(&link).unwrap();
    let report = desktop
        .import_registrations(ImportSource::Text { text: link })
        .await
        .unwrap();
    assert_eq!(report.added[0].name, "Desktop");
    assert!(desktop.pending_import_offer().is_none());
    // Sign-in redirects still go where they did.
    let e = desktop
        .deliver_deep_link("mailconn://auth?code=x&state=nobody")
        .unwrap_err();
    assert!(
        e.message()
            .contains("does not belong to a sign-in in progress")
    );
}

#[tokio::test]
async fn the_appearance_set_by_the_cli_is_in_the_apps_first_screen() {
    let two = Two::new();
    let (app, cli) = (two.open(true), two.open(false));
    assert_eq!(
        app.dashboard().await.unwrap().theme,
        mailconn_core::settings::Theme::System
    );
    let saved = cli.set_setting("theme", "dark").await.unwrap();
    assert_eq!(saved.text, "dark");
    assert_eq!(
        app.dashboard().await.unwrap().theme,
        mailconn_core::settings::Theme::Dark
    );
    let refused = cli.set_setting("theme", "purple").await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Validation);
    assert_eq!(refused.message(), "\"purple\" is not a theme.");
    // Nothing was lost by the refusal.
    assert_eq!(
        app.dashboard().await.unwrap().theme,
        mailconn_core::settings::Theme::Dark
    );
}

#[tokio::test]
async fn about_names_the_version_licence_and_folders() {
    let two = Two::new();
    let app = two.open(true);
    let about = app.about();
    assert_eq!(about.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(about.licence, "MIT OR Apache-2.0");
    assert_eq!(std::path::Path::new(&about.data_dir), two.root.as_path());
    assert!(about.database.starts_with(&about.data_dir));
    assert!(about.logs_dir.starts_with(&about.data_dir));
    assert!(about.links.iter().all(|l| l.url.starts_with("https://")));
}
