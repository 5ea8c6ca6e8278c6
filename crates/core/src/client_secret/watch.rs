//! The reminder scheduler: computes the reminders at start, notifies each secret once per
//! threshold (recorded in the store, so neither a restart nor the CLI repeats one), then sleeps
//! until the next threshold is reached or until woken (a secret was added, edited or rotated).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use super::reminders::{self, Reminder, ReminderKind, Thresholds};
use crate::clock::Clock;
use crate::error::Result;
use crate::settings::{SettingKey, Settings};
use crate::store::Store;

/// The longest sleep: timers run on the monotonic clock, which stands still while the machine
/// sleeps and ignores changes of the wall clock, so the schedule is looked at again every few hours.
const MAX_SLEEP: Duration = Duration::from_secs(6 * 3600);
/// After a failed pass (database busy), try again after this long.
const RETRY: Duration = Duration::from_secs(60);

/// A desktop notification for one secret entering one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReminderNotice {
    pub registration_id: String,
    /// The stage entered: days (0 = expired).
    pub threshold: u32,
    pub title: String,
    pub body: String,
}

/// What the scheduler tells the shells.
#[derive(Debug, Clone)]
pub enum ReminderEvent {
    /// The reminders as they stand now (banner, badges, tray).
    Changed(Vec<Reminder>),
    /// A stage to notify about (never repeated for the same secret and stage).
    Notice(ReminderNotice),
}

#[derive(Debug)]
pub struct ReminderWatch {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    /// What it was built with; the saved setting (read at every pass) goes over it.
    base: Thresholds,
    wake: Notify,
    events: broadcast::Sender<ReminderEvent>,
}

impl ReminderWatch {
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>, thresholds: Thresholds) -> Self {
        Self {
            store,
            clock,
            base: thresholds,
            wake: Notify::new(),
            events: broadcast::channel(64).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ReminderEvent> {
        self.events.subscribe()
    }

    /// Makes the scheduler compute again now (a secret or its date changed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The thresholds in effect: the saved setting (or `MAILCONN_REMINDER_DAYS`), else the
    /// built-in ones. Read from the store each time, so a change made elsewhere applies at the
    /// next pass.
    pub fn thresholds(&self) -> Thresholds {
        match self.store.saved_settings() {
            Ok(saved) => Settings::with_process_env(&saved)
                .chosen_days(SettingKey::ReminderDays)
                .map_or_else(|| self.base.clone(), Thresholds::new),
            Err(e) => {
                tracing::warn!(error = %e, "the reminder setting could not be read");
                self.base.clone()
            }
        }
    }

    /// Everything due now, soonest first.
    pub fn current(&self) -> Result<Vec<Reminder>> {
        current(&self.store, self.clock.now(), &self.thresholds())
    }

    /// One pass: the reminders, and the notices not sent before (recorded as sent).
    pub fn check(&self) -> Result<(Vec<Reminder>, Vec<ReminderNotice>)> {
        let now = self.clock.now();
        let list = current(&self.store, now, &self.thresholds())?;
        let mut notices = Vec::new();
        for r in &list {
            let (Some(expires), Some(stage)) = (r.expires, r.threshold) else {
                continue;
            };
            if r.kind == ReminderKind::Rejected && stage > 0 {
                // The refresh engine already told the user the secret is refused.
                continue;
            }
            let hint = r.secret_hint.as_deref().unwrap_or("");
            let told = self
                .store
                .reminders_notified(&r.registration_id, hint, expires)?;
            if reminders::needs_notice(stage, &told)
                && self.store.record_reminder_notified(
                    &r.registration_id,
                    hint,
                    expires,
                    stage,
                    now,
                )?
            {
                notices.push(ReminderNotice {
                    registration_id: r.registration_id.clone(),
                    threshold: stage,
                    title: r.title(),
                    body: r.body(),
                });
            }
        }
        Ok((list, notices))
    }

    /// When the next stage starts for any secret.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(reminders::next_due(
            &self.store.list_registrations()?,
            self.clock.now(),
            &self.thresholds(),
        ))
    }

    /// Runs until cancelled: a pass, then sleep until the next threshold or a wake-up.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let sleep = match self.check() {
                Ok((list, notices)) => {
                    let _ = self.events.send(ReminderEvent::Changed(list));
                    for n in notices {
                        tracing::info!(registration = %n.registration_id, threshold = n.threshold, "secret reminder");
                        let _ = self.events.send(ReminderEvent::Notice(n));
                    }
                    match self.next_due() {
                        Ok(Some(at)) => (at - self.clock.now()).to_std().unwrap_or(Duration::ZERO),
                        Ok(None) => MAX_SLEEP,
                        Err(_) => RETRY,
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "secret reminders could not be computed");
                    RETRY
                }
            }
            .min(MAX_SLEEP)
            // A threshold reached exactly now is computed on the next pass, not in a busy loop.
            .max(Duration::from_secs(1));
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.wake.notified() => {}
                () = cancel.cancelled() => return,
            }
        }
    }
}

/// The reminders for every registration at `now`.
pub fn current(
    store: &Store,
    now: DateTime<Utc>,
    thresholds: &Thresholds,
) -> Result<Vec<Reminder>> {
    // Counted by the database: reading every row for it would cost a long list dearly.
    let broken = store.secret_expired_counts()?;
    Ok(reminders::compute(
        &store.list_registrations()?,
        &|id| broken.get(id).copied().unwrap_or(0),
        now,
        thresholds,
    ))
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeDelta, TimeZone};

    use super::*;
    use crate::Sensitive;
    use crate::clock::FakeClock;
    use crate::cloud::CloudId;
    use crate::keychain::MemoryKeychain;
    use crate::registration::{Audience, ClientKind, RegistrationInput, Usage};
    use crate::scopes::Preset;
    use crate::service::registrations as service;

    fn add(store: &Store, name: &str, expires: NaiveDate, now: DateTime<Utc>) -> String {
        let input = RegistrationInput {
            name: name.into(),
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
            secret_expires: Some(expires),
            secret_label: None,
        };
        service::create(store, &MemoryKeychain::new(), &input, now)
            .unwrap()
            .0
            .id
    }

    fn stages(notices: &[ReminderNotice]) -> Vec<u32> {
        notices.iter().map(|n| n.threshold).collect()
    }

    #[test]
    fn one_notice_per_threshold_never_repeated() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
        let clock = Arc::new(FakeClock::new(start));
        let store = Arc::new(Store::open_in_memory().unwrap());
        let expires = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(); // 59 days ahead
        let id = add(&store, "Contoso mail", expires, start);
        let watch = ReminderWatch::new(store.clone(), clock.clone(), Thresholds::default());

        let (list, notices) = watch.check().unwrap();
        assert!(
            list.is_empty() && notices.is_empty(),
            "59 days: nothing due"
        );
        let next = watch.next_due().unwrap().unwrap();
        assert_eq!(
            next,
            Utc.with_ymd_and_hms(2026, 1, 30, 0, 0, 0).unwrap(),
            "30 days before"
        );

        let mut seen = Vec::new();
        for threshold in [30, 14, 7, 1, 0] {
            clock.set(watch.next_due().unwrap().unwrap());
            let (list, notices) = watch.check().unwrap();
            assert_eq!(stages(&notices), vec![threshold]);
            assert_eq!(list[0].threshold, Some(threshold));
            assert_eq!(list[0].registration_id, id);
            seen.push(notices[0].title.clone());
            // The same moment again, and later the same day: no second notice.
            assert!(watch.check().unwrap().1.is_empty());
            clock.advance(TimeDelta::hours(5));
            assert!(watch.check().unwrap().1.is_empty());
            // Another process (or a restart) reads the same table.
            let again = ReminderWatch::new(store.clone(), clock.clone(), Thresholds::default());
            assert!(again.check().unwrap().1.is_empty());
        }
        assert_eq!(
            seen,
            [
                "The client secret of \"Contoso mail\" expires in 30 days",
                "The client secret of \"Contoso mail\" expires in 14 days",
                "The client secret of \"Contoso mail\" expires in 7 days",
                "The client secret of \"Contoso mail\" expires tomorrow",
                "The client secret of \"Contoso mail\" has expired",
            ]
        );
        assert_eq!(watch.next_due().unwrap(), None, "nothing after expiry");
    }

    #[test]
    fn a_late_start_notifies_only_the_current_stage_and_soonest_comes_first() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
        let clock = Arc::new(FakeClock::new(start));
        let store = Arc::new(Store::open_in_memory().unwrap());
        add(
            &store,
            "later",
            NaiveDate::from_ymd_opt(2026, 1, 20).unwrap(),
            start,
        );
        add(
            &store,
            "sooner",
            NaiveDate::from_ymd_opt(2026, 1, 6).unwrap(),
            start,
        );
        let watch = ReminderWatch::new(store, clock, Thresholds::default());
        let (list, notices) = watch.check().unwrap();
        let names: Vec<&str> = list.iter().map(|r| r.registration_name.as_str()).collect();
        assert_eq!(names, ["sooner", "later"]);
        assert_eq!(list[0].days_left, Some(5));
        assert!(list[0].urgent() && !list[1].urgent());
        assert_eq!(
            stages(&notices),
            [7, 30],
            "one notice each, for the current stage"
        );
        assert!(watch.check().unwrap().1.is_empty());
    }
}
