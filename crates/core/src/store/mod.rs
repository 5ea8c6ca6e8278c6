//! `SQLite` storage for metadata: registrations (without secrets), connections, their events,
//! the app's settings.
//!
//! One module per table; each owns its schema migrations. Migrations are versioned through
//! `SQLite`'s `user_version` by `rusqlite_migration`, applied in the order listed in [`migrations`].
//! Nothing here stores a secret value.

pub mod bridge;
pub mod connections;
pub mod events;
pub mod registrations;
pub mod sealed;
pub mod secret_reminders;
pub mod settings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::error::{Error, ErrorCode, Result};

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
    connections::V3,
    events::V2,
    registrations::V2_MAIL_SERVERS,
    bridge::V1,
    sealed::V1,
    settings::V1,
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
    /// Its file among those this process has open (none for in-memory databases).
    open_here: Option<OpenHere>,
}

/// Database files this process has open, and how many times.
static OPEN_FILES: Mutex<BTreeMap<PathBuf, usize>> = Mutex::new(BTreeMap::new());

/// One open [`Store`] of a file, counted in [`OPEN_FILES`] until it is dropped.
#[derive(Debug)]
struct OpenHere {
    path: PathBuf,
    /// No other store of this process had the file open.
    first: bool,
}

impl OpenHere {
    fn enter(path: &Path) -> Self {
        // The directory's real path and the file's name: the same before and after the file exists.
        let path = match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) => std::fs::canonicalize(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
            .map_or_else(|_| path.to_path_buf(), |d| d.join(name)),
            _ => path.to_path_buf(),
        };
        let mut open = OPEN_FILES.lock().expect("open files poisoned");
        let count = open.entry(path.clone()).or_insert(0);
        *count += 1;
        Self {
            path,
            first: *count == 1,
        }
    }
}

impl Drop for OpenHere {
    fn drop(&mut self) {
        let mut open = OPEN_FILES.lock().expect("open files poisoned");
        if let Some(count) = open.get_mut(&self.path) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.path);
            }
        }
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database file.
    ///
    /// An existing file is examined read-only first: a file that is not `SQLite`, fails
    /// `PRAGMA quick_check`, holds another program's tables or was written by a newer version is
    /// refused with an error that names the file, and the file is left byte for byte as it was.
    /// A new file is created 0600 (Unix) before `SQLite` opens it; `SQLite` gives its WAL and
    /// shared-memory files the database's mode. An existing database readable by others is
    /// narrowed to 0600.
    pub fn open(path: &Path) -> Result<Self> {
        let open_here = OpenHere::enter(path);
        // Opened and checked by this process already (the app's health check opens it again):
        // its header must not be read with a file handle of our own, whose closing would drop
        // the process's `SQLite` locks on the file (POSIX locks are per process), after which
        // another process could remove the WAL under this one and lose its writes.
        let first = open_here.first;
        if first && std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            examine(path).map_err(|problem| refused(path, &problem))?;
        }
        let unusable = |e: std::io::Error| {
            crate::error::Error::new(
                crate::error::ErrorCode::DataDir,
                format!("The database {} cannot be used: {e}", path.display()),
            )
        };
        if first {
            create_private_file(path).map_err(unusable)?;
        }
        let mut store = Self::init(Connection::open(path)?)?;
        store.open_here = Some(open_here);
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
        // WAL lets the CLI read while the app writes, and a writer killed mid-transaction leaves
        // the last committed state; it is a no-op for in-memory databases.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // With WAL, NORMAL still never corrupts the file on a crash; a power cut may lose the
        // last commits, which a refresh repeats (the keychain holds the newest token first).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            open_here: None,
        })
    }

    /// The journal mode in use (`wal` for a file).
    pub fn journal_mode(&self) -> Result<String> {
        Ok(self
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))?)
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

/// The first 16 bytes of every `SQLite` 3 database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Tables a migration may create, besides `SQLite`'s own (`sqlite_*`).
fn known_tables() -> Result<Vec<String>> {
    let mut conn = Connection::open_in_memory()?;
    migrations().to_latest(&mut conn)?;
    tables(&conn)
}

fn tables(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names)
}

/// Why an existing file cannot be opened, found without writing to it.
fn examine(path: &Path) -> std::result::Result<(), String> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(|e| format!("it cannot be read: {e}"))?;
    if file.read_exact(&mut header).is_err() || &header != SQLITE_HEADER {
        return Err("it is not a SQLite database".into());
    }
    drop(file);
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| format!("it cannot be opened: {e}"))?;
    let _ = conn.busy_timeout(BUSY_TIMEOUT);
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| format!("it is damaged: {e}"))?;
    if check != "ok" {
        return Err(format!(
            "it is damaged (SQLite's integrity check says: {check})"
        ));
    }
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| format!("it cannot be read: {e}"))?;
    if version > latest_schema_version() {
        return Err(format!(
            "it was written by a newer version of Mail Connections (schema version {version}; \
             this program knows up to {})",
            latest_schema_version()
        ));
    }
    let known = known_tables().map_err(|e| e.to_string())?;
    let found = tables(&conn).map_err(|e| format!("it cannot be read: {e}"))?;
    let foreign: Vec<&str> = found
        .iter()
        .filter(|t| !known.contains(t))
        .map(String::as_str)
        .collect();
    if !foreign.is_empty() {
        return Err(format!(
            "it belongs to another program (unknown tables: {})",
            foreign.join(", ")
        ));
    }
    if version == 0 && !found.is_empty() {
        return Err("it holds tables but no schema version, so another program made it".into());
    }
    Ok(())
}

/// The error for a refused database file: what is wrong, that nothing was changed, what to do.
fn refused(path: &Path, problem: &str) -> Error {
    let shown = path.display();
    let newer = problem.contains("newer version");
    let fix = if newer {
        format!(
            "Use the newer version of Mail Connections that wrote {shown}, or move the file \
             aside to start afresh with this version."
        )
    } else {
        format!(
            "Run `mailconn doctor` to see the checks. To start afresh, quit Mail Connections and \
             move the file aside (for example `mv \"{shown}\" \"{shown}.broken\"`, together with \
             any \"-wal\" and \"-shm\" files next to it), then start again: a new empty \
             database is created. Client secrets and refresh tokens stay in the system keychain, \
             but app registrations and connections have to be added again. Or restore the file \
             from a backup."
        )
    };
    Error::new(
        ErrorCode::Database,
        format!("The database file {shown} cannot be used: {problem}. It was left untouched."),
    )
    .with_fix(fix)
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

    /// A second store of a file this process has open (the app's health check) must not touch
    /// the file with a handle of its own: closing it would drop the process's `SQLite` locks,
    /// and another process closing its connection would then remove the WAL under this one.
    #[cfg(unix)]
    #[test]
    fn a_second_open_in_one_process_keeps_the_locks() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db.sqlite3");
        let app = Store::open(&path).unwrap();
        app.save_setting("a", "1", chrono::Utc::now()).unwrap();
        let key = std::fs::canonicalize(tmp.path())
            .unwrap()
            .join("db.sqlite3");
        assert_eq!(OPEN_FILES.lock().unwrap().get(&key), Some(&1));
        drop(Store::open(&path).unwrap());
        drop(Store::open(&tmp.path().join(".").join("db.sqlite3")).unwrap());
        // Another process can not take the exclusive lock a last closer takes before it
        // removes the WAL: the app's shared lock is still there.
        let probe = std::process::Command::new("sqlite3")
            .arg(&path)
            .arg("PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;")
            .output();
        if let Ok(out) = probe {
            let text = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success() || text.contains("locked"),
                "another process got the exclusive lock: {text}"
            );
        }
        let wal = tmp.path().join("db.sqlite3-wal");
        assert!(wal.exists(), "the WAL is still there");
        app.save_setting("b", "2", chrono::Utc::now()).unwrap();
        drop(app);
        assert_eq!(
            Store::open(&path).unwrap().saved_settings().unwrap().len(),
            2
        );
        assert!(!OPEN_FILES.lock().unwrap().contains_key(&key));
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
            // A write that reaches the WAL and leaves no table the next open would not know.
            .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1); DROP TABLE t;")
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
