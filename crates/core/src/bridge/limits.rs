//! The bridge's limits: how long a session may sit idle before and after the login, how long a
//! line may be before the login, how many failed logins one session gets, and the growing delay
//! before answering a failed login, per source address (so guessing is slow, and a device with
//! a stale password does not hammer anything: a wrong password never reaches the real server).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::mail_servers::MailProtocol;

/// The longest line a client may send before it is logged in (a `LOGIN` with a long address and
/// a quoted password, an `AUTH PLAIN` response, fit easily).
pub const MAX_LOGIN_LINE: usize = 4 * 1024;
/// The longest literal (`{n}`) accepted in an IMAP `LOGIN`.
pub const MAX_LITERAL: usize = 1024;
/// Failed logins one session may try before it is closed.
pub const FAILURES_PER_SESSION: u32 = 3;
/// Commands before the login (a client looping on `NOOP` is closed).
pub const COMMANDS_BEFORE_LOGIN: u32 = 50;

/// Test and tuning overrides (seconds or milliseconds).
pub const ENV_FAIL_DELAY_MS: &str = "MAILCONN_BRIDGE_FAIL_DELAY_MS";
pub const ENV_LOGIN_IDLE_SECS: &str = "MAILCONN_BRIDGE_LOGIN_IDLE_SECS";
pub const ENV_IDLE_SECS: &str = "MAILCONN_BRIDGE_IDLE_SECS";

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Time limits of a session.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Before the login: a client that says nothing for this long is closed.
    pub login_idle: Duration,
    /// After the login, with no byte either way (IMAP allows 30 minutes of silence, so
    /// clients in IDLE re-issue it within that; POP and SMTP are closed sooner).
    pub relay_idle: Duration,
    /// Reading and writing the real server during its login.
    pub upstream: Duration,
}

impl Timeouts {
    pub fn for_protocol(protocol: MailProtocol) -> Self {
        let relay = match protocol {
            MailProtocol::Imap => Duration::from_secs(31 * 60),
            MailProtocol::Pop => Duration::from_secs(10 * 60),
            MailProtocol::Smtp => Duration::from_secs(5 * 60),
        };
        Self {
            login_idle: env_u64(ENV_LOGIN_IDLE_SECS)
                .map_or(Duration::from_secs(60), Duration::from_secs),
            relay_idle: env_u64(ENV_IDLE_SECS).map_or(relay, Duration::from_secs),
            upstream: Duration::from_secs(30),
        }
    }
}

/// The failed-login delay per source address: `base` after the first failure, doubling with
/// each further one up to `max`; forgotten after a success or a quiet quarter of an hour.
#[derive(Debug)]
pub struct Penalty {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

impl Default for Penalty {
    fn default() -> Self {
        let base = env_u64(ENV_FAIL_DELAY_MS).map_or(Duration::from_secs(1), Duration::from_millis);
        Self::new(base, base * 32)
    }
}

impl Penalty {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            failures: Mutex::default(),
        }
    }

    /// Records a failure and returns how long to wait before answering it.
    pub fn failed(&self, peer: IpAddr) -> Duration {
        let mut map = self.failures.lock().expect("penalty lock");
        let now = Instant::now();
        map.retain(|_, (_, at)| now.duration_since(*at) < FORGET_AFTER);
        let entry = map.entry(peer).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        let factor = 2u32.saturating_pow(entry.0 - 1);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// A success from this address forgets its failures.
    pub fn succeeded(&self, peer: IpAddr) {
        self.failures.lock().expect("penalty lock").remove(&peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_per_address_and_a_success_resets_it() {
        let p = Penalty::new(Duration::from_millis(100), Duration::from_millis(500));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "192.168.1.9".parse().unwrap();
        let delays: Vec<_> = (0..5).map(|_| p.failed(a).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        assert_eq!(p.failed(b).as_millis(), 100, "another address starts over");
        p.succeeded(a);
        assert_eq!(p.failed(a).as_millis(), 100);
    }
}
