//! Where secrets live: the OS keychain (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows) behind the [`Keychain`] trait, plus an in-memory store for tests.
//!
//! Entries use the service name `mailconn` and an account name `{kind}/{id}`. This module does not
//! decide *what* is stored; callers pass a [`SecretKey`]. It never offers a plaintext-file fallback;
//! an encrypted file ([`FileKeychain`]) is used only when the user selects it with a passphrase.

mod file;
pub mod sealed;
#[cfg(target_os = "linux")]
mod secret_service;

pub use file::FileKeychain;
pub use sealed::SealedKeychain;

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
    /// A connection's current access token for one audience, with its expiry and scopes, so the
    /// CLI (a new process per `mailconn token`) and the app share it instead of each refreshing.
    AccessToken,
    /// The private key of the mail bridge's TLS certificate (the certificate is in `SQLite`).
    BridgeKey,
    /// The key of the sealed token store (`storage-key/sealed/{database id}`), see
    /// [`sealed`].
    StorageKey,
    /// A throwaway entry written and removed to check that the keychain works.
    Probe,
}

impl SecretKind {
    fn as_str(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client-secret",
            SecretKind::RefreshToken => "refresh-token",
            SecretKind::AccessToken => "access-token",
            SecretKind::BridgeKey => "bridge-key",
            SecretKind::StorageKey => "storage-key",
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

    /// Where a connection's access token for one audience (`graph`, `outlook`) is kept.
    pub fn access_token(connection_id: &str, audience: &str) -> Self {
        Self::new(
            SecretKind::AccessToken,
            format!("{connection_id}/{audience}"),
        )
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
    /// An entry is there but its value cannot be read (not text, several entries for one name,
    /// or an encrypted file changed by someone else).
    Unreadable(String),
    /// The encrypted secrets file does not open with the passphrase given.
    Passphrase(String),
    /// The encrypted secrets file was changed after it was written, or is not one.
    FileDamaged(String),
    /// Tokens are sealed in the database but the sealed store's key is not in the keychain.
    SealedKeyMissing,
    /// The key in the keychain is not the one the sealed tokens were sealed with.
    SealedKeyChanged,
    /// One sealed entry (its account name) does not open: changed after it was sealed.
    SealedDamaged(String),
    /// The database holding the sealed store failed.
    Database(String),
    /// The keychain service did not answer in time (D-Bus gave up waiting: the daemon is busy
    /// or hung). Nothing was changed; trying again usually works.
    NoAnswer(String),
    /// Anything else the platform reported.
    Other(String),
}

impl KeychainError {
    /// A sealed token that cannot be opened (its key gone or changed, or the row damaged).
    pub fn is_sealed_problem(&self) -> bool {
        matches!(
            self,
            KeychainError::SealedKeyMissing
                | KeychainError::SealedKeyChanged
                | KeychainError::SealedDamaged(_)
        )
    }
}

impl fmt::Display for KeychainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeychainError::Unavailable(why) => write!(f, "no keychain service: {why}"),
            KeychainError::Locked(why) => write!(f, "keychain locked or access denied: {why}"),
            KeychainError::Unreadable(why) => write!(f, "keychain entry unreadable: {why}"),
            KeychainError::Passphrase(why) | KeychainError::FileDamaged(why) => {
                write!(f, "encrypted secrets file: {why}")
            }
            KeychainError::SealedKeyMissing => {
                write!(f, "the sealed token store's key is not in the keychain")
            }
            KeychainError::SealedKeyChanged => write!(
                f,
                "the key in the keychain is not the one the sealed tokens were sealed with"
            ),
            KeychainError::SealedDamaged(account) => {
                write!(f, "the sealed entry {account} does not open")
            }
            KeychainError::Database(why) => write!(f, "the sealed token store: {why}"),
            KeychainError::NoAnswer(why) => write!(f, "the keychain did not answer: {why}"),
            KeychainError::Other(why) => write!(f, "keychain error: {why}"),
        }
    }
}

impl std::error::Error for KeychainError {}

impl From<KeychainError> for Error {
    fn from(e: KeychainError) -> Self {
        match &e {
            KeychainError::Passphrase(why) => {
                return Error::new(
                    ErrorCode::KeychainLocked,
                    format!("The secrets file cannot be opened: {why}."),
                )
                .with_fix(format!(
                    "Set {PASSPHRASE_ENV} to the passphrase the file was made with. If it is \
                         lost, move the file aside (its secrets are lost with it): then enter the \
                         client secrets again and sign in again."
                ))
                .with_source(e);
            }
            KeychainError::FileDamaged(why) => {
                return Error::new(
                    ErrorCode::Keychain,
                    format!("The secrets file cannot be used: {why}. It was left untouched."),
                )
                .with_fix(
                    "Restore the file from a backup, or move it aside: then enter the client \
                         secrets again and sign in again.",
                )
                .with_source(e);
            }
            _ => {}
        }
        let e = match sealed_error(e) {
            Ok(shown) => return shown,
            Err(e) => e,
        };
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
            KeychainError::Unreadable(_) => (
                ErrorCode::Keychain,
                "A secret in the keychain cannot be read: it was changed outside Mail \
                 Connections or is damaged.",
                "Remove the entry (in Passwords and Keys, or `secret-tool clear service mailconn \
                 username <entry>`), then sign in again or enter the client secret again.",
            ),
            KeychainError::NoAnswer(_) => (
                ErrorCode::Keychain,
                "The system keychain did not answer in time, so the secret was neither read nor \
                 saved. Nothing was changed.",
                "Try again in a moment. If it keeps happening, the keyring service is stuck: log \
                 out and in again (or restart gnome-keyring-daemon).",
            ),
            KeychainError::Other(_)
            | KeychainError::Passphrase(_)
            | KeychainError::FileDamaged(_)
            | KeychainError::SealedKeyMissing
            | KeychainError::SealedKeyChanged
            | KeychainError::SealedDamaged(_)
            | KeychainError::Database(_) => (
                ErrorCode::Keychain,
                "The system keychain reported an error.",
                "Check that your keyring works (for example with the Passwords and Keys app), \
                 then try again.",
            ),
        };
        Error::new(code, message).with_fix(fix).with_source(e)
    }
}

/// The sealed store's own failures, in words.
fn sealed_error(e: KeychainError) -> std::result::Result<Error, KeychainError> {
    Ok(match &e {
        KeychainError::SealedKeyMissing | KeychainError::SealedKeyChanged => {
            let what = if matches!(e, KeychainError::SealedKeyMissing) {
                "its key is gone from the system keychain"
            } else {
                "the key in the system keychain is not the one they were sealed with"
            };
            Error::new(
                ErrorCode::Keychain,
                format!(
                    "The refresh tokens sealed in the database cannot be opened: {what}. \
                         Nothing was changed, and no new key was made."
                ),
            )
            .with_fix(
                "Restore the keychain entry `storage-key/sealed/...` (service mailconn) from \
                     a backup of your keyring if you can. Otherwise run `mailconn storage set \
                     keychain --forget-sealed` (it drops the tokens that cannot be opened), \
                     then sign in again to each connection (`mailconn reconnect ADDRESS`).",
            )
            .with_source(e.clone())
        }
        KeychainError::SealedDamaged(account) => {
            let id = account
                .split('/')
                .nth(1)
                .unwrap_or(account.as_str())
                .to_owned();
            Error::new(
                ErrorCode::Keychain,
                format!(
                    "The sealed token of connection {id} is damaged: it was changed in the \
                         database after it was sealed, so it cannot be opened. Other connections \
                         are not affected."
                ),
            )
            .with_fix(format!(
                "Sign in to this connection again (`mailconn reconnect {id}`): that seals \
                     a new token over the damaged one."
            ))
            .with_source(e.clone())
        }
        KeychainError::Database(why) => Error::new(
            ErrorCode::Database,
            format!("The database holding the sealed tokens failed: {why}."),
        )
        .with_fix("Run `mailconn doctor` to check the database, then try again.")
        .with_source(e.clone()),
        _ => return Err(e),
    })
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

    /// Reads several secrets, in the order of `keys`. Stores that can read many entries in one
    /// call override this; the default reads them one by one.
    fn get_many(
        &self,
        keys: &[SecretKey],
    ) -> Result<Vec<Option<Sensitive<String>>>, KeychainError> {
        keys.iter().map(|k| self.get(k)).collect()
    }

    /// Stores several secrets. Stores that can write many entries at once (one transaction)
    /// override this; the default writes them one by one, in order, and stops at the first
    /// failure (the ones before it are stored).
    fn set_many(&self, items: &[(SecretKey, Sensitive<String>)]) -> Result<(), KeychainError> {
        items.iter().try_for_each(|(k, v)| self.set(k, v))
    }

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

/// The OS keychain: on Linux the Secret Service over one connection and session per process
/// (`keychain/secret_service.rs`), on macOS and Windows the `keyring` crate's native stores.
/// Entries are the same on every version: what the `keyring` crate writes.
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
}

#[cfg(target_os = "linux")]
impl Keychain for SystemKeychain {
    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<(), KeychainError> {
        secret_service::Held::lock().set(&self.service, key, value)
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError> {
        secret_service::Held::lock().get(&self.service, key)
    }

    fn delete(&self, key: &SecretKey) -> Result<(), KeychainError> {
        secret_service::Held::lock().delete(&self.service, key)
    }

    /// One after the other over the held session, which stays locked for the whole batch.
    fn get_many(
        &self,
        keys: &[SecretKey],
    ) -> Result<Vec<Option<Sensitive<String>>>, KeychainError> {
        let mut held = secret_service::Held::lock();
        keys.iter().map(|k| held.get(&self.service, k)).collect()
    }

    /// In order over the held session, stopping at the first failure (the ones before it are
    /// stored).
    fn set_many(&self, items: &[(SecretKey, Sensitive<String>)]) -> Result<(), KeychainError> {
        let mut held = secret_service::Held::lock();
        items
            .iter()
            .try_for_each(|(k, v)| held.set(&self.service, k, v))
    }
}

#[cfg(not(target_os = "linux"))]
impl SystemKeychain {
    fn entry(&self, key: &SecretKey) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(&self.service, &key.account()).map_err(classify)
    }
}

#[cfg(not(target_os = "linux"))]
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

/// Sorts the platform's failure into "no keychain here", "locked", "unreadable" and the rest.
#[cfg(not(target_os = "linux"))]
fn classify(e: keyring::Error) -> KeychainError {
    match e {
        keyring::Error::NoStorageAccess(inner) => KeychainError::Locked(inner.to_string()),
        keyring::Error::BadEncoding(_) => {
            KeychainError::Unreadable("the stored value is not UTF-8 text".into())
        }
        keyring::Error::Ambiguous(entries) => {
            KeychainError::Unreadable(format!("{} entries carry the same name", entries.len()))
        }
        keyring::Error::PlatformFailure(inner) => classify_text(inner.to_string()),
        other => KeychainError::Other(other.to_string()),
    }
}

/// Sorts a platform failure by its text: D-Bus failures carry well-known names and messages.
fn classify_text(text: String) -> KeychainError {
    if is_missing_service(&text) {
        KeychainError::Unavailable(text)
    } else if is_no_answer(&text) {
        KeychainError::NoAnswer(text)
    } else if is_locked(&text) {
        KeychainError::Locked(text)
    } else {
        KeychainError::Other(text)
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

/// D-Bus's own time-out: `org.freedesktop.DBus.Error.NoReply` ("Did not receive a reply ...
/// the reply timeout expired"), or `Timeout`/`TimedOut`.
fn is_no_answer(text: &str) -> bool {
    [
        "NoReply",
        "Did not receive a reply",
        "Error.Timeout",
        "TimedOut",
        "timed out",
    ]
    .iter()
    .any(|m| text.contains(m))
}

fn is_locked(text: &str) -> bool {
    // Whole words: D-Bus's no-reply text speaks of a policy that "blocked" the reply.
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '.')
        .collect();
    ["IsLocked", "Prompt", "dismissed", "AccessDenied"]
        .iter()
        .any(|m| text.contains(m))
        || words.iter().any(|w| w.eq_ignore_ascii_case("locked"))
}

/// Secrets in a map, for unit tests and for the `--keychain memory` test mode. Values stay
/// [`Sensitive`]: redacted in debug output and zeroed when replaced or dropped.
#[derive(Debug, Default)]
pub struct MemoryKeychain {
    entries: Mutex<HashMap<SecretKey, Sensitive<String>>>,
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
            .insert(key.clone(), value.clone());
        Ok(())
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError> {
        Ok(self
            .entries
            .lock()
            .expect("secret map poisoned")
            .get(key)
            .cloned())
    }

    fn delete(&self, key: &SecretKey) -> Result<(), KeychainError> {
        self.entries
            .lock()
            .expect("secret map poisoned")
            .remove(key);
        Ok(())
    }
}

/// The variable that selects the secret store: `system` (default), `file` or `memory`.
pub const KEYCHAIN_ENV: &str = "MAILCONN_KEYCHAIN";
/// The passphrase of the encrypted-file store.
pub const PASSPHRASE_ENV: &str = "MAILCONN_KEYCHAIN_PASSPHRASE";
/// Must be `1` for a release build to accept the in-memory store: it says "this is a test".
pub const MEMORY_FOR_TESTS_ENV: &str = "MAILCONN_KEYCHAIN_MEMORY_FOR_TESTS";

/// The secret store a shell asked for, and the warning to show the user when it is not the
/// system keychain.
#[derive(Debug)]
pub struct Selected {
    pub keychain: std::sync::Arc<dyn Keychain>,
    pub warning: Option<String>,
}

/// Chooses the secret store: `system`; `file` (the encrypted file `file_path`, only with a
/// passphrase); `memory` (tests; refused by a release build unless [`MEMORY_FOR_TESTS_ENV`] is
/// `1`). Anything else is refused, never replaced by a default.
pub fn select(
    choice: &str,
    file_path: &std::path::Path,
    passphrase: Option<Sensitive<String>>,
    memory_for_tests: bool,
) -> crate::Result<Selected> {
    use std::sync::Arc;
    match choice {
        "" | "system" => Ok(Selected {
            keychain: Arc::new(SystemKeychain::new()),
            warning: None,
        }),
        "memory" if cfg!(debug_assertions) || memory_for_tests => Ok(Selected {
            keychain: Arc::new(MemoryKeychain::new()),
            warning: Some(
                "WARNING: secrets are kept in memory only (a test mode): every client secret and \
                 refresh token is lost when this program exits."
                    .into(),
            ),
        }),
        "memory" => Err(Error::invalid(
            "keychain",
            format!(
                "The in-memory secret store is for tests and is refused by this build; set \
                 {MEMORY_FOR_TESTS_ENV}=1 if this really is a test."
            ),
        )
        .with_fix(format!("Unset {KEYCHAIN_ENV} to use the system keychain."))),
        "file" => {
            let Some(passphrase) = passphrase.filter(|p| !p.is_blank()) else {
                return Err(Error::invalid(
                    "keychain",
                    format!(
                        "{KEYCHAIN_ENV}=file keeps secrets in an encrypted file and needs its \
                         passphrase in {PASSPHRASE_ENV}."
                    ),
                ));
            };
            if passphrase.expose().chars().count() < file::MIN_PASSPHRASE_CHARS {
                return Err(Error::invalid(
                    "keychain",
                    format!(
                        "The passphrase in {PASSPHRASE_ENV} must have at least {} characters.",
                        file::MIN_PASSPHRASE_CHARS
                    ),
                ));
            }
            let store = FileKeychain::open(file_path, passphrase)?;
            Ok(Selected {
                keychain: Arc::new(store),
                warning: Some(format!(
                    "WARNING: secrets are kept in the encrypted file {} instead of the system \
                     keychain. Anyone who gets this file and your passphrase can read them; keep \
                     the passphrase long and out of shell history.",
                    file_path.display()
                )),
            })
        }
        other => Err(Error::invalid(
            "keychain",
            format!("Unknown secret store \"{other}\": use system, file or memory."),
        )),
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
        // The sorting of Secret Service failures is tested in keychain/secret_service.rs.
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

        let bad = KeychainError::Unreadable("the stored value is not UTF-8 text".into());
        let err: Error = bad.into();
        assert_eq!(err.code(), ErrorCode::Keychain);
        assert!(
            err.message().contains("cannot be read"),
            "{}",
            err.message()
        );
        assert!(
            err.detail()
                .unwrap()
                .fix
                .as_deref()
                .unwrap()
                .contains("secret-tool clear")
        );
    }

    #[test]
    fn memory_values_are_redacted() {
        let store = MemoryKeychain::new();
        store
            .set(
                &SecretKey::refresh_token("c1"),
                &Sensitive::from("rt-visible?"),
            )
            .unwrap();
        let shown = format!("{store:?}");
        assert!(!shown.contains("rt-visible?"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn selection_is_explicit() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("secrets.enc");
        assert!(
            select("system", &path, None, false)
                .unwrap()
                .warning
                .is_none()
        );
        let unknown = select("plaintext", &path, None, false).unwrap_err();
        assert!(unknown.message().contains("Unknown secret store"));
        let no_pass = select("file", &path, None, false).unwrap_err();
        assert!(
            no_pass.message().contains(PASSPHRASE_ENV),
            "{}",
            no_pass.message()
        );
        let file = select(
            "file",
            &path,
            Some(Sensitive::from("a long passphrase")),
            false,
        )
        .unwrap();
        assert!(file.warning.unwrap().contains("encrypted file"));
        let memory = select("memory", &path, None, false);
        if cfg!(debug_assertions) {
            assert!(memory.unwrap().warning.unwrap().contains("in memory only"));
        } else {
            assert!(memory.unwrap_err().message().contains(MEMORY_FOR_TESTS_ENV));
        }
        let allowed = select("memory", &path, None, true).unwrap();
        assert!(allowed.warning.is_some());
    }
}
