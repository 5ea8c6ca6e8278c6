//! The sealed token store's tables: `storage_mode` (one row: where tokens are kept, an unfinished
//! switch, the database's random id and the record of the key, whose value is in the keychain)
//! and `sealed_secrets` (one row per token: account name, nonce, ciphertext). No token is stored
//! here in plaintext; the sealing is `keychain/sealed.rs`.

/// Schema version 10.
pub(super) const V1: &str = "
CREATE TABLE storage_mode (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    mode         TEXT NOT NULL CHECK (mode IN ('keychain', 'sealed')),
    pending      TEXT CHECK (pending IN ('copy', 'clean')),
    pending_mode TEXT CHECK (pending_mode IN ('keychain', 'sealed')),
    database_id  TEXT NOT NULL,
    key_id       TEXT,
    key_nonce    BLOB,
    key_check    BLOB,
    changed_at   TEXT
);
INSERT INTO storage_mode (id, mode, database_id) VALUES (1, 'keychain', lower(hex(randomblob(16))));
CREATE TABLE sealed_secrets (
    account    TEXT PRIMARY KEY,
    nonce      BLOB NOT NULL,
    sealed     BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
";

use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::keychain::KeychainError;
use crate::keychain::sealed::{
    KeyRecord, Pending, SealedRow, SealedTable, StorageMode, StorageState,
};

fn db(e: &rusqlite::Error) -> KeychainError {
    KeychainError::Database(e.to_string())
}

fn mode_from(text: &str) -> rusqlite::Result<StorageMode> {
    StorageMode::parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown storage mode {text}").into(),
        )
    })
}

impl SealedTable for Store {
    fn storage_state(&self) -> Result<StorageState, KeychainError> {
        self.conn()
            .prepare_cached(
                "SELECT mode, pending, pending_mode, database_id, key_id, key_nonce, key_check \
                 FROM storage_mode WHERE id = 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([], |r| {
                    let mode = mode_from(&r.get::<_, String>(0)?)?;
                    let pending_mode = r
                        .get::<_, Option<String>>(2)?
                        .map(|m| mode_from(&m))
                        .transpose()?;
                    let pending = match (r.get::<_, Option<String>>(1)?.as_deref(), pending_mode) {
                        (Some("copy"), Some(m)) => Some(Pending::Copy(m)),
                        (Some("clean"), Some(m)) => Some(Pending::Clean(m)),
                        _ => None,
                    };
                    let key = match (
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<Vec<u8>>>(5)?,
                        r.get::<_, Option<Vec<u8>>>(6)?,
                    ) {
                        (Some(id), Some(nonce), Some(check)) => {
                            Some(KeyRecord { id, nonce, check })
                        }
                        _ => None,
                    };
                    Ok(StorageState {
                        mode,
                        pending,
                        database_id: r.get(3)?,
                        key,
                    })
                })
            })
            .map_err(|e| db(&e))
    }

    fn set_storage_state(
        &self,
        mode: StorageMode,
        pending: Option<Pending>,
    ) -> Result<(), KeychainError> {
        let (what, on) = match pending {
            None => (None, None),
            Some(Pending::Copy(m)) => (Some("copy"), Some(m.as_str())),
            Some(Pending::Clean(m)) => (Some("clean"), Some(m.as_str())),
        };
        self.conn()
            .execute(
                "UPDATE storage_mode SET mode = ?1, pending = ?2, pending_mode = ?3, \
                 changed_at = ?4 WHERE id = 1",
                params![mode.as_str(), what, on, chrono::Utc::now()],
            )
            .map(|_| ())
            .map_err(|e| db(&e))
    }

    fn set_storage_key(&self, key: &KeyRecord) -> Result<(), KeychainError> {
        self.conn()
            .execute(
                "UPDATE storage_mode SET key_id = ?1, key_nonce = ?2, key_check = ?3 WHERE id = 1",
                params![key.id, key.nonce, key.check],
            )
            .map(|_| ())
            .map_err(|e| db(&e))
    }

    fn sealed_rows(&self, accounts: &[String]) -> Result<Vec<Option<SealedRow>>, KeychainError> {
        let conn = self.conn();
        if let [account] = accounts {
            let row = conn
                .prepare_cached("SELECT nonce, sealed FROM sealed_secrets WHERE account = ?1")
                .and_then(|mut stmt| {
                    stmt.query_row([account], |r| {
                        Ok(SealedRow {
                            account: account.clone(),
                            nonce: r.get(0)?,
                            sealed: r.get(1)?,
                        })
                    })
                    .optional()
                })
                .map_err(|e| db(&e))?;
            return Ok(vec![row]);
        }
        // One query for the lot: the accounts as a JSON array.
        let list =
            serde_json::to_string(accounts).map_err(|e| KeychainError::Database(e.to_string()))?;
        let mut found = std::collections::HashMap::new();
        let mut stmt = conn
            .prepare_cached(
                "SELECT account, nonce, sealed FROM sealed_secrets \
                 WHERE account IN (SELECT value FROM json_each(?1))",
            )
            .map_err(|e| db(&e))?;
        let rows = stmt
            .query_map([list], |r| {
                Ok(SealedRow {
                    account: r.get(0)?,
                    nonce: r.get(1)?,
                    sealed: r.get(2)?,
                })
            })
            .map_err(|e| db(&e))?;
        for row in rows {
            let row = row.map_err(|e| db(&e))?;
            found.insert(row.account.clone(), row);
        }
        Ok(accounts.iter().map(|a| found.remove(a)).collect())
    }

    fn put_sealed_rows(&self, rows: &[SealedRow]) -> Result<(), KeychainError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| db(&e))?;
        {
            let now = chrono::Utc::now();
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO sealed_secrets (account, nonce, sealed, updated_at) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account) DO UPDATE SET \
                     nonce = excluded.nonce, sealed = excluded.sealed, updated_at = excluded.updated_at",
                )
                .map_err(|e| db(&e))?;
            for row in rows {
                stmt.execute(params![row.account, row.nonce, row.sealed, now])
                    .map_err(|e| db(&e))?;
            }
        }
        tx.commit().map_err(|e| db(&e))
    }

    fn delete_sealed_rows(&self, accounts: &[String]) -> Result<(), KeychainError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| db(&e))?;
        {
            let mut stmt = tx
                .prepare_cached("DELETE FROM sealed_secrets WHERE account = ?1")
                .map_err(|e| db(&e))?;
            for account in accounts {
                stmt.execute([account]).map_err(|e| db(&e))?;
            }
        }
        tx.commit().map_err(|e| db(&e))
    }

    fn sealed_accounts(&self) -> Result<Vec<String>, KeychainError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT account FROM sealed_secrets ORDER BY account")
            .map_err(|e| db(&e))?;
        stmt.query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| db(&e))
    }

    fn token_owners(&self) -> Result<Vec<String>, KeychainError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT id FROM connections ORDER BY id")
            .map_err(|e| db(&e))?;
        stmt.query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| db(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_database_gets_its_own_id_and_starts_in_keychain_mode() {
        let a = Store::open_in_memory().unwrap().storage_state().unwrap();
        let b = Store::open_in_memory().unwrap().storage_state().unwrap();
        assert_eq!(a.mode, StorageMode::Keychain);
        assert_eq!(a.pending, None);
        assert_eq!(a.key, None);
        assert_eq!(a.database_id.len(), 32);
        assert_ne!(a.database_id, b.database_id);
    }

    #[test]
    fn rows_round_trip_in_order() {
        let store = Store::open_in_memory().unwrap();
        let row = |a: &str| SealedRow {
            account: a.into(),
            nonce: vec![1; 24],
            sealed: a.as_bytes().to_vec(),
        };
        store
            .put_sealed_rows(&[row("refresh-token/b"), row("refresh-token/a")])
            .unwrap();
        let got = store
            .sealed_rows(&[
                "refresh-token/a".into(),
                "refresh-token/x".into(),
                "refresh-token/b".into(),
            ])
            .unwrap();
        assert_eq!(
            got,
            vec![
                Some(row("refresh-token/a")),
                None,
                Some(row("refresh-token/b"))
            ]
        );
        assert_eq!(
            store.sealed_rows(&["refresh-token/b".into()]).unwrap(),
            vec![Some(row("refresh-token/b"))]
        );
        store
            .delete_sealed_rows(&["refresh-token/a".into()])
            .unwrap();
        assert_eq!(store.sealed_accounts().unwrap(), vec!["refresh-token/b"]);
        store
            .set_storage_state(
                StorageMode::Sealed,
                Some(Pending::Clean(StorageMode::Keychain)),
            )
            .unwrap();
        let state = store.storage_state().unwrap();
        assert_eq!(state.mode, StorageMode::Sealed);
        assert_eq!(state.pending, Some(Pending::Clean(StorageMode::Keychain)));
    }
}
