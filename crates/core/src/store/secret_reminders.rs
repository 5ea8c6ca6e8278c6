//! The `secret_reminders` table: which reminder stage (threshold in days, 0 = expired) was
//! notified for which secret. A secret is known by its registration, hint and end date, so a
//! rotated secret (new hint or date) starts with no reminders sent.

/// Schema version 5.
pub(super) const V1: &str = "
CREATE TABLE secret_reminders (
    registration_id TEXT NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
    secret_hint     TEXT NOT NULL,
    expires         TEXT NOT NULL,
    threshold       INTEGER NOT NULL,
    notified_at     TEXT NOT NULL,
    PRIMARY KEY (registration_id, secret_hint, expires, threshold)
);
";

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;

use super::Store;
use crate::error::Result;

impl Store {
    /// The stages already notified for one secret.
    pub fn reminders_notified(
        &self,
        registration_id: &str,
        hint: &str,
        expires: NaiveDate,
    ) -> Result<Vec<u32>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT threshold FROM secret_reminders WHERE registration_id = ?1 AND secret_hint = ?2 AND expires = ?3",
        )?;
        let rows = stmt
            .query_map(params![registration_id, hint, expires], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<u32>>>()?;
        Ok(rows)
    }

    /// Records that a stage was notified; false when it already was (another process won).
    pub fn record_reminder_notified(
        &self,
        registration_id: &str,
        hint: &str,
        expires: NaiveDate,
        threshold: u32,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO secret_reminders (registration_id, secret_hint, expires, threshold, notified_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![registration_id, hint, expires, threshold, at],
        )?;
        Ok(n == 1)
    }

    /// Sets only a registration's secret metadata (rotation, a corrected end date).
    pub fn set_secret_meta(
        &self,
        registration_id: &str,
        meta: &super::registrations::SecretMeta,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE registrations SET has_secret = ?2, secret_label = ?3, secret_hint = ?4, secret_expires = ?5, updated_at = ?6 WHERE id = ?1",
            params![registration_id, meta.present, meta.label, meta.hint, meta.expires, now],
        )?;
        if n == 0 {
            return Err(crate::Error::not_found(
                "That app registration no longer exists.",
            ));
        }
        Ok(())
    }
}
