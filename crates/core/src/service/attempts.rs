//! Sign-ins between their start and their finish, for both kinds the service runs: a mailbox's
//! sign-in and the administrator's sign-in of "Create it for me". Each waits under a random id
//! until someone finishes it (`take`), keeps a cancel token until it ends, and is dropped when
//! cancelled or when nobody finished it within its flow's own life (its loopback listener or
//! deep-link state goes with it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::flow::{auth_code, device_code};

/// How a sign-in comes back: the browser to a loopback listener or deep link (with how long to
/// wait for it), or a device code being polled.
pub(super) enum Flow {
    Browser(auth_code::Pending, Duration),
    Device(device_code::Pending),
}

/// Added to a flow's own timeout before an attempt nobody waits for is dropped.
#[cfg(not(test))]
pub(super) const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
#[cfg(test)]
pub(super) const EXPIRY_MARGIN: Duration = Duration::from_millis(100);

struct Inner<T> {
    waiting: Mutex<HashMap<String, T>>,
    cancels: Mutex<HashMap<String, CancellationToken>>,
}

/// Attempts of one kind, each holding a `T` (the prepared request and its flow).
pub(super) struct Attempts<T>(Arc<Inner<T>>);

impl<T> Default for Attempts<T> {
    fn default() -> Self {
        Self(Arc::new(Inner {
            waiting: Mutex::new(HashMap::new()),
            cancels: Mutex::new(HashMap::new()),
        }))
    }
}

impl<T> std::fmt::Debug for Attempts<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempts").finish_non_exhaustive()
    }
}

fn locked<V>(m: &Mutex<V>) -> MutexGuard<'_, V> {
    m.lock().expect("sign-in attempts poisoned")
}

impl<T> Inner<T> {
    /// Drops an attempt that was never finished, and its token; whether there was one.
    fn drop_waiting(&self, attempt: &str) -> bool {
        let dropped = locked(&self.waiting).remove(attempt).is_some();
        if dropped {
            locked(&self.cancels).remove(attempt);
        }
        dropped
    }
}

impl<T: Send + 'static> Attempts<T> {
    /// Keeps `item` under a new id until it is taken, cancelled, or `lifetime` (plus a margin)
    /// has passed.
    pub(super) fn add(&self, item: T, lifetime: Duration) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        locked(&self.0.cancels).insert(id.clone(), CancellationToken::new());
        locked(&self.0.waiting).insert(id.clone(), item);
        let (inner, attempt) = (Arc::downgrade(&self.0), id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(lifetime.saturating_add(EXPIRY_MARGIN)).await;
            if let Some(inner) = inner.upgrade()
                && inner.drop_waiting(&attempt)
            {
                tracing::info!("a sign-in nobody finished expired");
            }
        });
        id
    }
}

impl<T> Attempts<T> {
    /// The attempt, for the one caller that finishes it, with the token that cancels its wait.
    pub(super) fn take(&self, attempt: &str) -> Option<(T, CancellationToken)> {
        let item = locked(&self.0.waiting).remove(attempt)?;
        let cancel = locked(&self.0.cancels).get(attempt).cloned();
        cancel.map(|c| (item, c))
    }

    /// The attempt taken has finished, one way or the other.
    pub(super) fn end(&self, attempt: &str) {
        locked(&self.0.cancels).remove(attempt);
    }

    /// Stops the wait of an attempt being finished, or drops one nobody waits for yet; nothing
    /// happens for an unknown one.
    pub(super) fn cancel(&self, attempt: &str) {
        if let Some(cancel) = locked(&self.0.cancels).remove(attempt) {
            cancel.cancel();
        }
        self.0.drop_waiting(attempt);
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        locked(&self.0.waiting).is_empty() && locked(&self.0.cancels).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_attempt_is_taken_once_and_cancelling_it_stops_its_wait() {
        let attempts = Attempts::<u32>::default();
        let id = attempts.add(7, Duration::from_secs(60));
        let (item, cancel) = attempts.take(&id).expect("waiting");
        assert_eq!(item, 7);
        assert!(attempts.take(&id).is_none(), "taken twice");
        attempts.cancel(&id);
        assert!(cancel.is_cancelled());
        attempts.end(&id);
        assert!(attempts.is_empty());
    }

    #[tokio::test]
    async fn a_cancelled_attempt_cannot_be_taken_and_unknown_ids_are_ignored() {
        let attempts = Attempts::<u32>::default();
        let id = attempts.add(1, Duration::from_secs(60));
        attempts.cancel("no-such-attempt");
        attempts.cancel(&id);
        assert!(attempts.take(&id).is_none());
        assert!(attempts.is_empty());
    }

    #[tokio::test]
    async fn an_attempt_nobody_takes_is_dropped_after_its_lifetime() {
        let attempts = Attempts::<u32>::default();
        let id = attempts.add(1, Duration::from_millis(50));
        tokio::time::sleep(Duration::from_millis(50) + EXPIRY_MARGIN * 3).await;
        assert!(attempts.take(&id).is_none());
        assert!(attempts.is_empty());
    }
}
