//! Opening the database file: WAL mode, and every file this program did not write (random bytes,
//! another program's `SQLite` file, a damaged file, a newer schema) refused with a message that
//! names the file and says how to recover, the file left byte for byte as it was.

use std::path::{Path, PathBuf};

use mailconn_core::ErrorCode;
use mailconn_core::store::{Store, latest_schema_version};

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("mailconn.sqlite3")
}

/// Opens a file that must be refused; returns the message after checking the file is unchanged.
fn refused(path: &Path) -> String {
    let before = std::fs::read(path).unwrap();
    let err = Store::open(path).expect_err("the file must be refused");
    assert_eq!(err.code(), ErrorCode::Database, "{err:?}");
    assert_eq!(std::fs::read(path).unwrap(), before, "the file was changed");
    let message = err.message().to_owned();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("left untouched"), "{message}");
    let fix = err.detail().and_then(|d| d.fix.clone()).unwrap();
    assert!(fix.contains("move the file aside"), "{fix}");
    message
}

#[test]
fn a_new_file_uses_wal_and_the_latest_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&tmp)).unwrap();
    assert_eq!(store.journal_mode().unwrap(), "wal");
    assert_eq!(store.schema_version().unwrap(), latest_schema_version());
    assert_eq!(store.quick_check().unwrap(), None);
    drop(store);
    let again = Store::open(&db(&tmp)).unwrap();
    assert_eq!(again.journal_mode().unwrap(), "wal");
}

#[test]
fn an_empty_file_becomes_a_new_database() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(db(&tmp), b"").unwrap();
    let store = Store::open(&db(&tmp)).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_schema_version());
}

#[test]
fn random_bytes_are_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = Vec::with_capacity(64 * 1024);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..64 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push(x.to_be_bytes()[3]);
    }
    std::fs::write(db(&tmp), &bytes).unwrap();
    let message = refused(&db(&tmp));
    assert!(message.contains("not a SQLite database"), "{message}");
}

#[test]
fn a_text_file_is_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(db(&tmp), "name,address\nAlice,alice@contoso.com\n").unwrap();
    refused(&db(&tmp));
}

#[test]
fn another_programs_sqlite_file_is_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(db(&tmp)).unwrap();
        conn.execute_batch(
            "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT);
             INSERT INTO moz_places (url) VALUES ('https://example.org');",
        )
        .unwrap();
    }
    let message = refused(&db(&tmp));
    assert!(message.contains("another program"), "{message}");
    assert!(message.contains("moz_places"), "{message}");
}

#[test]
fn another_programs_file_with_a_schema_version_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(db(&tmp)).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); PRAGMA user_version = 2;")
            .unwrap();
    }
    let message = refused(&db(&tmp));
    assert!(message.contains("unknown tables: notes"), "{message}");
}

#[test]
fn a_newer_schema_is_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    drop(Store::open(&db(&tmp)).unwrap());
    {
        let conn = rusqlite::Connection::open(db(&tmp)).unwrap();
        conn.pragma_update(None, "user_version", latest_schema_version() + 1)
            .unwrap();
        // Fold the WAL back so the file alone is the database.
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let before = std::fs::read(db(&tmp)).unwrap();
    let err = Store::open(&db(&tmp)).unwrap_err();
    assert_eq!(std::fs::read(db(&tmp)).unwrap(), before);
    assert!(err.message().contains("newer version"), "{}", err.message());
    assert!(err.message().contains("left untouched"));
    let fix = err.detail().and_then(|d| d.fix.clone()).unwrap();
    assert!(fix.contains("newer version"), "{fix}");
}

#[test]
fn a_damaged_file_is_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = Store::open(&db(&tmp)).unwrap();
        drop(store);
        let conn = rusqlite::Connection::open(db(&tmp)).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    // Overwrite everything after the first page (the schema) with junk: the tables' pages.
    let mut bytes = std::fs::read(db(&tmp)).unwrap();
    let page = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    assert!(bytes.len() > page * 2, "the database has several pages");
    for (i, b) in bytes[page..].iter_mut().enumerate() {
        *b = u8::try_from(i % 251).unwrap();
    }
    std::fs::write(db(&tmp), &bytes).unwrap();
    let message = refused(&db(&tmp));
    assert!(
        message.contains("damaged") || message.contains("cannot be"),
        "{message}"
    );
}

#[test]
fn a_truncated_file_is_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    {
        drop(Store::open(&db(&tmp)).unwrap());
        let conn = rusqlite::Connection::open(db(&tmp)).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let bytes = std::fs::read(db(&tmp)).unwrap();
    std::fs::write(db(&tmp), &bytes[..bytes.len() / 2]).unwrap();
    refused(&db(&tmp));
}
