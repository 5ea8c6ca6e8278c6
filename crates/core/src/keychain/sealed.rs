//! The sealed store (opt-in): one key in the OS keychain, and every refresh and access token
//! sealed with XChaCha20-Poly1305 under it in `SQLite` (table `sealed_secrets`), so a refresh
//! costs one `SQLite` write instead of a keychain rewrite. Client secrets, the bridge's TLS key and
//! the key itself stay in the OS keychain.
//!
//! [`SealedKeychain`] is a [`Keychain`] in front of the OS keychain: it reads the storage mode
//! (`keychain` or `sealed`) from the database on every token call, so a switch made by another
//! process is seen at the next call, and sends tokens where the mode says. The rows and the mode
//! are behind [`SealedTable`] (its SQL is `store/sealed.rs`), so this module knows no `SQLite`.
//!
//! Each sealed value is bound (associated data) to the database's random id and the entry's
//! account name, so a row moved to another entry or another database does not open.
//!
//! A switch ([`SealedKeychain::switch`]) moves every token and loses none, `kill -9` included:
//! 1. it records "copying to X"; from then on every token write goes to X and to the old
//!    store, and reads use the old one;
//! 2. it copies every token to X in batches and reads each batch back;
//! 3. in one transaction the mode becomes X and "cleaning the old store" is recorded;
//! 4. it deletes the old copies (a token missing in X is copied first), then clears the record.
//!
//! An interrupted switch is finished by the next switch (or the app's background start). Token
//! calls hold a shared lock file (`locks/storage.lock`) and each batch of a switch holds it
//! exclusively, so no write straddles a change of the record; the OS releases it on `kill -9`.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use zeroize::Zeroizing;

use super::{Keychain, KeychainError, SecretKey, SecretKind};
use crate::sensitive::Sensitive;

/// Where refresh and access tokens are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum StorageMode {
    /// One OS keychain item per token (the default).
    Keychain,
    /// One key in the OS keychain; tokens sealed with it in the database.
    Sealed,
}

impl StorageMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageMode::Keychain => "keychain",
            StorageMode::Sealed => "sealed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "keychain" => Some(StorageMode::Keychain),
            "sealed" => Some(StorageMode::Sealed),
            _ => None,
        }
    }

    fn other(self) -> Self {
        match self {
            StorageMode::Keychain => StorageMode::Sealed,
            StorageMode::Sealed => StorageMode::Keychain,
        }
    }
}

/// An unfinished switch, as recorded in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// Tokens are being copied to this store; writes go to both, reads to the mode's store.
    Copy(StorageMode),
    /// The mode changed; the old copies in this store are being deleted.
    Clean(StorageMode),
}

/// The sealed store's key as the database knows it: its id and a known text sealed with it, so a
/// different key in the keychain is told from a damaged row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: String,
    pub nonce: Vec<u8>,
    pub check: Vec<u8>,
}

/// The storage record: the mode, an unfinished switch, the database's id, the key's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageState {
    pub mode: StorageMode,
    pub pending: Option<Pending>,
    pub database_id: String,
    pub key: Option<KeyRecord>,
}

/// One sealed entry: the keychain account name, the nonce and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRow {
    pub account: String,
    pub nonce: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// What the sealed store needs from the database (implemented by `Store` in `store/sealed.rs`).
pub trait SealedTable: Send + Sync + fmt::Debug {
    fn storage_state(&self) -> Result<StorageState, KeychainError>;
    /// Sets the mode and the unfinished switch in one transaction.
    fn set_storage_state(
        &self,
        mode: StorageMode,
        pending: Option<Pending>,
    ) -> Result<(), KeychainError>;
    fn set_storage_key(&self, key: &KeyRecord) -> Result<(), KeychainError>;
    /// The rows of `accounts`, in their order, in one query.
    fn sealed_rows(&self, accounts: &[String]) -> Result<Vec<Option<SealedRow>>, KeychainError>;
    /// Inserts or replaces rows in one transaction.
    fn put_sealed_rows(&self, rows: &[SealedRow]) -> Result<(), KeychainError>;
    fn delete_sealed_rows(&self, accounts: &[String]) -> Result<(), KeychainError>;
    /// Every account name with a sealed row.
    fn sealed_accounts(&self) -> Result<Vec<String>, KeychainError>;
    /// Every connection's id: whose tokens a switch moves.
    fn token_owners(&self) -> Result<Vec<String>, KeychainError>;
}

/// How many tokens a store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
pub struct TokenCounts {
    pub refresh_tokens: u32,
    pub access_tokens: u32,
}

impl TokenCounts {
    fn add(&mut self, key: &SecretKey) {
        match key.kind {
            SecretKind::RefreshToken => self.refresh_tokens += 1,
            _ => self.access_tokens += 1,
        }
    }
}

/// Where tokens are now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct StorageStatus {
    pub mode: StorageMode,
    /// A switch to this mode was started and not finished (switching again finishes it).
    pub unfinished: Option<StorageMode>,
    /// Tokens sealed in the database.
    pub sealed: TokenCounts,
    /// Tokens in the OS keychain; `None` unless counted (one read per expected entry).
    pub keychain: Option<TokenCounts>,
}

/// What a switch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct StorageSwitch {
    pub from: StorageMode,
    pub to: StorageMode,
    /// Tokens now in the new place that were in the old one.
    pub moved: TokenCounts,
    /// Sealed tokens dropped because they could not be opened (only when asked to).
    pub forgotten: u32,
}

/// Entries a switch moves per exclusive batch: other processes' token calls wait at most one
/// batch.
const BATCH: usize = 48;

/// The key's entry in the OS keychain, one per database.
fn key_entry(database_id: &str) -> SecretKey {
    SecretKey::new(SecretKind::StorageKey, format!("sealed/{database_id}"))
}

const KEY_CHECK_TEXT: &[u8] = b"mailconn sealed store key";

fn row_aad(database_id: &str, account: &str) -> Vec<u8> {
    format!("mailconn/sealed/1/{database_id}/{account}").into_bytes()
}

fn check_aad(database_id: &str, key_id: &str) -> Vec<u8> {
    format!("mailconn/sealed-key/1/{database_id}/{key_id}").into_bytes()
}

fn is_token(key: &SecretKey) -> bool {
    matches!(key.kind, SecretKind::RefreshToken | SecretKind::AccessToken)
}

/// The token entries an account name stands for, if it is one.
fn token_key(account: &str) -> Option<SecretKey> {
    if let Some(id) = account.strip_prefix("refresh-token/") {
        return Some(SecretKey::new(SecretKind::RefreshToken, id));
    }
    account
        .strip_prefix("access-token/")
        .map(|id| SecretKey::new(SecretKind::AccessToken, id))
}

/// A cipher under the key, for one database.
struct Sealer {
    cipher: XChaCha20Poly1305,
    database_id: String,
}

impl Sealer {
    fn new(key: &[u8; 32], database_id: &str) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(Key::from_slice(key)),
            database_id: database_id.to_owned(),
        }
    }

    fn seal(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<SealedRow, KeychainError> {
        let account = key.account();
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = row_aad(&self.database_id, &account);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: value.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| KeychainError::Other("sealing a token failed".into()))?;
        Ok(SealedRow {
            account,
            nonce: nonce.to_vec(),
            sealed,
        })
    }

    fn open(&self, row: &SealedRow) -> Result<Sensitive<String>, KeychainError> {
        let damaged = || KeychainError::SealedDamaged(row.account.clone());
        if row.nonce.len() != 24 {
            return Err(damaged());
        }
        let aad = row_aad(&self.database_id, &row.account);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(&row.nonce),
                Payload {
                    msg: &row.sealed,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| damaged())?;
        let text = std::str::from_utf8(&plain).map_err(|_| damaged())?;
        Ok(Sensitive::new(text.to_owned()))
    }
}

/// The token store the `Service` uses: the OS keychain for everything
/// but tokens, and tokens where the database's storage mode says.
pub struct SealedKeychain {
    system: Arc<dyn Keychain>,
    table: Arc<dyn SealedTable>,
    locks: PathBuf,
    /// The key last read from the keychain, by key id.
    sealer: Mutex<Option<(String, Arc<Sealer>)>>,
}

impl fmt::Debug for SealedKeychain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedKeychain")
            .field("system", &self.system)
            .field("locks", &self.locks)
            .finish_non_exhaustive()
    }
}

/// A held lock file; closing it unlocks.
struct Held(#[allow(dead_code, reason = "closing the file releases the lock")] File);

impl SealedKeychain {
    /// Tokens go through `table`'s mode; `locks` is the data directory's lock directory.
    pub fn new(system: Arc<dyn Keychain>, table: Arc<dyn SealedTable>, locks: &Path) -> Self {
        Self {
            system,
            table,
            locks: locks.to_path_buf(),
            sealer: Mutex::new(None),
        }
    }

    /// The OS keychain behind it.
    pub fn system(&self) -> &Arc<dyn Keychain> {
        &self.system
    }

    fn lock(&self, name: &str, exclusive: bool) -> Result<Held, KeychainError> {
        let fail = |e: std::io::Error| {
            KeychainError::Other(format!(
                "cannot use the lock file {}: {e}",
                self.locks.join(name).display()
            ))
        };
        crate::paths::create_private_dir(&self.locks).map_err(fail)?;
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(self.locks.join(name)).map_err(fail)?;
        if exclusive {
            file.lock().map_err(fail)?;
        } else {
            file.lock_shared().map_err(fail)?;
        }
        Ok(Held(file))
    }

    /// Held by every token call, so no call straddles a change of the storage record.
    fn shared(&self) -> Result<Held, KeychainError> {
        self.lock("storage.lock", false)
    }

    fn exclusive(&self) -> Result<Held, KeychainError> {
        self.lock("storage.lock", true)
    }

    /// The cipher for the key the database names; the key is read from the keychain once per
    /// key id. A missing key is an error, never replaced.
    fn sealer(&self, state: &StorageState) -> Result<Arc<Sealer>, KeychainError> {
        let Some(record) = &state.key else {
            return Err(KeychainError::SealedKeyMissing);
        };
        if let Some((id, sealer)) = self.sealer.lock().expect("key cache poisoned").as_ref()
            && *id == record.id
        {
            return Ok(sealer.clone());
        }
        let stored = self
            .system
            .get(&key_entry(&state.database_id))?
            .ok_or(KeychainError::SealedKeyMissing)?;
        let bytes = Zeroizing::new(
            B64.decode(stored.expose())
                .map_err(|_| KeychainError::SealedKeyChanged)?,
        );
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| KeychainError::SealedKeyChanged)?,
        );
        let sealer = Arc::new(Sealer::new(&key, &state.database_id));
        let opens = record.nonce.len() == 24
            && sealer
                .cipher
                .decrypt(
                    XNonce::from_slice(&record.nonce),
                    Payload {
                        msg: &record.check,
                        aad: &check_aad(&state.database_id, &record.id),
                    },
                )
                .is_ok_and(|t| t == KEY_CHECK_TEXT);
        if !opens {
            return Err(KeychainError::SealedKeyChanged);
        }
        *self.sealer.lock().expect("key cache poisoned") =
            Some((record.id.clone(), sealer.clone()));
        Ok(sealer)
    }

    /// Makes the key when there is none (or only a record of one whose rows are all gone),
    /// writes it to the keychain, reads it back and records it.
    fn ensure_key(&self, state: &mut StorageState) -> Result<(), KeychainError> {
        match self.sealer(state) {
            Ok(_) => return Ok(()),
            Err(KeychainError::SealedKeyMissing) if self.table.sealed_accounts()?.is_empty() => {}
            Err(e) => return Err(e),
        }
        let mut key = Zeroizing::new([0u8; 32]);
        chacha20poly1305::aead::rand_core::RngCore::fill_bytes(&mut OsRng, key.as_mut());
        let id = uuid::Uuid::new_v4().to_string();
        let sealer = Sealer::new(&key, &state.database_id);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let check = sealer
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: KEY_CHECK_TEXT,
                    aad: &check_aad(&state.database_id, &id),
                },
            )
            .map_err(|_| KeychainError::Other("sealing the key check failed".into()))?;
        let entry = key_entry(&state.database_id);
        let encoded = Sensitive::new(B64.encode(key.as_ref()));
        self.system.set(&entry, &encoded)?;
        if self.system.get(&entry)?.as_ref() != Some(&encoded) {
            return Err(KeychainError::Other(
                "the keychain did not keep the sealed store's key".into(),
            ));
        }
        let record = KeyRecord {
            id,
            nonce: nonce.to_vec(),
            check,
        };
        self.table.set_storage_key(&record)?;
        state.key = Some(record);
        self.sealer(state).map(|_| ())
    }

    // ---- reading and writing one place -------------------------------------------------

    fn read(
        &self,
        place: StorageMode,
        state: &StorageState,
        keys: &[SecretKey],
    ) -> Result<Vec<Option<Sensitive<String>>>, KeychainError> {
        match place {
            StorageMode::Keychain => self.system.get_many(keys),
            StorageMode::Sealed => {
                let accounts: Vec<String> = keys.iter().map(SecretKey::account).collect();
                let rows = self.table.sealed_rows(&accounts)?;
                if rows.iter().all(Option::is_none) {
                    return Ok(keys.iter().map(|_| None).collect());
                }
                let sealer = self.sealer(state)?;
                rows.iter()
                    .map(|r| r.as_ref().map(|r| sealer.open(r)).transpose())
                    .collect()
            }
        }
    }

    fn write(
        &self,
        place: StorageMode,
        state: &StorageState,
        items: &[(SecretKey, Sensitive<String>)],
    ) -> Result<(), KeychainError> {
        if items.is_empty() {
            return Ok(());
        }
        match place {
            StorageMode::Keychain => self.system.set_many(items),
            StorageMode::Sealed => {
                let sealer = self.sealer(state)?;
                let rows = items
                    .iter()
                    .map(|(k, v)| sealer.seal(k, v))
                    .collect::<Result<Vec<_>, _>>()?;
                self.table.put_sealed_rows(&rows)
            }
        }
    }

    fn remove(&self, place: StorageMode, keys: &[SecretKey]) -> Result<(), KeychainError> {
        match place {
            StorageMode::Keychain => keys.iter().try_for_each(|k| self.system.delete(k)),
            StorageMode::Sealed => {
                let accounts: Vec<String> = keys.iter().map(SecretKey::account).collect();
                self.table.delete_sealed_rows(&accounts)
            }
        }
    }

    /// Reads tokens under a held shared lock: the mode's store first; a refresh token it lacks
    /// is looked for in the other store too (one written there just before a switch).
    fn read_tokens(
        &self,
        state: &StorageState,
        keys: &[SecretKey],
    ) -> Result<Vec<Option<Sensitive<String>>>, KeychainError> {
        let mut found = self.read(state.mode, state, keys)?;
        let missing: Vec<usize> = (0..keys.len())
            .filter(|&i| found[i].is_none() && keys[i].kind == SecretKind::RefreshToken)
            .collect();
        if !missing.is_empty() {
            let wanted: Vec<SecretKey> = missing.iter().map(|&i| keys[i].clone()).collect();
            let other = self.read(state.mode.other(), state, &wanted);
            // The other store failing (no key there, say) does not hide what the mode's has.
            if let Ok(other) = other {
                for (i, v) in missing.into_iter().zip(other) {
                    found[i] = v;
                }
            }
        }
        Ok(found)
    }

    fn write_tokens(
        &self,
        state: &StorageState,
        items: &[(SecretKey, Sensitive<String>)],
    ) -> Result<(), KeychainError> {
        if let Some(Pending::Copy(to)) = state.pending {
            self.write(to, state, items)?;
        }
        self.write(state.mode, state, items)
    }

    // ---- switching ---------------------------------------------------------------------

    /// Where tokens are now. `count_keychain` reads every expected keychain entry (slow with
    /// many connections in keychain mode).
    pub fn status(&self, count_keychain: bool) -> Result<StorageStatus, KeychainError> {
        let state = self.table.storage_state()?;
        let mut sealed = TokenCounts::default();
        for account in self.table.sealed_accounts()? {
            if let Some(key) = token_key(&account) {
                sealed.add(&key);
            }
        }
        let keychain = if count_keychain {
            let keys = self.token_keys()?;
            let mut counts = TokenCounts::default();
            for chunk in keys.chunks(BATCH) {
                for (k, v) in chunk.iter().zip(self.system.get_many(chunk)?) {
                    if v.is_some() {
                        counts.add(k);
                    }
                }
            }
            Some(counts)
        } else {
            None
        };
        Ok(StorageStatus {
            mode: state.mode,
            unfinished: match state.pending {
                Some(Pending::Copy(to)) => Some(to),
                Some(Pending::Clean(_)) => Some(state.mode),
                None => None,
            },
            sealed,
            keychain,
        })
    }

    /// Every token entry a switch considers: three per connection, and every sealed row.
    fn token_keys(&self) -> Result<Vec<SecretKey>, KeychainError> {
        let mut keys = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for id in self.table.token_owners()? {
            for key in [
                SecretKey::refresh_token(&id),
                SecretKey::access_token(&id, "graph"),
                SecretKey::access_token(&id, "outlook"),
            ] {
                if seen.insert(key.account()) {
                    keys.push(key);
                }
            }
        }
        for account in self.table.sealed_accounts()? {
            if let Some(key) = token_key(&account)
                && seen.insert(account)
            {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// Finishes an interrupted switch, if there is one.
    pub fn resume(&self) -> Result<Option<StorageSwitch>, KeychainError> {
        let state = self.table.storage_state()?;
        match state.pending {
            None => Ok(None),
            Some(Pending::Copy(to)) => self.switch(to, false).map(Some),
            Some(Pending::Clean(_)) => self.switch(state.mode, false).map(Some),
        }
    }

    /// Moves every token to `to` (see the module's description); switching to the mode in use
    /// finishes an interrupted switch, or undoes one that was going the other way.
    /// `forget_sealed` drops sealed tokens that cannot be opened (key gone, rows damaged)
    /// instead of stopping at them.
    pub fn switch(
        &self,
        to: StorageMode,
        forget_sealed: bool,
    ) -> Result<StorageSwitch, KeychainError> {
        // One switch at a time, across processes.
        let _switching = self.lock("storage-switch.lock", true)?;
        let mut moved = TokenCounts::default();
        let mut dropped = Vec::new();
        let mut state = self.table.storage_state()?;
        let from = match state.pending {
            Some(Pending::Copy(dest)) => {
                if dest == to {
                    state.mode
                } else {
                    // Going back: the copies made so far are dropped.
                    let _x = self.exclusive()?;
                    self.table
                        .set_storage_state(state.mode, Some(Pending::Clean(dest)))?;
                    state.pending = Some(Pending::Clean(dest));
                    state.mode
                }
            }
            _ => state.mode,
        };
        if let Some(Pending::Clean(old)) = state.pending {
            self.clean(&state, old, &mut moved, forget_sealed, &mut dropped)?;
            let _x = self.exclusive()?;
            self.table.set_storage_state(state.mode, None)?;
            state.pending = None;
        }
        if state.mode == to {
            return Ok(StorageSwitch {
                from,
                to,
                moved,
                forgotten: count_dropped(dropped),
            });
        }

        // 1. Record the switch (making the key first when sealing).
        if to == StorageMode::Sealed {
            self.ensure_key(&mut state)?;
        } else if !forget_sealed && !self.table.sealed_accounts()?.is_empty() {
            // Every sealed token must open before anything changes.
            self.sealer(&state)?;
        }
        {
            let _x = self.exclusive()?;
            self.table
                .set_storage_state(state.mode, Some(Pending::Copy(to)))?;
            state.pending = Some(Pending::Copy(to));
        }
        tracing::info!(
            from = state.mode.as_str(),
            to = to.as_str(),
            "switching token storage"
        );

        // 2. Copy and read back, batch by batch.
        let keys = self.token_keys()?;
        for chunk in keys.chunks(BATCH) {
            let _x = self.exclusive()?;
            let values =
                self.read_for_move(&state, state.mode, chunk, forget_sealed, &mut dropped)?;
            let items: Vec<(SecretKey, Sensitive<String>)> = chunk
                .iter()
                .zip(values)
                .filter_map(|(k, v)| v.map(|v| (k.clone(), v)))
                .collect();
            self.write(to, &state, &items)?;
            let keys_written: Vec<SecretKey> = items.iter().map(|(k, _)| k.clone()).collect();
            let back = self.read(to, &state, &keys_written)?;
            for ((k, v), b) in items.iter().zip(back) {
                if b.as_ref() != Some(v) {
                    return Err(KeychainError::Other(format!(
                        "{} did not read back from the new place; nothing was removed",
                        k.account()
                    )));
                }
                moved.add(k);
            }
        }

        // 3. Flip the mode.
        {
            let _x = self.exclusive()?;
            self.table
                .set_storage_state(to, Some(Pending::Clean(from)))?;
            state = self.table.storage_state()?;
        }
        // 4. Delete the old copies.
        let mut ignored = TokenCounts::default();
        self.clean(&state, from, &mut ignored, forget_sealed, &mut dropped)?;
        let _x = self.exclusive()?;
        self.table.set_storage_state(to, None)?;
        tracing::info!(
            to = to.as_str(),
            refresh_tokens = moved.refresh_tokens,
            access_tokens = moved.access_tokens,
            "token storage switched"
        );
        Ok(StorageSwitch {
            from,
            to,
            moved,
            forgotten: count_dropped(dropped),
        })
    }

    /// Reads a batch from `place`; with `forget`, sealed entries that cannot be opened are
    /// noted in `dropped` and read as absent.
    fn read_for_move(
        &self,
        state: &StorageState,
        place: StorageMode,
        keys: &[SecretKey],
        forget: bool,
        dropped: &mut Vec<String>,
    ) -> Result<Vec<Option<Sensitive<String>>>, KeychainError> {
        match self.read(place, state, keys) {
            Ok(v) => Ok(v),
            Err(e) if forget && place == StorageMode::Sealed && e.is_sealed_problem() => keys
                .iter()
                .map(|k| match self.read(place, state, std::slice::from_ref(k)) {
                    Ok(mut v) => Ok(v.pop().flatten()),
                    Err(e) if e.is_sealed_problem() => {
                        dropped.push(k.account());
                        Ok(None)
                    }
                    Err(e) => Err(e),
                })
                .collect(),
            Err(e) => Err(e),
        }
    }

    /// Deletes the old copies in `old`; a token the mode's store lacks is copied there first.
    fn clean(
        &self,
        state: &StorageState,
        old: StorageMode,
        moved: &mut TokenCounts,
        forget_sealed: bool,
        dropped: &mut Vec<String>,
    ) -> Result<(), KeychainError> {
        let keys = self.token_keys()?;
        for chunk in keys.chunks(BATCH) {
            let _x = self.exclusive()?;
            let here = self.read_for_move(state, state.mode, chunk, forget_sealed, dropped)?;
            let missing: Vec<SecretKey> = chunk
                .iter()
                .zip(&here)
                .filter(|(_, v)| v.is_none())
                .map(|(k, _)| k.clone())
                .collect();
            if !missing.is_empty() {
                let there = self.read_for_move(state, old, &missing, forget_sealed, dropped)?;
                let items: Vec<(SecretKey, Sensitive<String>)> = missing
                    .iter()
                    .zip(there)
                    .filter_map(|(k, v)| v.map(|v| (k.clone(), v)))
                    .collect();
                self.write(state.mode, state, &items)?;
                let written: Vec<SecretKey> = items.iter().map(|(k, _)| k.clone()).collect();
                let back = self.read(state.mode, state, &written)?;
                for ((k, v), b) in items.iter().zip(back) {
                    if b.as_ref() != Some(v) {
                        return Err(KeychainError::Other(format!(
                            "{} did not read back; nothing was removed",
                            k.account()
                        )));
                    }
                    moved.add(k);
                }
            }
            self.remove(old, chunk)?;
            if !dropped.is_empty() {
                self.table.delete_sealed_rows(dropped)?;
            }
        }
        Ok(())
    }
}

fn count_dropped(mut dropped: Vec<String>) -> u32 {
    dropped.sort();
    dropped.dedup();
    u32::try_from(dropped.len()).unwrap_or(u32::MAX)
}

impl Keychain for SealedKeychain {
    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<(), KeychainError> {
        if !is_token(key) {
            return self.system.set(key, value);
        }
        let _held = self.shared()?;
        let state = self.table.storage_state()?;
        self.write_tokens(&state, &[(key.clone(), value.clone())])
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError> {
        if !is_token(key) {
            return self.system.get(key);
        }
        let _held = self.shared()?;
        let state = self.table.storage_state()?;
        Ok(self
            .read_tokens(&state, std::slice::from_ref(key))?
            .pop()
            .flatten())
    }

    fn delete(&self, key: &SecretKey) -> Result<(), KeychainError> {
        if !is_token(key) {
            return self.system.delete(key);
        }
        let _held = self.shared()?;
        let state = self.table.storage_state()?;
        // From both places, so no copy comes back through a fallback or a switch.
        let keys = std::slice::from_ref(key);
        self.remove(state.mode, keys)?;
        self.remove(state.mode.other(), keys)
    }

    fn get_many(
        &self,
        keys: &[SecretKey],
    ) -> Result<Vec<Option<Sensitive<String>>>, KeychainError> {
        let (tokens, others): (Vec<usize>, Vec<usize>) =
            (0..keys.len()).partition(|&i| is_token(&keys[i]));
        let mut out: Vec<Option<Sensitive<String>>> = keys.iter().map(|_| None).collect();
        if !others.is_empty() {
            let wanted: Vec<SecretKey> = others.iter().map(|&i| keys[i].clone()).collect();
            for (i, v) in others.into_iter().zip(self.system.get_many(&wanted)?) {
                out[i] = v;
            }
        }
        if !tokens.is_empty() {
            let wanted: Vec<SecretKey> = tokens.iter().map(|&i| keys[i].clone()).collect();
            let _held = self.shared()?;
            let state = self.table.storage_state()?;
            for (i, v) in tokens.into_iter().zip(self.read_tokens(&state, &wanted)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn set_many(&self, items: &[(SecretKey, Sensitive<String>)]) -> Result<(), KeychainError> {
        let (tokens, others): (Vec<_>, Vec<_>) =
            items.iter().cloned().partition(|(k, _)| is_token(k));
        if !others.is_empty() {
            self.system.set_many(&others)?;
        }
        if !tokens.is_empty() {
            let _held = self.shared()?;
            let state = self.table.storage_state()?;
            self.write_tokens(&state, &tokens)?;
        }
        Ok(())
    }

    fn probe(&self) -> Result<(), KeychainError> {
        self.system.probe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::keychain::MemoryKeychain;
    use crate::store::Store;

    /// The real table, with a fixed list of connections.
    #[derive(Debug)]
    struct Table {
        store: Store,
        owners: Vec<String>,
    }

    impl SealedTable for Table {
        fn storage_state(&self) -> Result<StorageState, KeychainError> {
            self.store.storage_state()
        }
        fn set_storage_state(
            &self,
            mode: StorageMode,
            pending: Option<Pending>,
        ) -> Result<(), KeychainError> {
            self.store.set_storage_state(mode, pending)
        }
        fn set_storage_key(&self, key: &KeyRecord) -> Result<(), KeychainError> {
            self.store.set_storage_key(key)
        }
        fn sealed_rows(&self, a: &[String]) -> Result<Vec<Option<SealedRow>>, KeychainError> {
            self.store.sealed_rows(a)
        }
        fn put_sealed_rows(&self, rows: &[SealedRow]) -> Result<(), KeychainError> {
            self.store.put_sealed_rows(rows)
        }
        fn delete_sealed_rows(&self, a: &[String]) -> Result<(), KeychainError> {
            self.store.delete_sealed_rows(a)
        }
        fn sealed_accounts(&self) -> Result<Vec<String>, KeychainError> {
            self.store.sealed_accounts()
        }
        fn token_owners(&self) -> Result<Vec<String>, KeychainError> {
            Ok(self.owners.clone())
        }
    }

    struct Fixture {
        system: Arc<MemoryKeychain>,
        table: Arc<Table>,
        locks: tempfile::TempDir,
    }

    fn fixture(connections: usize) -> Fixture {
        Fixture {
            system: Arc::new(MemoryKeychain::new()),
            table: Arc::new(Table {
                store: Store::open_in_memory().unwrap(),
                owners: (0..connections).map(|i| format!("c{i}")).collect(),
            }),
            locks: tempfile::tempdir().unwrap(),
        }
    }

    impl Fixture {
        /// A new instance (as another process would have: no key cached).
        fn open(&self) -> SealedKeychain {
            SealedKeychain::new(self.system.clone(), self.table.clone(), self.locks.path())
        }
    }

    fn rt(i: usize) -> SecretKey {
        SecretKey::refresh_token(&format!("c{i}"))
    }

    fn value(i: usize, round: u32) -> Sensitive<String> {
        Sensitive::new(format!("0.AXYZ-refresh-{i}-{round}"))
    }

    fn all_sealed_bytes(t: &Table) -> Vec<u8> {
        let accounts = t.sealed_accounts().unwrap();
        let mut bytes = Vec::new();
        for row in t.sealed_rows(&accounts).unwrap().into_iter().flatten() {
            bytes.extend(row.sealed);
            bytes.extend(row.nonce);
        }
        bytes
    }

    #[test]
    fn switching_both_ways_moves_every_token_and_keeps_other_secrets_in_the_keychain() {
        let f = fixture(30);
        let kc = f.open();
        let secret = SecretKey::client_secret("r1");
        kc.set(&secret, &Sensitive::from("Abc8Q~secret")).unwrap();
        for i in 0..30 {
            kc.set(&rt(i), &value(i, 0)).unwrap();
        }
        let graph = SecretKey::access_token("c3", "graph");
        kc.set(&graph, &Sensitive::from("eyJ-access")).unwrap();
        assert_eq!(f.system.len(), 32);

        let done = kc.switch(StorageMode::Sealed, false).unwrap();
        assert_eq!(
            done.moved,
            TokenCounts {
                refresh_tokens: 30,
                access_tokens: 1
            }
        );
        assert_eq!(
            (done.from, done.to, done.forgotten),
            (StorageMode::Keychain, StorageMode::Sealed, 0)
        );
        // The keychain keeps the client secret and the key, nothing else.
        assert_eq!(f.system.len(), 2);
        assert!(f.system.get(&rt(0)).unwrap().is_none());
        assert_eq!(
            f.system.get(&secret).unwrap().unwrap().expose(),
            "Abc8Q~secret"
        );
        let sealed = all_sealed_bytes(&f.table);
        assert!(
            !sealed.windows(7).any(|w| w == b"0.AXYZ-"),
            "a token in plaintext"
        );
        // Another instance (no cached key) reads them all, in one call too.
        let other = f.open();
        let keys: Vec<SecretKey> = (0..30).map(rt).collect();
        let got = other.get_many(&keys).unwrap();
        for (i, v) in got.iter().enumerate() {
            assert_eq!(v.as_ref(), Some(&value(i, 0)), "c{i}");
        }
        assert_eq!(other.get(&graph).unwrap().unwrap().expose(), "eyJ-access");
        // A rotation is one row.
        other
            .set_many(&(0..30).map(|i| (rt(i), value(i, 1))).collect::<Vec<_>>())
            .unwrap();
        assert_eq!(f.system.len(), 2);
        let status = kc.status(true).unwrap();
        assert_eq!(status.mode, StorageMode::Sealed);
        assert_eq!(status.unfinished, None);
        assert_eq!(
            status.sealed,
            TokenCounts {
                refresh_tokens: 30,
                access_tokens: 1
            }
        );
        assert_eq!(status.keychain, Some(TokenCounts::default()));

        let back = kc.switch(StorageMode::Keychain, false).unwrap();
        assert_eq!(
            back.moved,
            TokenCounts {
                refresh_tokens: 30,
                access_tokens: 1
            }
        );
        assert!(f.table.sealed_accounts().unwrap().is_empty());
        for i in 0..30 {
            assert_eq!(f.system.get(&rt(i)).unwrap(), Some(value(i, 1)), "c{i}");
            assert_eq!(kc.get(&rt(i)).unwrap(), Some(value(i, 1)));
        }
        // Switching to the mode in use moves nothing.
        assert_eq!(
            kc.switch(StorageMode::Keychain, false).unwrap().moved,
            TokenCounts::default()
        );
    }

    #[test]
    fn a_switch_in_another_instance_is_seen_at_the_next_call() {
        let f = fixture(2);
        let (a, b) = (f.open(), f.open());
        a.set(&rt(0), &value(0, 0)).unwrap();
        assert_eq!(a.get(&rt(0)).unwrap(), Some(value(0, 0)));
        b.switch(StorageMode::Sealed, false).unwrap();
        // `a` writes to the sealed store now, not to the keychain.
        a.set(&rt(1), &value(1, 0)).unwrap();
        assert!(f.system.get(&rt(1)).unwrap().is_none());
        assert_eq!(b.get(&rt(1)).unwrap(), Some(value(1, 0)));
        assert_eq!(a.get(&rt(0)).unwrap(), Some(value(0, 0)));
        a.delete(&rt(0)).unwrap();
        assert_eq!(b.get(&rt(0)).unwrap(), None);
    }

    #[test]
    fn during_a_copy_writes_reach_both_places_and_an_interrupted_switch_is_finished() {
        let f = fixture(10);
        let kc = f.open();
        for i in 0..10 {
            kc.set(&rt(i), &value(i, 0)).unwrap();
        }
        // As if a switch to sealed was killed after recording itself and copying c0..c4.
        let mut state = f.table.storage_state().unwrap();
        kc.ensure_key(&mut state).unwrap();
        f.table
            .set_storage_state(
                StorageMode::Keychain,
                Some(Pending::Copy(StorageMode::Sealed)),
            )
            .unwrap();
        let state = f.table.storage_state().unwrap();
        let copied: Vec<_> = (0..5).map(|i| (rt(i), value(i, 0))).collect();
        kc.write(StorageMode::Sealed, &state, &copied).unwrap();
        // A refresh in between writes to both places.
        kc.set(&rt(7), &value(7, 1)).unwrap();
        assert_eq!(f.system.get(&rt(7)).unwrap(), Some(value(7, 1)));
        assert_eq!(
            kc.read(StorageMode::Sealed, &state, &[rt(7)]).unwrap(),
            vec![Some(value(7, 1))]
        );
        let status = kc.status(false).unwrap();
        assert_eq!(status.unfinished, Some(StorageMode::Sealed));
        let done = kc.resume().unwrap().unwrap();
        assert_eq!(done.to, StorageMode::Sealed);
        for i in 0..10 {
            let round = u32::from(i == 7);
            assert_eq!(kc.get(&rt(i)).unwrap(), Some(value(i, round)), "c{i}");
            assert!(f.system.get(&rt(i)).unwrap().is_none());
        }

        // As if a switch back was killed after the flip, with half of the sealed rows deleted
        // and one token never copied (written just before the switch began).
        let state = f.table.storage_state().unwrap();
        let all: Vec<_> = (0..10)
            .map(|i| (rt(i), kc.get(&rt(i)).unwrap().unwrap()))
            .collect();
        f.system.set_many(&all[..9]).unwrap();
        f.table
            .set_storage_state(
                StorageMode::Keychain,
                Some(Pending::Clean(StorageMode::Sealed)),
            )
            .unwrap();
        f.table
            .delete_sealed_rows(&(0..5).map(|i| rt(i).account()).collect::<Vec<_>>())
            .unwrap();
        assert_eq!(
            kc.get(&rt(9)).unwrap(),
            Some(value(9, 0)),
            "read from the old place"
        );
        let _ = state;
        let done = kc.switch(StorageMode::Keychain, false).unwrap();
        assert_eq!(done.moved.refresh_tokens, 1, "c9 moved during the cleaning");
        assert!(f.table.sealed_accounts().unwrap().is_empty());
        for i in 0..10 {
            let round = u32::from(i == 7);
            assert_eq!(f.system.get(&rt(i)).unwrap(), Some(value(i, round)), "c{i}");
        }
    }

    #[test]
    fn switching_back_during_a_copy_drops_the_copies() {
        let f = fixture(4);
        let kc = f.open();
        for i in 0..4 {
            kc.set(&rt(i), &value(i, 0)).unwrap();
        }
        let mut state = f.table.storage_state().unwrap();
        kc.ensure_key(&mut state).unwrap();
        f.table
            .set_storage_state(
                StorageMode::Keychain,
                Some(Pending::Copy(StorageMode::Sealed)),
            )
            .unwrap();
        kc.set(&rt(0), &value(0, 1)).unwrap();
        assert_eq!(f.table.sealed_accounts().unwrap().len(), 1);
        let done = kc.switch(StorageMode::Keychain, false).unwrap();
        assert_eq!(done.to, StorageMode::Keychain);
        assert!(f.table.sealed_accounts().unwrap().is_empty());
        assert_eq!(kc.get(&rt(0)).unwrap(), Some(value(0, 1)));
        assert_eq!(kc.status(false).unwrap().unfinished, None);
    }

    #[test]
    fn a_missing_key_is_an_error_never_a_new_key() {
        let f = fixture(3);
        let kc = f.open();
        for i in 0..3 {
            kc.set(&rt(i), &value(i, 0)).unwrap();
        }
        kc.switch(StorageMode::Sealed, false).unwrap();
        let state = f.table.storage_state().unwrap();
        f.system.delete(&key_entry(&state.database_id)).unwrap();
        let fresh = f.open();
        let err = fresh.get(&rt(0)).unwrap_err();
        assert_eq!(err, KeychainError::SealedKeyMissing);
        let err = fresh.set(&rt(0), &value(0, 1)).unwrap_err();
        assert_eq!(err, KeychainError::SealedKeyMissing);
        assert!(
            f.system
                .get(&key_entry(&state.database_id))
                .unwrap()
                .is_none(),
            "no new key"
        );
        let shown = crate::Error::from(err);
        assert_eq!(shown.code(), ErrorCode::Keychain);
        assert!(
            shown.message().contains("cannot be opened"),
            "{}",
            shown.message()
        );
        assert!(
            shown.message().contains("gone from the system keychain"),
            "{}",
            shown.message()
        );
        let fix = shown.detail().unwrap().fix.clone().unwrap();
        assert!(
            fix.contains("--forget-sealed") && fix.contains("reconnect"),
            "{fix}"
        );
        // Switching away stops before changing anything; with --forget-sealed it goes on.
        assert_eq!(
            fresh.switch(StorageMode::Keychain, false).unwrap_err(),
            KeychainError::SealedKeyMissing
        );
        assert_eq!(f.table.storage_state().unwrap().mode, StorageMode::Sealed);
        assert_eq!(f.table.sealed_accounts().unwrap().len(), 3);
        let done = fresh.switch(StorageMode::Keychain, true).unwrap();
        assert_eq!(done.forgotten, 3);
        assert!(f.table.sealed_accounts().unwrap().is_empty());
        assert_eq!(fresh.get(&rt(0)).unwrap(), None);
        // With no sealed tokens left, sealing again makes a new key.
        fresh.switch(StorageMode::Sealed, false).unwrap();
        fresh.set(&rt(0), &value(0, 2)).unwrap();
        assert_eq!(f.open().get(&rt(0)).unwrap(), Some(value(0, 2)));
    }

    #[test]
    fn another_key_in_the_keychain_is_told_apart() {
        let f = fixture(1);
        let kc = f.open();
        kc.switch(StorageMode::Sealed, false).unwrap();
        kc.set(&rt(0), &value(0, 0)).unwrap();
        let state = f.table.storage_state().unwrap();
        f.system
            .set(
                &key_entry(&state.database_id),
                &Sensitive::new(B64.encode([7u8; 32])),
            )
            .unwrap();
        let err = f.open().get(&rt(0)).unwrap_err();
        assert_eq!(err, KeychainError::SealedKeyChanged);
        let shown = crate::Error::from(err);
        assert!(
            shown
                .message()
                .contains("not the one they were sealed with"),
            "{}",
            shown.message()
        );
    }

    #[test]
    fn a_changed_row_is_damaged_for_its_connection_only() {
        let f = fixture(3);
        let kc = f.open();
        kc.switch(StorageMode::Sealed, false).unwrap();
        for i in 0..3 {
            kc.set(&rt(i), &value(i, 0)).unwrap();
        }
        let mut row = f
            .table
            .sealed_rows(&[rt(1).account()])
            .unwrap()
            .pop()
            .flatten()
            .unwrap();
        row.sealed[3] ^= 1;
        f.table.put_sealed_rows(&[row]).unwrap();
        // A row copied over another account's does not open either.
        let mut moved = f
            .table
            .sealed_rows(&[rt(0).account()])
            .unwrap()
            .pop()
            .flatten()
            .unwrap();
        moved.account = rt(2).account();
        f.table.put_sealed_rows(&[moved]).unwrap();
        f.table
            .put_sealed_rows(&[kc
                .sealer(&f.table.storage_state().unwrap())
                .unwrap()
                .seal(&rt(0), &value(0, 0))
                .unwrap()])
            .unwrap();

        assert_eq!(kc.get(&rt(0)).unwrap(), Some(value(0, 0)));
        let err = kc.get(&rt(1)).unwrap_err();
        assert_eq!(err, KeychainError::SealedDamaged("refresh-token/c1".into()));
        assert_eq!(
            kc.get(&rt(2)).unwrap_err(),
            KeychainError::SealedDamaged("refresh-token/c2".into())
        );
        let shown = crate::Error::from(err);
        assert!(
            shown.message().contains("connection c1 is damaged"),
            "{}",
            shown.message()
        );
        assert!(
            shown
                .message()
                .contains("Other connections are not affected")
        );
        assert!(
            shown
                .detail()
                .unwrap()
                .fix
                .clone()
                .unwrap()
                .contains("mailconn reconnect c1")
        );
        // Signing in again seals a new token over it.
        kc.set(&rt(1), &value(1, 1)).unwrap();
        assert_eq!(kc.get(&rt(1)).unwrap(), Some(value(1, 1)));
    }

    /// A keychain whose reads fail as a locked one does.
    #[derive(Debug)]
    struct Locked(MemoryKeychain);

    impl Keychain for Locked {
        fn set(&self, k: &SecretKey, v: &Sensitive<String>) -> Result<(), KeychainError> {
            self.0.set(k, v)
        }
        fn get(&self, _: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError> {
            Err(KeychainError::Locked("IsLocked".into()))
        }
        fn delete(&self, k: &SecretKey) -> Result<(), KeychainError> {
            self.0.delete(k)
        }
    }

    #[test]
    fn a_locked_keychain_says_so() {
        let f = fixture(1);
        f.open().switch(StorageMode::Sealed, false).unwrap();
        f.open().set(&rt(0), &value(0, 0)).unwrap();
        let locked = SealedKeychain::new(
            Arc::new(Locked(MemoryKeychain::new())),
            f.table.clone(),
            f.locks.path(),
        );
        let err = locked.get(&rt(0)).unwrap_err();
        assert!(matches!(err, KeychainError::Locked(_)), "{err:?}");
        let shown = crate::Error::from(err);
        assert_eq!(shown.code(), ErrorCode::KeychainLocked);
        assert!(shown.message().contains("locked"), "{}", shown.message());
    }
}
