//! A database file the program did not write, as a user meets it: the command stops with exit
//! code 4 and a message naming the file and the way out, `doctor` reports the same, and the file
//! is left byte for byte as it was.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn mailconn(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailconn"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--keychain", "memory"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_foreign_database_file_stops_every_command_with_exit_4_and_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mailconn.sqlite3");
    let junk: Vec<u8> = (0..20_000u32)
        .map(|i| u8::try_from(i * 7 % 256).unwrap())
        .collect();
    std::fs::write(&file, &junk).unwrap();

    let out = mailconn(tmp.path(), &["list"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(stderr.contains("not a SQLite database"), "{stderr}");
    assert!(stderr.contains("left untouched"), "{stderr}");
    assert!(stderr.contains("mailconn doctor"), "{stderr}");
    assert!(stderr.contains("move the file aside"), "{stderr}");

    let out = mailconn(tmp.path(), &["--json", "status"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");

    let out = mailconn(tmp.path(), &["--json", "doctor"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed check exits 1: {out:?}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let db = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "database")
        .unwrap();
    assert_eq!(db["status"], "failed", "{db}");
    assert_eq!(db["code"], "database", "{db}");
    assert!(
        db["summary"].as_str().unwrap().contains("left untouched"),
        "{db}"
    );
    assert!(
        db["fix"].as_str().unwrap().contains("move the file aside"),
        "{db}"
    );

    assert_eq!(std::fs::read(&file).unwrap(), junk, "the file was changed");

    // The documented recovery: move it aside and start again.
    std::fs::rename(&file, tmp.path().join("mailconn.sqlite3.broken")).unwrap();
    let out = mailconn(tmp.path(), &["list"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn a_newer_schema_exits_4_and_names_the_newer_version() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mailconn(tmp.path(), &["list"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let file = tmp.path().join("mailconn.sqlite3");
    let version = mailconn_core::store::latest_schema_version() + 1;
    rusqlite::Connection::open(&file)
        .unwrap()
        .pragma_update(None, "user_version", version)
        .unwrap();
    let out = mailconn(tmp.path(), &["list"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("newer version of Mail Connections"),
        "{stderr}"
    );
}
