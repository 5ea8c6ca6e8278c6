//! Reminder computation: pure functions of the secrets' end dates, the thresholds and now.
//!
//! A secret's expiry is a date; it stops working at 00:00 UTC that day (Graph's `endDateTime` is
//! a timestamp, usually midnight; taking the start of the day errs on the early side). Days left
//! count whole calendar days in UTC. The stage is the smallest threshold not below the days left,
//! or "expired"; a notification is due when a secret enters a stage it was not notified for.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde::Serialize;
use ts_rs::TS;

use crate::registration::{ClientKind, Registration};

/// Microsoft's portal warns at 30 days; then two weeks, a week and the last day.
pub const DEFAULT_THRESHOLDS: [u32; 4] = crate::settings::DEFAULT_REMINDER_DAYS;
/// `reminders` exits with 1 (for cron and monitoring) when a secret expires within this many days.
pub const URGENT_DAYS: i64 = 7;
/// Environment variable that overrides the thresholds, e.g. `30,14,7,1`.
pub const THRESHOLDS_ENV: &str = crate::settings::ENV_REMINDER_DAYS;

/// The reminder thresholds in days, largest first, without duplicates or zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds(Vec<u32>);

impl Default for Thresholds {
    fn default() -> Self {
        Self(DEFAULT_THRESHOLDS.to_vec())
    }
}

impl Thresholds {
    pub fn new(days: impl IntoIterator<Item = u32>) -> Self {
        let mut v: Vec<u32> = days.into_iter().filter(|d| *d > 0).collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.dedup();
        Self(v)
    }

    /// `30,14,7,1`; `None` when a part is not a number.
    pub fn parse(text: &str) -> Option<Self> {
        text.split(',')
            .map(|p| p.trim().parse::<u32>().ok())
            .collect::<Option<Vec<_>>>()
            .map(Self::new)
    }

    /// From [`THRESHOLDS_ENV`], else the defaults.
    pub fn from_env() -> Self {
        std::env::var(THRESHOLDS_ENV)
            .ok()
            .and_then(|t| Self::parse(&t))
            .unwrap_or_default()
    }

    pub fn days(&self) -> &[u32] {
        &self.0
    }
}

/// Why a registration is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// The secret expires within a threshold.
    Expiring,
    /// The end date has passed.
    Expired,
    /// Microsoft refused the secret during a refresh (AADSTS7000222 / 7000215), whatever the date.
    Rejected,
}

/// One registration whose secret needs attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Reminder {
    pub registration_id: String,
    pub registration_name: String,
    pub client_id: String,
    pub kind: ReminderKind,
    /// The first characters of the stored secret (as the portal shows them).
    pub secret_hint: Option<String>,
    pub secret_label: Option<String>,
    #[ts(type = "string | null")]
    pub expires: Option<NaiveDate>,
    /// Whole days until the end date (negative once passed); `None` without a date.
    #[ts(type = "number | null")]
    pub days_left: Option<i64>,
    /// The threshold the secret is within (0: expired); `None` for `Rejected` without a date.
    pub threshold: Option<u32>,
    /// Connections that use the registration, and how many of them the refresh engine marked
    /// `secret_expired`.
    pub connections: u32,
    pub connections_broken: u32,
}

impl Reminder {
    /// Expired, refused, or within [`URGENT_DAYS`].
    pub fn urgent(&self) -> bool {
        self.kind != ReminderKind::Expiring || self.days_left.is_some_and(|d| d <= URGENT_DAYS)
    }

    /// What to say, in one line (notifications, banner, CLI).
    pub fn title(&self) -> String {
        let name = &self.registration_name;
        match (self.kind, self.days_left) {
            (ReminderKind::Rejected, _) => {
                format!("Microsoft refuses the client secret of \"{name}\"")
            }
            (ReminderKind::Expired, _) => format!("The client secret of \"{name}\" has expired"),
            (ReminderKind::Expiring, Some(1)) => {
                format!("The client secret of \"{name}\" expires tomorrow")
            }
            (ReminderKind::Expiring, Some(0)) => {
                format!("The client secret of \"{name}\" expires today")
            }
            (ReminderKind::Expiring, Some(d)) => {
                format!("The client secret of \"{name}\" expires in {d} days")
            }
            (ReminderKind::Expiring, None) => format!("Check the client secret of \"{name}\""),
        }
    }

    /// The body of the notification: what happens and what to do.
    pub fn body(&self) -> String {
        let hint = self
            .secret_hint
            .as_deref()
            .map(|h| format!(" (the secret starting \"{h}\")"))
            .unwrap_or_default();
        let n = self.connections;
        let who = if n == 1 {
            "its connection".to_owned()
        } else {
            format!("its {n} connections")
        };
        match self.kind {
            ReminderKind::Expiring => format!(
                "Create a new secret in the portal and rotate it{hint} before {}, or {who} stop working.",
                self.expires.map_or_else(String::new, |d| d.to_string())
            ),
            ReminderKind::Expired | ReminderKind::Rejected => {
                format!("Rotate the secret{hint}: until then {who} cannot refresh.")
            }
        }
    }
}

/// The moment a secret with this end date stops working.
pub fn expiry_instant(expires: NaiveDate) -> DateTime<Utc> {
    expires.and_time(NaiveTime::MIN).and_utc()
}

/// Whole days from `now`'s date (UTC) to the end date; 0 on the day itself, negative afterwards.
pub fn days_left(expires: NaiveDate, now: DateTime<Utc>) -> i64 {
    (expires - now.date_naive()).num_days()
}

/// The stage a secret is in: `Some(0)` expired, `Some(t)` within threshold `t`, `None` not yet.
pub fn stage(expires: NaiveDate, now: DateTime<Utc>, thresholds: &Thresholds) -> Option<u32> {
    if now >= expiry_instant(expires) {
        return Some(0);
    }
    let left = days_left(expires, now);
    thresholds
        .days()
        .iter()
        .rev()
        .find(|t| left <= i64::from(**t))
        .copied()
}

/// When the stage next changes: the start of the day a threshold (or expiry) is reached, after
/// `now`. `None` once expired.
pub fn next_change(
    expires: NaiveDate,
    now: DateTime<Utc>,
    thresholds: &Thresholds,
) -> Option<DateTime<Utc>> {
    thresholds
        .days()
        .iter()
        .copied()
        .chain(std::iter::once(0))
        .map(|t| expiry_instant(expires) - TimeDelta::days(i64::from(t)))
        .filter(|at| *at > now)
        .min()
}

/// Whether a notification is due for a secret in `stage`, given the stages already notified for
/// it: not when this stage or a later (smaller) one was notified. Entering several stages at
/// once (the app was off) notifies only the current one.
pub fn needs_notice(stage: u32, notified: &[u32]) -> bool {
    !notified.iter().any(|n| *n <= stage)
}

/// The reminders for these registrations, soonest first (refused and expired secrets first).
/// `broken` gives, per registration id, how many connections are `secret_expired`.
pub fn compute(
    registrations: &[Registration],
    broken: &dyn Fn(&str) -> u32,
    now: DateTime<Utc>,
    thresholds: &Thresholds,
) -> Vec<Reminder> {
    let mut out: Vec<Reminder> = registrations
        .iter()
        .filter(|r| r.kind == ClientKind::Confidential)
        .filter_map(|r| {
            let broken = broken(&r.id);
            let threshold = r.secret_expires.and_then(|d| stage(d, now, thresholds));
            let kind = match threshold {
                _ if broken > 0 => ReminderKind::Rejected,
                Some(0) => ReminderKind::Expired,
                Some(_) => ReminderKind::Expiring,
                None => return None,
            };
            Some(Reminder {
                registration_id: r.id.clone(),
                registration_name: r.name.clone(),
                client_id: r.client_id.clone(),
                kind,
                secret_hint: r.secret_hint.clone(),
                secret_label: r.secret_label.clone(),
                expires: r.secret_expires,
                days_left: r.secret_expires.map(|d| days_left(d, now)),
                threshold,
                connections: r.connections,
                connections_broken: broken,
            })
        })
        .collect();
    out.sort_by_key(|r| {
        (
            r.kind != ReminderKind::Rejected,
            r.days_left.unwrap_or(i64::MIN),
            r.registration_name.to_lowercase(),
        )
    });
    out
}

/// The earliest moment any of these registrations' secrets changes stage.
pub fn next_due(
    registrations: &[Registration],
    now: DateTime<Utc>,
    thresholds: &Thresholds,
) -> Option<DateTime<Utc>> {
    registrations
        .iter()
        .filter(|r| r.kind == ClientKind::Confidential)
        .filter_map(|r| r.secret_expires)
        .filter_map(|d| next_change(d, now, thresholds))
        .min()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn each_threshold_starts_at_the_start_of_its_day() {
        let t = Thresholds::default();
        let end = date(2026, 3, 31);
        assert_eq!(stage(end, at(2026, 2, 28, 23), &t), None, "31 days left");
        assert_eq!(stage(end, at(2026, 3, 1, 0), &t), Some(30));
        assert_eq!(stage(end, at(2026, 3, 16, 12), &t), Some(30), "15 days");
        assert_eq!(stage(end, at(2026, 3, 17, 0), &t), Some(14));
        assert_eq!(stage(end, at(2026, 3, 24, 0), &t), Some(7));
        assert_eq!(stage(end, at(2026, 3, 29, 23), &t), Some(7), "2 days");
        assert_eq!(stage(end, at(2026, 3, 30, 0), &t), Some(1));
        assert_eq!(stage(end, at(2026, 3, 31, 0), &t), Some(0), "expired");
        assert_eq!(stage(end, at(2027, 1, 1, 0), &t), Some(0));
    }

    #[test]
    fn the_next_change_is_the_next_threshold_then_expiry() {
        let t = Thresholds::default();
        let end = date(2026, 3, 31);
        assert_eq!(
            next_change(end, at(2026, 1, 1, 9), &t),
            Some(at(2026, 3, 1, 0))
        );
        assert_eq!(
            next_change(end, at(2026, 3, 1, 0), &t),
            Some(at(2026, 3, 17, 0))
        );
        assert_eq!(
            next_change(end, at(2026, 3, 30, 5), &t),
            Some(at(2026, 3, 31, 0))
        );
        assert_eq!(next_change(end, at(2026, 3, 31, 0), &t), None);
    }

    #[test]
    fn configured_thresholds_are_sorted_and_parsed() {
        assert_eq!(Thresholds::parse("7, 60,0,7").unwrap().days(), &[60, 7]);
        assert!(Thresholds::parse("x").is_none());
        let t = Thresholds::new([60]);
        assert_eq!(stage(date(2026, 3, 31), at(2026, 1, 31, 0), &t), Some(60));
        assert_eq!(stage(date(2026, 3, 31), at(2026, 3, 30, 0), &t), Some(60));
    }

    fn reg(id: &str, kind: ClientKind, expires: Option<NaiveDate>) -> Registration {
        Registration {
            id: id.into(),
            name: id.into(),
            client_id: "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc".into(),
            kind,
            tenant: "contoso.test".into(),
            cloud: crate::cloud::CloudId::Global,
            authority_url: None,
            graph_url: None,
            imap_server: None,
            pop_server: None,
            smtp_server: None,
            usage: crate::registration::Usage::Delegated,
            audience: crate::registration::Audience::AnyOrganization,
            preset: crate::scopes::Preset::Read,
            redirect_uri: "http://localhost/callback".into(),
            has_secret: kind == ClientKind::Confidential,
            secret_label: None,
            secret_hint: Some("Abc".into()),
            secret_expires: expires,
            last_test: None,
            connections: 2,
            created_at: at(2026, 1, 1, 0),
            updated_at: at(2026, 1, 1, 0),
        }
    }

    #[test]
    fn refused_secrets_come_first_then_the_soonest_and_public_apps_never() {
        let now = at(2026, 1, 1, 9);
        let regs = [
            reg("later", ClientKind::Confidential, Some(date(2026, 1, 20))),
            reg("fine", ClientKind::Confidential, Some(date(2027, 1, 1))),
            reg("refused", ClientKind::Confidential, Some(date(2027, 1, 1))),
            reg("gone", ClientKind::Confidential, Some(date(2025, 12, 1))),
            reg("public", ClientKind::Public, Some(date(2026, 1, 2))),
        ];
        let broken = |id: &str| u32::from(id == "refused") * 2;
        let list = compute(&regs, &broken, now, &Thresholds::default());
        let got: Vec<(&str, ReminderKind, Option<u32>)> = list
            .iter()
            .map(|r| (r.registration_name.as_str(), r.kind, r.threshold))
            .collect();
        assert_eq!(
            got,
            [
                ("refused", ReminderKind::Rejected, None),
                ("gone", ReminderKind::Expired, Some(0)),
                ("later", ReminderKind::Expiring, Some(30)),
            ]
        );
        assert!(list[0].urgent() && list[1].urgent() && !list[2].urgent());
        assert_eq!(list[0].connections_broken, 2);
        assert_eq!(
            next_due(&regs, now, &Thresholds::default()),
            Some(at(2026, 1, 6, 0)),
            "\"later\" reaches 14 days first"
        );
    }

    #[test]
    fn a_notice_per_stage_and_never_for_an_earlier_stage() {
        assert!(needs_notice(30, &[]));
        assert!(!needs_notice(30, &[30]));
        assert!(needs_notice(14, &[30]));
        assert!(!needs_notice(30, &[14]), "a later stage was told already");
        assert!(needs_notice(0, &[30, 14, 7, 1]));
        assert!(!needs_notice(0, &[0]));
    }
}
