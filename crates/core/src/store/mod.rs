//! `SQLite` storage for metadata: registrations (without secrets), connections, their events.
//!
//! One module per table; each owns its schema migrations. Migrations are versioned through
//! `SQLite`'s `user_version` by `rusqlite_migration`, applied in the order listed in [`migrations`].
//! Nothing here stores a secret value.

pub mod connections;
pub mod events;
pub mod registrations;
pub mod secret_reminders;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::error::Result;

/// How long a writer waits for another process (the app and the CLI share the file) before
/// giving up with "database is locked".
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Every migration of every table, oldest first. Append only: a released step never changes.
const MIGRATIONS: &[&str] = &[
    registrations::V1,
    connections::V1,
    events::V1,
    connections::V2,
    secret_reminders::V1,
];

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// A unit-like enum's serde name (`confidential`, `full-calendar`), as stored in a TEXT column.
pub fn enum_text<T: serde::Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("not a unit-like enum: {other:?}"),
    }
}

/// Reads back what [`enum_text`] stored.
pub(crate) fn enum_from<T: serde::de::DeserializeOwned>(text: String) -> rusqlite::Result<T> {
    serde_json::from_value(serde_json::Value::String(text)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Creates an empty file with mode 0600 (Unix) unless it exists.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The database, shared by the app's threads.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) and migrates the database file. A new file is created 0600
    /// (Unix) before `SQLite` opens it; `SQLite` gives its WAL and shared-memory files the
    /// database's mode. An existing database readable by others is narrowed to 0600.
    pub fn open(path: &Path) -> Result<Self> {
        let unusable = |e: std::io::Error| {
            crate::error::Error::new(
                crate::error::ErrorCode::DataDir,
                format!("The database {} cannot be used: {e}", path.display()),
            )
        };
        create_private_file(path).map_err(unusable)?;
        let store = Self::init(Connection::open(path)?)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            crate::paths::make_private(Path::new(&file)).map_err(unusable)?;
        }
        Ok(store)
    }

    /// A private in-memory database for tests.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // WAL lets the CLI read while the app writes; it is a no-op for in-memory databases.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().expect("database mutex poisoned")
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// `SQLite`'s own consistency check; `Ok(None)` when the file is healthy.
    pub fn quick_check(&self) -> Result<Option<String>> {
        let result: String = self
            .conn()
            .query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        Ok((result != "ok").then_some(result))
    }
}

/// The latest schema version this build knows: one per migration.
pub fn latest_schema_version() -> u32 {
    u32::try_from(MIGRATIONS.len()).expect("fewer than 2^32 migrations")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid_and_complete() {
        migrations().validate().unwrap();
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.schema_version().unwrap(), latest_schema_version());
        assert_eq!(store.quick_check().unwrap(), None);
    }

    #[test]
    fn reopening_a_file_keeps_the_schema() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db.sqlite3");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), latest_schema_version());
    }

    #[cfg(unix)]
    #[test]
    fn the_database_and_its_wal_are_private_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // Another test may have set a private umask already; this one wants the usual 022.
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db.sqlite3");
        let store = Store::open(&path).unwrap();
        store
            .conn()
            .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .unwrap();
        assert_eq!(mode(&path), 0o600);
        let wal = tmp.path().join("db.sqlite3-wal");
        assert!(wal.exists());
        assert_eq!(mode(&wal), 0o600);
        assert_eq!(mode(&tmp.path().join("db.sqlite3-shm")), 0o600);
        drop(store);
        // An older database readable by others is narrowed when opened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Store::open(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
    }
}
