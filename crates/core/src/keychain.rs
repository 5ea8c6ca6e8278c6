//! Where secrets live: the OS keychain (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows) behind the [`Keychain`] trait, plus an in-memory store for tests.
//!
//! Entries use the service name `mailconn` and an account name `{kind}/{id}`. This module does not
//! decide *what* is stored; callers pass a [`SecretKey`]. It never offers a plaintext-file fallback.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use crate::error::{Error, ErrorCode};
use crate::sensitive::Sensitive;

/// The keychain service name every entry is filed under.
pub const SERVICE: &str = "mailconn";

/// What a secret is, which becomes the first part of its keychain account name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// An app registration's client secret (the *Value* from the Azure portal).
    ClientSecret,
    /// A connection's refresh token.
    RefreshToken,
    /// A throwaway entry written and removed to check that the keychain works.
    Probe,
}

impl SecretKind {
    fn as_str(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client-secret",
            SecretKind::RefreshToken => "refresh-token",
            SecretKind::Probe => "probe",
        }
    }
}

/// The address of one secret in the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretKey {
    pub kind: SecretKind,
    pub id: String,
}

impl SecretKey {
    pub fn new(kind: SecretKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }

    /// Where an app registration's client secret is kept.
    pub fn client_secret(registration_id: &str) -> Self {
        Self::new(SecretKind::ClientSecret, registration_id)
    }

    /// Where a connection's refresh token is kept.
    pub fn refresh_token(connection_id: &str) -> Self {
        Self::new(SecretKind::RefreshToken, connection_id)
    }

    /// The keychain account name, e.g. `refresh-token/6f1c...`.
    pub fn account(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.id)
    }
}

/// Why the keychain could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeychainError {
    /// No keychain service on this system (no Secret Service provider on the session bus).
    Unavailable(String),
    /// The keychain is there but locked, or the user or system refused access.
    Locked(String),
    /// Anything else the platform reported.
    Other(String),
}

impl fmt::Display for KeychainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeychainError::Unavailable(why) => write!(f, "no keychain service: {why}"),
            KeychainError::Locked(why) => write!(f, "keychain locked or access denied: {why}"),
            KeychainError::Other(why) => write!(f, "keychain error: {why}"),
        }
    }
}

impl std::error::Error for KeychainError {}

impl From<KeychainError> for Error {
    fn from(e: KeychainError) -> Self {
        let (code, message, fix) = match &e {
            KeychainError::Unavailable(_) => (
                ErrorCode::KeychainUnavailable,
                "No system keychain was found. Mail Connections keeps client secrets and refresh \
                 tokens only in the system keychain (Secret Service on Linux), never in a file.",
                UNAVAILABLE_FIX,
            ),
            KeychainError::Locked(_) => (
                ErrorCode::KeychainLocked,
                "The system keychain is locked or refused access, so secrets cannot be read or \
                 saved.",
                LOCKED_FIX,
            ),
            KeychainError::Other(_) => (
                ErrorCode::Keychain,
                "The system keychain reported an error.",
                "Check that your keyring works (for example with the Passwords and Keys app), \
                 then try again.",
            ),
        };
        Error::new(code, message).with_fix(fix).with_source(e)
    }
}

#[cfg(target_os = "linux")]
const UNAVAILABLE_FIX: &str = "Install and start a Secret Service provider in your desktop \
    session (GNOME Keyring: `sudo apt install gnome-keyring`, or KeePassXC with Secret Service \
    integration enabled), make sure a D-Bus session bus is running, then restart Mail Connections.";
#[cfg(not(target_os = "linux"))]
const UNAVAILABLE_FIX: &str = "Make sure the system keychain service is running, then restart \
    Mail Connections.";

#[cfg(target_os = "linux")]
const LOCKED_FIX: &str = "Unlock your login keyring (log in to the desktop session, or open \
    Passwords and Keys and unlock \"Login\"), or create a default keyring if there is none, then \
    try again.";
#[cfg(not(target_os = "linux"))]
const LOCKED_FIX: &str = "Unlock the system keychain and allow Mail Connections to use it, then \
    try again.";

/// A place to keep secrets. Implementations are cheap to share across threads.
pub trait Keychain: Send + Sync + fmt::Debug {
    /// Stores (or replaces) a secret.
    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<(), KeychainError>;
    /// Reads a secret; `None` when there is no such entry.
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError>;
    /// Removes a secret; removing a missing entry is not an error.
    fn delete(&self, key: &SecretKey) -> Result<(), KeychainError>;

    /// Writes, reads back and removes a throwaway entry: the honest test that the store works.
    fn probe(&self) -> Result<(), KeychainError> {
        let key = SecretKey::new(SecretKind::Probe, uuid::Uuid::new_v4().to_string());
        let value = Sensitive::from("probe");
        self.set(&key, &value)?;
        let read = self.get(&key);
        self.delete(&key)?;
        match read? {
            Some(v) if v == value => Ok(()),
            _ => Err(KeychainError::Other(
                "a value written to the keychain did not read back".into(),
            )),
        }
    }
}

/// The OS keychain through the `keyring` crate.
#[derive(Debug, Default, Clone)]
pub struct SystemKeychain {
    service: String,
}

impl SystemKeychain {
    pub fn new() -> Self {
        Self {
            service: SERVICE.to_owned(),
        }
    }

    /// A store under another service name, so tests never touch a user's real entries.
    pub fn with_service(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    fn entry(&self, key: &SecretKey) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(&self.service, &key.account()).map_err(classify)
    }
}

impl Keychain for SystemKeychain {
    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<(), KeychainError> {
        self.entry(key)?
            .set_password(value.expose())
            .map_err(classify)
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError> {
        match self.entry(key)?.get_password() {
            Ok(v) => Ok(Some(Sensitive::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    fn delete(&self, key: &SecretKey) -> Result<(), KeychainError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

/// Sorts the platform's failure into "no keychain here", "locked" and the rest. The `keyring`
/// crate reports D-Bus failures as text only, so the well-known D-Bus error names are matched.
fn classify(e: keyring::Error) -> KeychainError {
    match e {
        keyring::Error::NoStorageAccess(inner) => KeychainError::Locked(inner.to_string()),
        keyring::Error::PlatformFailure(inner) => {
            let text = inner.to_string();
            if is_missing_service(&text) {
                KeychainError::Unavailable(text)
            } else if is_locked(&text) {
                KeychainError::Locked(text)
            } else {
                KeychainError::Other(text)
            }
        }
        other => KeychainError::Other(other.to_string()),
    }
}

fn is_missing_service(text: &str) -> bool {
    const MARKERS: [&str; 7] = [
        "autolaunch",
        "ServiceUnknown",
        "org.freedesktop.secrets",
        "NoServer",
        "Failed to connect to socket",
        "No such file or directory",
        "DBUS_SESSION_BUS_ADDRESS",
    ];
    MARKERS.iter().any(|m| text.contains(m))
}

fn is_locked(text: &str) -> bool {
    ["IsLocked", "locked", "Prompt", "dismissed", "AccessDenied"]
        .iter()
        .any(|m| text.contains(m))
}

/// Secrets in a map, for unit tests and for the `--keychain memory` test mode.
#[derive(Debug, Default)]
pub struct MemoryKeychain {
    entries: Mutex<HashMap<SecretKey, String>>,
}

impl MemoryKeychain {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("secret map poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Keychain for MemoryKeychain {
    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<(), KeychainError> {
        self.entries
            .lock()
            .expect("secret map poisoned")
            .insert(key.clone(), value.expose().clone());
        Ok(())
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError> {
        Ok(self
            .entries
            .lock()
            .expect("secret map poisoned")
            .get(key)
            .cloned()
            .map(Sensitive::new))
    }

    fn delete(&self, key: &SecretKey) -> Result<(), KeychainError> {
        self.entries
            .lock()
            .expect("secret map poisoned")
            .remove(key);
        Ok(())
    }
}

/// Writes a new client secret so that at every moment one complete secret is stored: first to a
/// staging entry, read back, and only then over the old one.
pub fn replace_client_secret(
    secrets: &dyn Keychain,
    registration_id: &str,
    new: &Sensitive<String>,
) -> crate::Result<()> {
    let staging = SecretKey::new(SecretKind::ClientSecret, format!("{registration_id}.next"));
    secrets.set(&staging, new)?;
    if secrets.get(&staging)?.as_ref() != Some(new) {
        let _ = secrets.delete(&staging);
        return Err(Error::new(
            ErrorCode::Keychain,
            "The keychain did not keep the new secret; nothing was changed.",
        ));
    }
    secrets.set(&SecretKey::client_secret(registration_id), new)?;
    secrets.delete(&staging)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryKeychain::new();
        let key = SecretKey::new(SecretKind::RefreshToken, "c1");
        assert!(store.get(&key).unwrap().is_none());
        store.set(&key, &Sensitive::from("rt-1")).unwrap();
        assert_eq!(store.get(&key).unwrap().unwrap().expose(), "rt-1");
        store.set(&key, &Sensitive::from("rt-2")).unwrap();
        assert_eq!(store.get(&key).unwrap().unwrap().expose(), "rt-2");
        store.delete(&key).unwrap();
        store.delete(&key).unwrap();
        assert!(store.is_empty());
        store.probe().unwrap();
        assert!(store.is_empty(), "the probe cleans up after itself");
    }

    #[test]
    fn account_names_carry_kind_and_id() {
        assert_eq!(
            SecretKey::new(SecretKind::ClientSecret, "r1").account(),
            "client-secret/r1"
        );
        assert_eq!(
            SecretKey::new(SecretKind::RefreshToken, "c9").account(),
            "refresh-token/c9"
        );
    }

    #[test]
    fn platform_failures_are_sorted_for_the_user() {
        let no_bus = keyring::Error::PlatformFailure(
            "D-Bus error: Unable to autolaunch a dbus-daemon without a $DISPLAY for X11".into(),
        );
        assert!(matches!(classify(no_bus), KeychainError::Unavailable(_)));
        let no_service = keyring::Error::PlatformFailure(
            "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not \
             provided by any .service files"
                .into(),
        );
        assert!(matches!(
            classify(no_service),
            KeychainError::Unavailable(_)
        ));
        let locked = keyring::Error::NoStorageAccess("no result found".into());
        assert!(matches!(classify(locked), KeychainError::Locked(_)));

        let err: Error = KeychainError::Unavailable("x".into()).into();
        assert_eq!(err.code(), ErrorCode::KeychainUnavailable);
        assert!(err.message().contains("No system keychain was found"));
        assert!(
            err.detail()
                .unwrap()
                .fix
                .as_deref()
                .unwrap()
                .contains("Secret Service")
        );
        let err: Error = KeychainError::Locked("x".into()).into();
        assert_eq!(err.code(), ErrorCode::KeychainLocked);
        assert!(err.message().contains("locked"));
    }
}
