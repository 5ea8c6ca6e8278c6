//! The `settings` table: one row per setting someone changed (its key and the canonical text
//! `settings.rs` writes); a setting without a row has its default. Typed values, ranges and
//! the environment's overrides are `crate::settings`.

/// Schema version 11.
pub(super) const V1: &str = "
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
";

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::Store;
use crate::error::Result;

impl Store {
    /// Every saved setting as (key, text), by key.
    pub fn saved_settings(&self) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT key, value FROM settings ORDER BY key")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Saves one setting (replacing what was saved).
    pub fn save_setting(&self, key: &str, value: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn().execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![key, value, at],
        )?;
        Ok(())
    }

    /// Forgets a saved setting (it has its default again); false when none was saved.
    pub fn forget_setting(&self, key: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM settings WHERE key = ?1", params![key])?
            > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_saved_replaced_and_forgotten() {
        let store = Store::open_in_memory().unwrap();
        assert!(store.saved_settings().unwrap().is_empty());
        store
            .save_setting("refresh-margin", "10m", Utc::now())
            .unwrap();
        store
            .save_setting("notify-bridge", "off", Utc::now())
            .unwrap();
        store
            .save_setting("refresh-margin", "15m", Utc::now())
            .unwrap();
        assert_eq!(
            store.saved_settings().unwrap(),
            vec![
                ("notify-bridge".to_owned(), "off".to_owned()),
                ("refresh-margin".to_owned(), "15m".to_owned())
            ]
        );
        assert!(store.forget_setting("refresh-margin").unwrap());
        assert!(!store.forget_setting("refresh-margin").unwrap());
        assert_eq!(store.saved_settings().unwrap().len(), 1);
    }

    #[test]
    fn settings_survive_reopening_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db.sqlite3");
        Store::open(&path)
            .unwrap()
            .save_setting("keep-alive", "14d", Utc::now())
            .unwrap();
        assert_eq!(
            Store::open(&path).unwrap().saved_settings().unwrap(),
            vec![("keep-alive".to_owned(), "14d".to_owned())]
        );
    }
}
