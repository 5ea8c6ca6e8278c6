//! What a failed refresh means: wait and retry (the network, Microsoft having a bad minute), or
//! stop and ask someone to act (sign in, consent, rotate the client secret); and the state that
//! leaves the connection in. Pure functions, tested without a network.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::Config;
use crate::aadsts::{ErrorClass, lookup};
use crate::connection::{StateKind, TokenState};
use crate::error::{Error, ErrorCode};

/// A failed refresh, sorted.
#[derive(Debug)]
pub enum Failure {
    /// Retry later; keep the refresh token. `retry_after` is the server's `Retry-After`.
    Transient {
        error: Error,
        retry_after: Option<Duration>,
    },
    /// Stop until someone acts; `state` says who and how.
    Permanent { state: StateKind, error: Error },
}

impl Failure {
    pub fn error(&self) -> &Error {
        match self {
            Self::Transient { error, .. } | Self::Permanent { error, .. } => error,
        }
    }

    pub fn into_error(self) -> Error {
        match self {
            Self::Transient { error, .. } | Self::Permanent { error, .. } => error,
        }
    }

    /// The words for the event history: "temporary" or what must happen.
    pub fn class_label(&self) -> &'static str {
        match self {
            Self::Transient { .. } => "temporary",
            Self::Permanent { state, .. } => match state {
                StateKind::NeedsConsent => "needs consent",
                StateKind::SecretExpired => "client secret",
                StateKind::NoAccess => "no access",
                _ => "needs sign-in",
            },
        }
    }

    /// The state this failure leaves a connection in (`before` is its state when the refresh
    /// began): one more retry, at the backoff's time, keeping the refresh token; or the problem,
    /// with what to do and Microsoft's AADSTS code. `jitter` is in 0..1.
    pub fn next_state(
        &self,
        before: &TokenState,
        config: &Config,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> TokenState {
        let error = self.error();
        match self {
            Self::Transient { retry_after, .. } => {
                let attempt = before.attempt() + 1;
                TokenState::Retrying {
                    attempt,
                    next_at: retry_at(
                        now,
                        attempt,
                        config.retry_base,
                        config.retry_max,
                        *retry_after,
                        jitter,
                    ),
                    last_error: error.message().to_owned(),
                }
            }
            Self::Permanent { state, .. } => {
                let reason = match error.detail().and_then(|d| d.fix.as_deref()) {
                    Some(fix) => format!("{} {fix}", error.message()),
                    None => error.message().to_owned(),
                };
                TokenState::problem(*state, reason, error.detail().and_then(|d| d.aadsts))
            }
        }
    }
}

/// The state a refresh failure of this class leaves the connection in; `None`: retry later.
/// The class comes from the AADSTS catalogue (`aadsts.rs`), the one place codes are sorted.
pub fn state_for(class: ErrorClass) -> Option<StateKind> {
    match class {
        ErrorClass::Transient => None,
        ErrorClass::Secret => Some(StateKind::SecretExpired),
        ErrorClass::Consent => Some(StateKind::NeedsConsent),
        ErrorClass::SignIn | ErrorClass::Setup | ErrorClass::Policy | ErrorClass::Restart => {
            Some(StateKind::NeedsSignIn)
        }
    }
}

/// Sorts a token-endpoint failure. `status` and `retry_after` are what the HTTP response carried
/// (none when no response arrived).
pub fn classify(error: Error, status: Option<u16>, retry_after: Option<Duration>) -> Failure {
    let transient = |error| Failure::Transient { error, retry_after };
    // No answer at all, or a timeout: the network or the service is down.
    if matches!(error.code(), ErrorCode::Network | ErrorCode::Timeout) {
        return transient(error);
    }
    if status.is_some_and(|s| s == 429 || s >= 500) {
        return transient(error);
    }
    let detail = error.detail();
    let aadsts = detail.and_then(|d| d.aadsts);
    let oauth_error = detail.and_then(|d| d.oauth_error.as_deref()).unwrap_or("");
    if matches!(oauth_error, "temporarily_unavailable" | "server_error") {
        return transient(error);
    }
    let state = match aadsts.and_then(lookup) {
        Some(entry) => match state_for(entry.class) {
            Some(state) => state,
            None => return transient(error),
        },
        // A code the catalogue does not know: what its OAuth error name says.
        None if oauth_error == "consent_required" => StateKind::NeedsConsent,
        None if aadsts.is_none() && oauth_error == "invalid_client" => StateKind::SecretExpired,
        None => StateKind::NeedsSignIn,
    };
    Failure::Permanent { state, error }
}

/// When to retry after `attempt` failures in a row: exponential from `base`, capped at `max`,
/// with ±20 % jitter (`jitter` in 0..1), and never sooner than the server's `Retry-After`.
pub fn retry_at(
    now: DateTime<Utc>,
    attempt: u32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
    jitter: f64,
) -> DateTime<Utc> {
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
    let backoff = exp.min(max).mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    let wait = retry_after.map_or(backoff, |ra| ra.max(backoff));
    // A server's Retry-After is clamped, so no answer can overflow the date or stop the scheduler.
    let wait =
        TimeDelta::from_std(crate::http::clamp_retry_after(wait)).unwrap_or(TimeDelta::hours(1));
    now.checked_add_signed(wait).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aadsts::MicrosoftError;

    fn ms(error: &str, code: u32) -> Error {
        serde_json::from_value::<MicrosoftError>(serde_json::json!({
            "error": error, "error_description": format!("AADSTS{code}: text"), "error_codes": [code]
        }))
        .unwrap()
        .to_error()
    }

    fn state(f: &Failure) -> Option<StateKind> {
        match f {
            Failure::Permanent { state, .. } => Some(*state),
            Failure::Transient { .. } => None,
        }
    }

    #[test]
    fn permanent_codes_ask_for_sign_in() {
        for code in [
            700082, 70008, 50173, 70000, 54005, 50076, 50079, 53003, 70043,
        ] {
            let f = classify(ms("invalid_grant", code), Some(400), None);
            assert_eq!(state(&f), Some(StateKind::NeedsSignIn), "AADSTS{code}");
        }
        let f = classify(ms("interaction_required", 50076), Some(400), None);
        assert_eq!(state(&f), Some(StateKind::NeedsSignIn));
    }

    #[test]
    fn consent_and_secret_codes_have_their_own_states() {
        for code in [65001, 90094] {
            let f = classify(ms("invalid_grant", code), Some(400), None);
            assert_eq!(state(&f), Some(StateKind::NeedsConsent), "AADSTS{code}");
        }
        for code in [7000222, 7000215] {
            let f = classify(ms("invalid_client", code), Some(401), None);
            assert_eq!(state(&f), Some(StateKind::SecretExpired), "AADSTS{code}");
        }
    }

    #[test]
    fn every_catalogue_code_gets_the_state_of_its_class() {
        for entry in crate::aadsts::CATALOGUE {
            let f = classify(ms("invalid_grant", entry.code), Some(400), None);
            let expected = match entry.class {
                ErrorClass::Transient => None,
                ErrorClass::Secret => Some(StateKind::SecretExpired),
                ErrorClass::Consent => Some(StateKind::NeedsConsent),
                _ => Some(StateKind::NeedsSignIn),
            };
            assert_eq!(state(&f), expected, "AADSTS{}", entry.code);
        }
        // Unknown codes follow the OAuth error name, else need a sign-in.
        let f = classify(ms("consent_required", 50999), Some(400), None);
        assert_eq!(state(&f), Some(StateKind::NeedsConsent));
        let f = classify(ms("invalid_client", 50999), Some(401), None);
        assert_eq!(state(&f), Some(StateKind::NeedsSignIn));
        let f = classify(ms("temporarily_unavailable", 50999), Some(400), None);
        assert_eq!(state(&f), None);
    }

    #[test]
    fn network_5xx_and_429_are_transient() {
        let net = Error::new(ErrorCode::Network, "down");
        assert!(state(&classify(net, None, None)).is_none());
        let f = classify(ms("temporarily_unavailable", 90033), Some(503), None);
        assert!(state(&f).is_none());
        let f = classify(
            ms("invalid_request", 90055),
            Some(429),
            Some(Duration::from_secs(7)),
        );
        match f {
            Failure::Transient { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)));
            }
            Failure::Permanent { .. } => panic!("429 must be retried"),
        }
    }

    #[test]
    fn a_failure_sets_the_state_with_its_data() {
        let now = Utc::now();
        let config = Config {
            retry_base: Duration::from_secs(30),
            ..Config::default()
        };
        let down = classify(Error::new(ErrorCode::Network, "down"), None, None);
        let first = down.next_state(&TokenState::ACTIVE, &config, now, 0.5);
        assert_eq!(
            first,
            TokenState::Retrying {
                attempt: 1,
                next_at: now + TimeDelta::seconds(30),
                last_error: "down".into(),
            }
        );
        let second = down.next_state(&first, &config, now, 0.5);
        assert_eq!(second.attempt(), 2);
        let revoked = classify(ms("invalid_grant", 50173), Some(400), None);
        let state = revoked.next_state(&second, &config, now, 0.5);
        assert_eq!(state, StateKind::NeedsSignIn);
        assert_eq!(state.aadsts(), Some(50173));
        assert_eq!(state.attempt(), 0);
        assert!(state.reason().is_some_and(|r| !r.is_empty()), "{state:?}");
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let now = Utc::now();
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(1800);
        let secs = |at: DateTime<Utc>| (at - now).num_seconds();
        assert_eq!(secs(retry_at(now, 1, base, max, None, 0.5)), 30);
        assert_eq!(secs(retry_at(now, 2, base, max, None, 0.5)), 60);
        assert_eq!(secs(retry_at(now, 3, base, max, None, 0.5)), 120);
        assert_eq!(secs(retry_at(now, 30, base, max, None, 0.5)), 1800);
        assert_eq!(secs(retry_at(now, 1, base, max, None, 0.0)), 24);
        assert_eq!(secs(retry_at(now, 1, base, max, None, 1.0)), 36);
        // Retry-After wins when it is longer, and is never cut short.
        let ra = Some(Duration::from_secs(300));
        assert_eq!(secs(retry_at(now, 1, base, max, ra, 0.5)), 300);
        let ra = Some(Duration::from_secs(5));
        assert_eq!(
            secs(retry_at(now, 1, Duration::from_secs(1), max, ra, 0.5)),
            5
        );
    }
}
