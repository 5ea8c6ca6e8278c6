use std::sync::atomic::Ordering;
use std::time::Duration;

use super::*;
use crate::application::addresses::parse_list;
use crate::application::testing::{Fake, setup, setup_with};
use crate::registration::Usage;

struct Env {
    fake: Fake,
    store: Store,
    secrets: crate::keychain::MemoryKeychain,
    reg: Registration,
    tokens: AppTokenCache,
    http: reqwest::Client,
}

impl Env {
    async fn new() -> Self {
        let fake = Fake::start(3600).await;
        let (store, secrets, reg) = setup(&fake.base);
        Self {
            fake,
            store,
            secrets,
            reg,
            tokens: AppTokenCache::new(),
            http: crate::http::client(),
        }
    }

    fn mailboxes(&self) -> Mailboxes<'_> {
        Mailboxes {
            store: &self.store,
            secrets: &self.secrets,
            http: &self.http,
            tokens: &self.tokens,
        }
    }

    async fn add(&self, text: &str) -> (Result<BulkReport>, Vec<BulkProgress>) {
        let mut seen = Vec::new();
        let report = self
            .mailboxes()
            .add(
                &self.reg.name,
                &parse_list(text),
                MailboxUse::Full,
                &CancellationToken::new(),
                |p| seen.push(p),
            )
            .await;
        (report, seen)
    }
}

fn status_of(report: &BulkReport, input: &str) -> RowStatus {
    report
        .rows
        .iter()
        .find(|r| r.input == input)
        .unwrap_or_else(|| panic!("no row {input}"))
        .status
}

#[tokio::test]
async fn a_bulk_add_keeps_successes_and_explains_each_problem() {
    let env = Env::new().await;
    let mut text: Vec<String> = (1..=12)
        .map(|i| format!("user{i:02}@contoso.test"))
        .collect();
    text.extend(
        [
            "unknown1@contoso.test",
            "denied1@contoso.test",
            "not an address",
            "USER01@contoso.test",
            "Info Desk <info@contoso.test>",
        ]
        .map(String::from),
    );
    env.fake.shared.throttle.store(3, Ordering::SeqCst);
    let (report, progress) = env.add(&text.join("\n")).await;
    let report = report.unwrap();

    assert_eq!(report.rows.len(), 17);
    assert_eq!(report.connected, 13, "{report:#?}");
    assert_eq!(report.problems, 3);
    assert_eq!(report.summary, "13 mailboxes connected, 3 need attention.");
    assert_eq!(
        status_of(&report, "unknown1@contoso.test"),
        RowStatus::NoAccess
    );
    assert_eq!(
        status_of(&report, "denied1@contoso.test"),
        RowStatus::NoAccess
    );
    assert_eq!(status_of(&report, "not an address"), RowStatus::Invalid);
    assert_eq!(
        status_of(&report, "USER01@contoso.test"),
        RowStatus::Duplicate
    );
    let info = report
        .rows
        .iter()
        .find(|r| r.input.contains("info@"))
        .unwrap();
    assert_eq!(info.display_name.as_deref(), Some("Info desk"));
    assert_eq!(info.address.as_deref(), Some("info@contoso.test"));
    assert_eq!(
        report.rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        (1..=17).collect::<Vec<_>>(),
        "rows come back in list order"
    );

    // Progress: one message per row, counting up to the total.
    assert_eq!(progress.len(), 17);
    assert_eq!(progress.last().unwrap().done, 17);
    assert!(progress.iter().all(|p| p.total == 17));

    // Bounded concurrency, one token for everything, throttling waited out as told.
    assert!(env.fake.shared.max_in_flight.load(Ordering::SeqCst) <= CONCURRENCY);
    assert_eq!(env.fake.shared.token_hits.load(Ordering::SeqCst), 1);
    let seen = env.fake.seen();
    for throttled in seen.iter().filter(|s| s.status == 429) {
        let next = seen
            .iter()
            .find(|s| s.address == throttled.address && s.at > throttled.at)
            .expect("a throttled lookup is tried again");
        assert!(
            next.at.duration_since(throttled.at) >= Duration::from_millis(950),
            "Retry-After: 1 honoured for {}",
            throttled.address
        );
    }
    assert_eq!(seen.iter().filter(|s| s.status == 429).count(), 3);

    what_was_stored(&env);
}

/// 13 active, 2 without access, each with a plain reason.
fn what_was_stored(env: &Env) {
    let conns = env.store.list_connections().unwrap();
    assert_eq!(conns.len(), 15);
    let denied = conns
        .iter()
        .find(|c| c.address == "denied1@contoso.test")
        .unwrap();
    assert_eq!(denied.kind, ConnectionKind::Application);
    assert_eq!(denied.state, StateKind::NoAccess);
    assert!(
        denied
            .state
            .reason()
            .unwrap()
            .contains("application access policy")
    );
    let events = env.store.events(&denied.id, 10).unwrap();
    assert_eq!(events[0].kind, "failed");
    assert!(
        events[0]
            .summary
            .contains("request-id req-ErrorAccessDenied"),
        "{events:?}"
    );
    let user = conns
        .iter()
        .find(|c| c.address == "user02@contoso.test")
        .unwrap();
    assert_eq!(user.state, StateKind::Active);
    assert_eq!(user.account_key, "id-user02");
    assert_eq!(user.preset, Preset::Application);
    assert!(!user.has_refresh_token);
    assert_eq!(
        user.scopes_granted,
        ["Mail.ReadWrite", "Mail.Send", "User.Read.All"]
    );
    assert!(user.scopes_missing.is_empty());
    assert_eq!(
        user.tenant_id.as_deref(),
        Some(crate::application::testing::TENANT_ID)
    );
    assert_eq!(env.store.events(&user.id, 10).unwrap()[0].kind, "connected");
}

#[tokio::test]
async fn a_mailbox_closed_to_the_app_is_found_but_not_reachable() {
    let env = Env::new().await;
    let report = env
        .add("closed1@contoso.test\nnomailbox@contoso.test")
        .await
        .0
        .unwrap();
    assert_eq!(report.rows[0].status, RowStatus::NoAccess);
    assert_eq!(report.rows[0].display_name.as_deref(), Some("closed1"));
    let problem = report.rows[0].problem.as_ref().unwrap();
    assert_eq!(
        problem.detail.as_ref().unwrap().graph_error.as_deref(),
        Some("ErrorAccessDenied")
    );
    assert_eq!(report.rows[1].status, RowStatus::NoAccess);
    assert!(
        report.rows[1]
            .problem
            .as_ref()
            .unwrap()
            .message
            .contains("no Exchange Online mailbox")
    );
    let stored = env.store.get_connection("closed1@contoso.test").unwrap();
    assert_eq!(
        stored.account_key, "id-closed1",
        "the directory's id is kept"
    );
    assert_eq!(stored.state, StateKind::NoAccess);

    // Without a mail-reading permission the inbox is not opened (a refusal would prove nothing).
    *env.fake.shared.roles.lock().unwrap() = vec!["Mail.Send".into(), "User.Read.All".into()];
    env.tokens.invalidate(&env.reg.id);
    let report = env.add("closed2@contoso.test").await.0.unwrap();
    assert_eq!(report.rows[0].status, RowStatus::Connected);
    assert!(
        !env.fake
            .seen()
            .iter()
            .any(|s| s.address == "inbox:id-closed2")
    );
}

#[tokio::test]
async fn adding_again_skips_working_mailboxes_and_rechecks_the_others() {
    let env = Env::new().await;
    let (first, _) = env
        .add("user01@contoso.test\ndenied-now@contoso.test")
        .await;
    let first = first.unwrap();
    assert_eq!(first.connected, 1);
    let denied_id = first.rows[1].connection_id.clone().unwrap();

    let (again, _) = env
        .add("User01@Contoso.test\ndenied-now@contoso.test")
        .await;
    let again = again.unwrap();
    assert_eq!(again.rows[0].status, RowStatus::AlreadyAdded);
    assert_eq!(again.rows[0].connection_id, first.rows[0].connection_id);
    assert_eq!(again.rows[1].status, RowStatus::NoAccess);
    assert_eq!(
        again.rows[1].connection_id.as_deref(),
        Some(denied_id.as_str())
    );
    assert_eq!(
        env.store.list_connections().unwrap().len(),
        2,
        "nothing duplicated"
    );
    assert_eq!(
        env.fake
            .seen()
            .iter()
            .filter(|s| s.address.starts_with("user01"))
            .count(),
        1,
        "a working mailbox is not looked up again"
    );
}

#[tokio::test]
async fn missing_consent_or_directory_access_stops_before_any_lookup() {
    let env = Env::new().await;
    env.fake.shared.fail.store(1, Ordering::SeqCst);
    let (report, progress) = env.add("user01@contoso.test").await;
    let e = report.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NeedsConsent);
    assert_eq!(e.detail().unwrap().aadsts, Some(65001));
    assert!(progress.is_empty());

    env.fake.shared.fail.store(0, Ordering::SeqCst);
    *env.fake.shared.roles.lock().unwrap() = vec!["Mail.Read".into()];
    let e = env.add("user01@contoso.test").await.0.unwrap_err();
    assert!(e.message().contains("User.Read.All"), "{e}");
    assert!(env.fake.seen().is_empty());
    assert!(env.store.list_connections().unwrap().is_empty());

    let access = env
        .mailboxes()
        .check_access(&env.reg.id, MailboxUse::Read, true)
        .await
        .unwrap();
    assert!(!access.permissions.ok);
    assert_eq!(access.permissions.missing, ["User.Read.All"]);
}

#[tokio::test]
async fn a_refused_token_is_renewed_once() {
    let env = Env::new().await;
    let token = env
        .tokens
        .token(&env.reg, &env.secrets, &env.http)
        .await
        .unwrap();
    env.fake
        .shared
        .refused
        .lock()
        .unwrap()
        .push(token.access_token.expose().clone());
    let report = env
        .add("user01@contoso.test\nuser02@contoso.test")
        .await
        .0
        .unwrap();
    assert_eq!(report.connected, 2, "{report:#?}");
    assert_eq!(env.fake.shared.token_hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn cancelling_leaves_the_rest_unchecked() {
    let env = Env::new().await;
    let cancel = CancellationToken::new();
    let text: Vec<String> = (1..=20)
        .map(|i| format!("user{i:02}@contoso.test"))
        .collect();
    let mut done = 0;
    let report = env
        .mailboxes()
        .add(
            &env.reg.id,
            &parse_list(&text.join("\n")),
            MailboxUse::Full,
            &cancel,
            |_| {
                done += 1;
                if done == 2 {
                    cancel.cancel();
                }
            },
        )
        .await
        .unwrap();
    assert!(report.cancelled);
    let cancelled = report
        .rows
        .iter()
        .filter(|r| r.status == RowStatus::Cancelled)
        .count();
    assert!(cancelled >= 10, "{report:#?}");
    assert_eq!(usize::try_from(report.connected).unwrap() + cancelled, 20);
    assert!(report.summary.contains("not checked (cancelled)"));
}

#[tokio::test]
async fn sign_in_apps_and_generic_tenants_are_refused_with_the_reason() {
    let fake = Fake::start(3600).await;
    let (store, secrets, reg) = setup_with(&fake.base, Usage::Delegated, "common");
    let (tokens, http) = (AppTokenCache::new(), crate::http::client());
    let m = Mailboxes {
        store: &store,
        secrets: &secrets,
        http: &http,
        tokens: &tokens,
    };
    let e = m
        .add(
            &reg.name,
            &parse_list("a@contoso.test"),
            MailboxUse::Full,
            &CancellationToken::new(),
            |_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("tenant"));
    assert!(e.message().contains("'common'"), "{e}");
    assert_eq!(
        fake.shared.token_hits.load(Ordering::SeqCst),
        0,
        "nothing was sent"
    );

    let (store, secrets, reg) = setup_with(
        &fake.base,
        Usage::Delegated,
        crate::application::testing::TENANT_ID,
    );
    let m = Mailboxes {
        store: &store,
        secrets: &secrets,
        http: &http,
        tokens: &tokens,
    };
    let e = m
        .check_access(&reg.id, MailboxUse::Full, false)
        .await
        .unwrap_err();
    assert!(e.message().contains("sign-in only"), "{e}");
}

#[tokio::test]
async fn removing_is_for_application_mailboxes_only() {
    let env = Env::new().await;
    let report = env.add("user01@contoso.test").await.0.unwrap();
    let id = report.rows[0].connection_id.clone().unwrap();
    let removed = remove(&env.store, &env.secrets, "user01@contoso.test").unwrap();
    assert_eq!(removed.id, id);
    assert!(env.store.list_connections().unwrap().is_empty());
    assert_eq!(
        remove(&env.store, &env.secrets, &id).unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn opaque_token_roles_are_unknown_so_graph_is_asked_and_explains() {
    let env = Env::new().await;
    env.fake.shared.opaque.store(1, Ordering::SeqCst);

    // The check cannot read the roles: unknown, not missing.
    let access = env
        .mailboxes()
        .check_access(&env.reg.id, MailboxUse::Full, true)
        .await
        .unwrap();
    assert!(!access.permissions.roles_known);
    assert!(access.permissions.missing.is_empty());
    assert!(
        !access.permissions.summary.contains("lacks"),
        "{}",
        access.permissions.summary
    );

    // With every permission held, Graph lets the app in: connected, reading proven.
    let report = env.add("user01@contoso.test").await.0.unwrap();
    assert_eq!(report.rows[0].status, RowStatus::Connected, "{report:#?}");
    assert!(
        env.fake
            .seen()
            .iter()
            .any(|s| s.address == "inbox:id-user01"),
        "the inbox is opened"
    );
    let c = env.store.get_connection("user01@contoso.test").unwrap();
    assert_eq!(c.scopes_granted, ["Mail.ReadWrite", "User.Read.All"]);
    assert!(
        c.state
            .reason()
            .unwrap_or_default()
            .contains("does not show its permissions"),
        "{:?}",
        c.state
    );

    // Without User.Read.All, the app does not refuse by itself: it asks, and Graph's 403 says why.
    *env.fake.shared.roles.lock().unwrap() = vec!["Mail.ReadWrite".into(), "Mail.Send".into()];
    env.tokens.invalidate(&env.reg.id);
    let before = env.fake.seen().len();
    let report = env.add("user02@contoso.test").await.0.unwrap();
    assert!(env.fake.seen().len() > before, "Graph was asked");
    let row = &report.rows[0];
    assert_eq!(row.status, RowStatus::Failed, "{row:#?}");
    let problem = row.problem.as_ref().unwrap();
    assert_eq!(problem.code, ErrorCode::NeedsConsent);
    assert_eq!(
        problem.message,
        "The app may not look up mailboxes in the directory."
    );
    assert!(
        problem
            .detail
            .as_ref()
            .and_then(|d| d.fix.as_deref())
            .unwrap_or_default()
            .contains("User.Read.All"),
        "{problem:?}"
    );

    // Without a mail role, Graph's refusal at the inbox is what is shown.
    *env.fake.shared.roles.lock().unwrap() = vec!["Mail.Send".into(), "User.Read.All".into()];
    env.tokens.invalidate(&env.reg.id);
    let report = env.add("user03@contoso.test").await.0.unwrap();
    assert_eq!(report.rows[0].status, RowStatus::NoAccess, "{report:#?}");
    let c = env.store.get_connection("user03@contoso.test").unwrap();
    assert_eq!(c.scopes_granted, ["User.Read.All"], "found, but not opened");
}
