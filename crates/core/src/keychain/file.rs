//! An encrypted file as the secret store, for systems without a usable keychain, and only when
//! the user asks for it (`MAILCONN_KEYCHAIN=file` with a passphrase). Never chosen by itself.
//!
//! The file holds every secret as one JSON map, sealed with XChaCha20-Poly1305 under a key
//! derived from the passphrase with Argon2id (a random salt per file). A second sealed block of a
//! known text tells a wrong passphrase from a file changed by someone else. The file is written
//! whole to a temporary file (mode 0600) and renamed over the old one, under an exclusive lock,
//! so the app and the CLI can share it and a crash leaves the old or the new file, never half.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{Keychain, KeychainError, SecretKey};
use crate::sensitive::Sensitive;

/// The file's name inside the data directory.
pub const FILE_NAME: &str = "secrets.enc";

const FORMAT: u32 = 1;
const CHECK_TEXT: &[u8] = b"mailconn secrets file";
/// Argon2id with OWASP's first recommended setting: 19 MiB, 2 passes, 1 lane.
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
/// Shorter passphrases are refused: the file may be copied and attacked offline.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

#[derive(Debug, Serialize, Deserialize)]
struct Sealed {
    format: u32,
    kdf: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
    check_nonce: String,
    check: String,
    nonce: String,
    ciphertext: String,
}

impl Sealed {
    /// What the ciphertexts are bound to: a change to any parameter fails decryption.
    fn associated_data(&self) -> Vec<u8> {
        format!(
            "mailconn/{}/{}/{}/{}/{}/{}",
            self.format, self.kdf, self.m_cost_kib, self.t_cost, self.p_cost, self.salt
        )
        .into_bytes()
    }
}

/// Secrets in a passphrase-protected file.
pub struct FileKeychain {
    path: PathBuf,
    passphrase: Sensitive<String>,
    /// The key and the salt it was derived for (derivation is deliberately slow).
    key: Mutex<Option<(String, Zeroizing<[u8; 32]>)>>,
}

impl std::fmt::Debug for FileKeychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileKeychain")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileKeychain {
    /// The file's name inside the data directory.
    pub const FILE_NAME: &'static str = FILE_NAME;

    /// A store at `path`, opened with `passphrase`. An existing file is opened at once, so a
    /// wrong passphrase or a changed file is reported before anything else happens.
    pub fn open(
        path: impl Into<PathBuf>,
        passphrase: Sensitive<String>,
    ) -> Result<Self, KeychainError> {
        if passphrase.expose().chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(KeychainError::Passphrase(format!(
                "the passphrase for the encrypted secrets file must have at least \
                 {MIN_PASSPHRASE_CHARS} characters"
            )));
        }
        let store = Self {
            path: path.into(),
            passphrase,
            key: Mutex::new(None),
        };
        store.read()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn derive(
        &self,
        salt_b64: &str,
        m: u32,
        t: u32,
        p: u32,
    ) -> Result<Zeroizing<[u8; 32]>, KeychainError> {
        let mut cached = self.key.lock().expect("key cache poisoned");
        if let Some((salt, key)) = cached.as_ref()
            && salt == salt_b64
        {
            return Ok(key.clone());
        }
        let salt = B64
            .decode(salt_b64)
            .map_err(|_| tampered("the salt is not valid"))?;
        let params = Params::new(m, t, p, Some(32)).map_err(|e| tampered(&e.to_string()))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(self.passphrase.expose().as_bytes(), &salt, key.as_mut())
            .map_err(|e| tampered(&e.to_string()))?;
        *cached = Some((salt_b64.to_owned(), key.clone()));
        Ok(key)
    }

    /// Every secret in the file; an empty map when there is no file yet.
    fn read(&self) -> Result<BTreeMap<String, String>, KeychainError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => {
                return Err(KeychainError::Other(format!(
                    "cannot read {}: {e}",
                    self.path.display()
                )));
            }
        };
        let sealed: Sealed =
            serde_json::from_slice(&bytes).map_err(|_| tampered("it is not a secrets file"))?;
        if sealed.format != FORMAT || sealed.kdf != "argon2id" {
            return Err(tampered("its format is unknown"));
        }
        if sealed.m_cost_kib < 8 * 1024
            || sealed.t_cost < 1
            || sealed.m_cost_kib > 1024 * 1024
            || sealed.t_cost > 16
            || sealed.p_cost != P_COST
        {
            return Err(tampered("its key derivation settings were changed"));
        }
        let key = self.derive(
            &sealed.salt,
            sealed.m_cost_kib,
            sealed.t_cost,
            sealed.p_cost,
        )?;
        let cipher = XChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        let aad = sealed.associated_data();
        let open = |nonce: &str, data: &str| -> Option<Zeroizing<Vec<u8>>> {
            let nonce = B64.decode(nonce).ok().filter(|n| n.len() == 24)?;
            let data = B64.decode(data).ok()?;
            cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &data,
                        aad: &aad,
                    },
                )
                .ok()
                .map(Zeroizing::new)
        };
        match open(&sealed.check_nonce, &sealed.check) {
            Some(text) if text.as_slice() == CHECK_TEXT => {}
            _ => {
                return Err(KeychainError::Passphrase(format!(
                    "the passphrase does not open {} (or the file was changed)",
                    self.path.display()
                )));
            }
        }
        let plain = open(&sealed.nonce, &sealed.ciphertext).ok_or_else(|| {
            tampered("the passphrase is right but the secrets were changed after they were written")
        })?;
        serde_json::from_slice(&plain).map_err(|_| tampered("the secrets cannot be read"))
    }

    fn write(&self, entries: &BTreeMap<String, String>) -> Result<(), KeychainError> {
        let io = |e: std::io::Error| {
            KeychainError::Other(format!("cannot write {}: {e}", self.path.display()))
        };
        let mut salt = [0u8; 16];
        chacha20poly1305::aead::rand_core::RngCore::fill_bytes(&mut OsRng, &mut salt);
        // Keep the salt (and so the cached key) of an existing file.
        let salt_b64 = match std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Sealed>(&b).ok())
        {
            Some(old) => old.salt,
            None => B64.encode(salt),
        };
        let mut sealed = Sealed {
            format: FORMAT,
            kdf: "argon2id".into(),
            m_cost_kib: M_COST_KIB,
            t_cost: T_COST,
            p_cost: P_COST,
            salt: salt_b64,
            check_nonce: String::new(),
            check: String::new(),
            nonce: String::new(),
            ciphertext: String::new(),
        };
        let key = self.derive(&sealed.salt, M_COST_KIB, T_COST, P_COST)?;
        let cipher = XChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        let aad = sealed.associated_data();
        let seal = |msg: &[u8]| -> Result<(String, String), KeychainError> {
            let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
            let data = cipher
                .encrypt(&nonce, Payload { msg, aad: &aad })
                .map_err(|_| KeychainError::Other("encryption failed".into()))?;
            Ok((B64.encode(nonce), B64.encode(data)))
        };
        (sealed.check_nonce, sealed.check) = seal(CHECK_TEXT)?;
        let plain = Zeroizing::new(
            serde_json::to_vec(entries).map_err(|e| KeychainError::Other(e.to_string()))?,
        );
        (sealed.nonce, sealed.ciphertext) = seal(&plain)?;
        let json =
            serde_json::to_vec_pretty(&sealed).map_err(|e| KeychainError::Other(e.to_string()))?;

        let tmp = self.path.with_extension("enc.tmp");
        let mut file = create_private(&tmp).map_err(io)?;
        file.write_all(&json).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Runs `change` on the secrets under an exclusive lock shared with other processes.
    fn update(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> Result<(), KeychainError> {
        let lock_path = self.path.with_extension("enc.lock");
        let lock = create_private_keep(&lock_path).map_err(|e| {
            KeychainError::Other(format!("cannot lock {}: {e}", lock_path.display()))
        })?;
        lock.lock().map_err(|e| {
            KeychainError::Other(format!("cannot lock {}: {e}", lock_path.display()))
        })?;
        let mut entries = self.read()?;
        change(&mut entries);
        let result = self.write(&entries);
        let _ = lock.unlock();
        result
    }
}

fn tampered(why: &str) -> KeychainError {
    KeychainError::FileDamaged(why.to_owned())
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<File> {
    let _ = std::fs::remove_file(path);
    OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(unix)]
fn create_private_keep(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private_keep(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

impl Keychain for FileKeychain {
    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<(), KeychainError> {
        self.update(|e| {
            e.insert(key.account(), value.expose().clone());
        })
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>, KeychainError> {
        let mut entries = self.read()?;
        let found = entries.remove(&key.account()).map(Sensitive::new);
        for v in entries.values_mut() {
            zeroize::Zeroize::zeroize(v);
        }
        Ok(found)
    }

    fn delete(&self, key: &SecretKey) -> Result<(), KeychainError> {
        self.update(|e| {
            e.remove(&key.account());
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keychain::SecretKind;

    const PASS: &str = "correct horse battery staple";

    fn store(dir: &tempfile::TempDir) -> FileKeychain {
        FileKeychain::open(dir.path().join(FILE_NAME), Sensitive::from(PASS)).unwrap()
    }

    #[test]
    fn round_trip_across_opens() {
        let tmp = tempfile::tempdir().unwrap();
        let key = SecretKey::refresh_token("c1");
        let s = store(&tmp);
        assert!(s.get(&key).unwrap().is_none());
        s.set(&key, &Sensitive::from("rt-1")).unwrap();
        s.set(&SecretKey::client_secret("r1"), &Sensitive::from("Abc8Q~x"))
            .unwrap();
        s.set(&key, &Sensitive::from("rt-2")).unwrap();
        s.probe().unwrap();
        drop(s);
        let again = store(&tmp);
        assert_eq!(again.get(&key).unwrap().unwrap().expose(), "rt-2");
        assert_eq!(
            again
                .get(&SecretKey::client_secret("r1"))
                .unwrap()
                .unwrap()
                .expose(),
            "Abc8Q~x"
        );
        again.delete(&key).unwrap();
        again.delete(&key).unwrap();
        assert!(store(&tmp).get(&key).unwrap().is_none());
        let text = std::fs::read_to_string(tmp.path().join(FILE_NAME)).unwrap();
        assert!(!text.contains("Abc8Q~x") && !text.contains("rt-"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let s = store(&tmp);
        s.set(
            &SecretKey::new(SecretKind::Probe, "p"),
            &Sensitive::from("v"),
        )
        .unwrap();
        for name in [FILE_NAME, "secrets.enc.lock"] {
            let mode = std::fs::metadata(tmp.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
        }
    }

    #[test]
    fn a_wrong_passphrase_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        store(&tmp)
            .set(&SecretKey::refresh_token("c1"), &Sensitive::from("rt"))
            .unwrap();
        let err = FileKeychain::open(
            tmp.path().join(FILE_NAME),
            Sensitive::from("not the passphrase"),
        )
        .unwrap_err();
        assert!(
            matches!(&err, KeychainError::Passphrase(m) if m.contains("passphrase does not open")),
            "{err}"
        );
    }

    #[test]
    fn a_short_passphrase_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let err =
            FileKeychain::open(tmp.path().join(FILE_NAME), Sensitive::from("short")).unwrap_err();
        assert!(err.to_string().contains("at least 12 characters"), "{err}");
    }

    #[test]
    fn a_changed_file_is_refused_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(FILE_NAME);
        store(&tmp)
            .set(&SecretKey::refresh_token("c1"), &Sensitive::from("rt"))
            .unwrap();
        let mut sealed: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut data = B64.decode(sealed["ciphertext"].as_str().unwrap()).unwrap();
        data[0] ^= 1;
        sealed["ciphertext"] = B64.encode(data).into();
        std::fs::write(&path, serde_json::to_vec(&sealed).unwrap()).unwrap();
        let before = std::fs::read(&path).unwrap();
        let err = FileKeychain::open(&path, Sensitive::from(PASS)).unwrap_err();
        assert!(
            matches!(&err, KeychainError::FileDamaged(m) if m.contains("changed")),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);

        // Weakened key derivation settings are refused too.
        sealed["t_cost"] = 0.into();
        std::fs::write(&path, serde_json::to_vec(&sealed).unwrap()).unwrap();
        let err = FileKeychain::open(&path, Sensitive::from(PASS)).unwrap_err();
        assert!(matches!(&err, KeychainError::FileDamaged(_)), "{err}");

        std::fs::write(&path, b"garbage").unwrap();
        let err = FileKeychain::open(&path, Sensitive::from(PASS)).unwrap_err();
        assert!(err.to_string().contains("not a secrets file"), "{err}");
    }
}
