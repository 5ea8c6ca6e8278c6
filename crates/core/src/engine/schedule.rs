//! When a connection is next refreshed. Pure functions of the connection, the engine's settings
//! and the time, so they are tested without a network.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::connection::{Connection, ConnectionKind, INACTIVITY_LIMIT, TokenState};

/// The engine's configuration. The defaults suit Microsoft; `from_env` lets tests shorten them;
/// the saved settings (refresh margin, keep-alive) go over it while the engine runs
/// ([`super::Engine::apply_settings`]).
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Refresh this long before the access token expires.
    pub margin: TimeDelta,
    /// Up to this much earlier again, at random, so connections do not refresh in lockstep.
    pub jitter: TimeDelta,
    /// Refresh idle delegated connections this often (well inside the 90-day inactivity limit).
    pub keep_alive: TimeDelta,
    /// Check application-access mailboxes through Graph this often (an Exchange policy or a
    /// removed mailbox shows within a day).
    pub app_check: TimeDelta,
    /// A connection counts as in use this long after an access token was handed out.
    pub in_use: TimeDelta,
    /// First retry delay after a transient failure; doubles per attempt up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// History older than this is deleted.
    pub history: TimeDelta,
    /// Refreshes running at once (refresh all, many due together).
    pub concurrency: usize,
    /// How long to wait for another process's refresh of the same connection.
    pub lock_wait: Duration,
    /// Sleep at most this long when nothing is due (a clock change or suspend can not strand it,
    /// and a refresh another process scheduled, e.g. after `mailconn token` marked the
    /// connection in use, is seen within this time).
    pub idle_wake: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            margin: TimeDelta::minutes(5),
            jitter: TimeDelta::seconds(60),
            keep_alive: TimeDelta::days(7),
            app_check: TimeDelta::days(1),
            in_use: TimeDelta::hours(1),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(30 * 60),
            history: TimeDelta::days(180),
            concurrency: 4,
            lock_wait: Duration::from_secs(60),
            idle_wake: Duration::from_secs(60),
        }
    }
}

/// Environment variables that shorten the engine's times (seconds), for tests and demos.
pub const ENV_RETRY_BASE: &str = "MAILCONN_RETRY_BASE_SECS";
pub const ENV_MARGIN: &str = crate::settings::ENV_REFRESH_MARGIN;
pub const ENV_KEEP_ALIVE: &str = crate::settings::ENV_KEEP_ALIVE;

impl Config {
    pub fn from_env() -> Self {
        let secs = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u32>().ok())
        };
        let mut c = Self::default();
        if let Some(s) = secs(ENV_RETRY_BASE) {
            c.retry_base = Duration::from_secs(s.into());
            c.retry_max = c.retry_max.max(c.retry_base);
        }
        if let Some(s) = secs(ENV_MARGIN) {
            c.margin = TimeDelta::seconds(s.into());
            c.jitter = c.jitter.min(c.margin / 4);
        }
        if let Some(s) = secs(ENV_KEEP_ALIVE) {
            c.keep_alive = TimeDelta::seconds(s.into());
        }
        c
    }
}

/// When to refresh next, or `None` when nothing should happen until someone acts.
///
/// `cached_expiry` is the expiry of the access token this process holds; `jitter` is in 0..1.
pub fn next_refresh(
    conn: &Connection,
    cached_expiry: Option<DateTime<Utc>>,
    config: &Config,
    now: DateTime<Utc>,
    jitter: f64,
) -> Option<DateTime<Utc>> {
    match &conn.state {
        TokenState::Retrying { next_at, .. } => return Some(*next_at),
        TokenState::Active { .. } | TokenState::Refreshing => {}
        _ => return None,
    }
    if conn.kind == ConnectionKind::Application {
        return Some(conn.last_refresh_at.unwrap_or(now) + config.app_check);
    }
    if !conn.has_refresh_token {
        return None;
    }
    let last = conn.last_refresh_at.unwrap_or(now);
    // Never later than the keep-alive, and never later than a day before the inactivity limit.
    let keep_alive = (last + config.keep_alive).min(last + INACTIVITY_LIMIT - TimeDelta::days(1));
    let in_use = conn
        .last_used_at
        .is_some_and(|used| now - used < config.in_use);
    let before_expiry = cached_expiry.filter(|_| in_use).map(|expiry| {
        let early = config
            .jitter
            .to_std()
            .map(|j| j.mul_f64(jitter.clamp(0.0, 1.0)))
            .ok()
            .and_then(|d| TimeDelta::from_std(d).ok())
            .unwrap_or_default();
        expiry - config.margin - early
    });
    Some(before_expiry.map_or(keep_alive, |at| at.min(keep_alive)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::StateKind;
    use crate::flow::identity::AccountType;
    use crate::scopes::Preset;

    fn conn(state: TokenState) -> Connection {
        let t = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Connection {
            id: "c1".into(),
            registration_id: "r1".into(),
            registration_name: "App".into(),
            kind: ConnectionKind::Delegated,
            account_key: "k".into(),
            address: "alice@contoso.test".into(),
            display_name: None,
            tenant_id: None,
            account_type: AccountType::Work,
            preset: Preset::Read,
            scopes_requested: vec![],
            scopes_granted: vec![],
            scopes_missing: vec![],
            has_refresh_token: true,
            state,
            created_at: t,
            updated_at: t,
            last_refresh_at: Some(t),
            access_expires_at: Some(t + TimeDelta::hours(1)),
            next_refresh_at: None,
            last_used_at: None,
            inactivity_deadline: Some(t + INACTIVITY_LIMIT),
            alias: None,
            programs_allowed: false,
        }
    }

    #[test]
    fn idle_connections_get_a_keep_alive_well_inside_the_limit() {
        let c = conn(TokenState::ACTIVE);
        let now = c.last_refresh_at.unwrap();
        let next = next_refresh(&c, None, &Config::default(), now, 0.5).unwrap();
        assert_eq!(next - now, TimeDelta::days(7));
        // Even a keep-alive set longer than the limit stays a day inside it.
        let long = Config {
            keep_alive: TimeDelta::days(400),
            ..Config::default()
        };
        let next = next_refresh(&c, None, &long, now, 0.5).unwrap();
        assert_eq!(next - now, TimeDelta::days(89));
    }

    #[test]
    fn connections_in_use_refresh_before_the_access_token_expires() {
        let mut c = conn(TokenState::ACTIVE);
        let now = c.last_refresh_at.unwrap() + TimeDelta::minutes(10);
        c.last_used_at = Some(now - TimeDelta::minutes(1));
        let expiry = now + TimeDelta::minutes(50);
        let cfg = Config::default();
        let next = next_refresh(&c, Some(expiry), &cfg, now, 0.0).unwrap();
        assert_eq!(next, expiry - TimeDelta::minutes(5));
        let next = next_refresh(&c, Some(expiry), &cfg, now, 1.0).unwrap();
        assert_eq!(next, expiry - TimeDelta::minutes(6));
        // Not used for longer than `in_use`: back to the keep-alive only.
        c.last_used_at = Some(now - TimeDelta::hours(2));
        let next = next_refresh(&c, Some(expiry), &cfg, now, 0.0).unwrap();
        assert_eq!(next, c.last_refresh_at.unwrap() + TimeDelta::days(7));
    }

    #[test]
    fn stopped_states_have_no_schedule_and_retrying_keeps_its_own() {
        let now = Utc::now();
        for kind in [
            StateKind::NeedsSignIn,
            StateKind::NeedsConsent,
            StateKind::SecretExpired,
            StateKind::NoAccess,
        ] {
            let s = TokenState::problem(kind, "why".into(), None);
            assert_eq!(
                next_refresh(&conn(s), None, &Config::default(), now, 0.5),
                None
            );
        }
        assert_eq!(
            next_refresh(
                &conn(TokenState::Disconnected),
                None,
                &Config::default(),
                now,
                0.5
            ),
            None
        );
        let at = now + TimeDelta::seconds(40);
        let mut c = conn(TokenState::Retrying {
            attempt: 1,
            next_at: at,
            last_error: "down".into(),
        });
        c.next_refresh_at = Some(at);
        assert_eq!(
            next_refresh(&c, None, &Config::default(), now, 0.5),
            c.next_refresh_at
        );
        let mut c = conn(TokenState::ACTIVE);
        c.has_refresh_token = false;
        assert_eq!(next_refresh(&c, None, &Config::default(), now, 0.5), None);
    }
}
