//! The Secret Service (Linux) behind [`super::SystemKeychain`]: one D-Bus connection and one
//! Diffie-Hellman-encrypted session per process, opened on first use, shared by every thread and
//! every service name, and opened again (once, then the call is retried) when the daemon
//! restarted or the connection broke.
//!
//! Items are found and written exactly as the `keyring` crate 3.6 writes them, so entries of
//! earlier versions are found and earlier versions find the new ones: attributes `service`,
//! `username` (the account), `target` = `default` and `application` = `rust-keyring`, label
//! `{account}@{service}:default (keyring v3.6.3)`, content type `text/plain`, new items in the
//! default collection. A search first matches `target`, `service` and `username` over all
//! collections; when nothing matches it looks in the default collection for an item with only
//! `service` and `username` (what keyring 1 and `secret-tool store` write).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use dbus_secret_service::{EncryptionType, Error as SsError, Item, SecretService};

use super::{KeychainError, SecretKey, classify_text};
use crate::sensitive::Sensitive;

/// The `target` attribute keyring writes for its default collection.
const TARGET: &str = "default";
/// The `application` attribute keyring writes on the items it creates.
const APPLICATION: &str = "rust-keyring";
/// The keyring version named in the label of items keyring 3.6.3 creates.
const KEYRING_LABEL_VERSION: &str = "3.6.3";
const CONTENT_TYPE: &str = "text/plain";

/// The process's one Secret Service connection and session; `None` until first use and after a
/// broken connection was dropped.
static SESSION: Mutex<Option<SecretService>> = Mutex::new(None);

/// Why a Secret Service call failed, before it is sorted for the user.
#[derive(Debug)]
pub(super) enum Failure {
    Service(SsError),
    /// This many items carry the name.
    Ambiguous(usize),
    NotText,
}

impl From<SsError> for Failure {
    fn from(e: SsError) -> Self {
        Failure::Service(e)
    }
}

impl Failure {
    /// A failure that a fresh connection and session may not have: the daemon restarted (our
    /// session is unknown to it), the bus connection broke, or a reply did not come.
    fn may_be_stale(&self) -> bool {
        match self {
            Failure::Service(SsError::Dbus(e)) => {
                let name = e.name().unwrap_or_default();
                !(name.contains("IsLocked") || name.contains("AccessDenied"))
            }
            Failure::Service(SsError::Crypto(_) | SsError::Parse) => true,
            _ => false,
        }
    }
}

/// Sorts a failure into "no keychain here", "locked" and the rest, in the meaning the `keyring`
/// crate's errors had: locked, dismissed prompt or no default collection are "locked"; D-Bus
/// failures are sorted by their well-known error names and messages.
pub(super) fn classify(failure: Failure) -> KeychainError {
    match failure {
        Failure::NotText => KeychainError::Unreadable("the stored value is not UTF-8 text".into()),
        Failure::Ambiguous(n) => {
            KeychainError::Unreadable(format!("{n} entries carry the same name"))
        }
        Failure::Service(e @ (SsError::Locked | SsError::NoResult | SsError::Prompt)) => {
            KeychainError::Locked(e.to_string())
        }
        Failure::Service(SsError::Unavailable) => {
            KeychainError::Unavailable(SsError::Unavailable.to_string())
        }
        Failure::Service(e) => classify_text(e.to_string()),
    }
}

/// The held session, locked for one call or one batch.
pub(super) struct Held {
    guard: MutexGuard<'static, Option<SecretService>>,
}

impl Held {
    pub(super) fn lock() -> Self {
        Self {
            guard: SESSION.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Runs `op` over the held session, opening it first if there is none. When a session that
    /// was already open fails in a way a new one may not, it is dropped, opened again and `op`
    /// retried once.
    fn run<T>(
        &mut self,
        op: impl Fn(&SecretService) -> Result<T, Failure>,
    ) -> Result<T, KeychainError> {
        let mut fresh = false;
        loop {
            if self.guard.is_none() {
                let opened = SecretService::connect(EncryptionType::Dh)
                    .map_err(|e| classify(Failure::Service(e)))?;
                *self.guard = Some(opened);
                fresh = true;
            }
            let ss = self.guard.as_ref().expect("opened above");
            match op(ss) {
                Ok(v) => return Ok(v),
                Err(e) if !fresh && e.may_be_stale() => {
                    tracing::info!("the Secret Service session broke; opening a new one");
                    *self.guard = None;
                }
                Err(e) => return Err(classify(e)),
            }
        }
    }

    pub(super) fn get(
        &mut self,
        service: &str,
        key: &SecretKey,
    ) -> Result<Option<Sensitive<String>>, KeychainError> {
        let account = key.account();
        self.run(|ss| {
            let Some(found) = find_unique(ss, service, &account)? else {
                return Ok(None);
            };
            found.unlock_if_locked()?;
            let bytes = found.item.get_secret()?;
            match String::from_utf8(bytes) {
                Ok(text) => Ok(Some(Sensitive::new(text))),
                Err(not_text) => {
                    drop(Sensitive::new(not_text.into_bytes()));
                    Err(Failure::NotText)
                }
            }
        })
    }

    pub(super) fn set(
        &mut self,
        service: &str,
        key: &SecretKey,
        value: &Sensitive<String>,
    ) -> Result<(), KeychainError> {
        let account = key.account();
        let secret = value.expose().as_bytes();
        self.run(|ss| {
            if let Some(found) = find_unique(ss, service, &account)? {
                found.unlock_if_locked()?;
                found.item.set_secret(secret, CONTENT_TYPE)?;
                return Ok(());
            }
            let collection = ss.get_default_collection()?;
            if collection.is_locked()? {
                collection.unlock()?;
            }
            collection.create_item(
                &label(service, &account),
                new_item_attributes(service, &account),
                secret,
                true,
                CONTENT_TYPE,
            )?;
            Ok(())
        })
    }

    pub(super) fn delete(&mut self, service: &str, key: &SecretKey) -> Result<(), KeychainError> {
        let account = key.account();
        self.run(|ss| {
            if let Some(found) = find_unique(ss, service, &account)? {
                found.unlock_if_locked()?;
                found.item.delete()?;
            }
            Ok(())
        })
    }
}

/// The label keyring 3.6.3 gives the items it creates.
fn label(service: &str, account: &str) -> String {
    format!("{account}@{service}:{TARGET} (keyring v{KEYRING_LABEL_VERSION})")
}

/// The attributes keyring 3.6 writes on a new item.
fn new_item_attributes<'a>(service: &'a str, account: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([
        ("service", service),
        ("username", account),
        ("target", TARGET),
        ("application", APPLICATION),
    ])
}

struct Found<'a> {
    item: Item<'a>,
    locked: bool,
}

impl Found<'_> {
    fn unlock_if_locked(&self) -> Result<(), SsError> {
        if self.locked {
            self.item.unlock()
        } else {
            Ok(())
        }
    }
}

/// The one item for `account`, as keyring finds it; several are [`Failure::Ambiguous`].
fn find_unique<'a>(
    ss: &'a SecretService,
    service: &str,
    account: &str,
) -> Result<Option<Found<'a>>, Failure> {
    let search = ss.search_items(HashMap::from([
        ("target", TARGET),
        ("service", service),
        ("username", account),
    ]))?;
    let count = search.unlocked.len() + search.locked.len();
    if count > 1 {
        return Err(Failure::Ambiguous(count));
    }
    if let Some(item) = search.unlocked.into_iter().next() {
        return Ok(Some(Found {
            item,
            locked: false,
        }));
    }
    if let Some(item) = search.locked.into_iter().next() {
        return Ok(Some(Found { item, locked: true }));
    }
    // Items without a target: keyring 1, or another program such as `secret-tool store`. Like
    // keyring, only the default collection, and not unlocked first.
    let collection = ss.get_default_collection()?;
    let legacy =
        collection.search_items(HashMap::from([("service", service), ("username", account)]))?;
    match legacy.as_slice() {
        [] => Ok(None),
        [item] => Ok(Some(Found {
            item: Item::new(ss, item.path.clone()),
            locked: false,
        })),
        more => Err(Failure::Ambiguous(more.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_labelled_and_attributed_as_keyring_writes_them() {
        assert_eq!(
            label("mailconn", "refresh-token/c1"),
            "refresh-token/c1@mailconn:default (keyring v3.6.3)"
        );
        let attributes = new_item_attributes("mailconn", "refresh-token/c1");
        assert_eq!(attributes.len(), 4);
        assert_eq!(attributes["service"], "mailconn");
        assert_eq!(attributes["username"], "refresh-token/c1");
        assert_eq!(attributes["target"], "default");
        assert_eq!(attributes["application"], "rust-keyring");
    }

    #[test]
    fn failures_are_sorted_as_before() {
        let no_bus = classify_text(
            "D-Bus error: Unable to autolaunch a dbus-daemon without a $DISPLAY for X11".into(),
        );
        assert!(matches!(no_bus, KeychainError::Unavailable(_)), "{no_bus}");
        let no_service = classify_text(
            "DBus error: The name org.freedesktop.secrets was not provided by any .service files"
                .into(),
        );
        assert!(
            matches!(no_service, KeychainError::Unavailable(_)),
            "{no_service}"
        );
        let is_locked = classify_text("DBus error: Cannot get secret of a locked object".into());
        assert!(matches!(is_locked, KeychainError::Locked(_)), "{is_locked}");
        // D-Bus giving up waiting is not a locked keychain ("blocked" is not "locked").
        let no_reply = classify_text(
            "DBus error: Did not receive a reply. Possible causes include: the remote application \
             did not send a reply, the message bus security policy blocked the reply, the reply \
             timeout expired, or the network connection was broken."
                .into(),
        );
        assert!(matches!(no_reply, KeychainError::NoAnswer(_)), "{no_reply}");
        let shown: crate::Error = no_reply.into();
        assert_eq!(shown.code(), crate::ErrorCode::Keychain);
        assert!(
            shown
                .message()
                .starts_with("The system keychain did not answer in time"),
            "{}",
            shown.message()
        );
        let locked_object = classify_text("DBus error: Object is locked".into());
        assert!(
            matches!(locked_object, KeychainError::Locked(_)),
            "{locked_object}"
        );
        let other = classify_text("DBus error: something else".into());
        assert!(matches!(other, KeychainError::Other(_)), "{other}");

        for locked in [SsError::Locked, SsError::NoResult, SsError::Prompt] {
            let sorted = classify(Failure::Service(locked));
            assert!(matches!(sorted, KeychainError::Locked(_)), "{sorted}");
        }
        let gone = classify(Failure::Service(SsError::Unavailable));
        assert!(matches!(gone, KeychainError::Unavailable(_)), "{gone}");
        let twice = classify(Failure::Ambiguous(2));
        assert!(
            matches!(&twice, KeychainError::Unreadable(m) if m == "2 entries carry the same name"),
            "{twice}"
        );
        let binary = classify(Failure::NotText);
        assert!(matches!(binary, KeychainError::Unreadable(_)), "{binary}");
    }

    #[test]
    fn only_connection_failures_are_retried() {
        assert!(!Failure::Ambiguous(2).may_be_stale());
        assert!(!Failure::NotText.may_be_stale());
        assert!(!Failure::Service(SsError::Prompt).may_be_stale());
        assert!(!Failure::Service(SsError::Locked).may_be_stale());
        assert!(Failure::Service(SsError::Parse).may_be_stale());
    }
}
