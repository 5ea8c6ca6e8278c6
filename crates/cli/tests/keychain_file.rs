//! Choosing where secrets live, as a user does it: the opt-in encrypted file (with its warning,
//! its passphrase and its mode 0600), the in-memory test store's warning, and unknown choices.

use std::path::Path;
use std::process::{Command, Output};

fn mailconn(data_dir: &Path, store: &str, passphrase: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailconn"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env("MAILCONN_KEYCHAIN", store)
        .env_remove("MAILCONN_KEYCHAIN_PASSPHRASE")
        .args(args);
    if let Some(p) = passphrase {
        cmd.env("MAILCONN_KEYCHAIN_PASSPHRASE", p);
    }
    cmd.output().unwrap()
}

#[test]
fn the_encrypted_file_needs_its_passphrase_and_warns() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mailconn(
        tmp.path(),
        "file",
        Some("a long test passphrase"),
        &["--json", "doctor"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("WARNING"), "{stderr}");
    assert!(stderr.contains("encrypted file"), "{stderr}");
    let file = tmp.path().join("secrets.enc");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    let out = mailconn(tmp.path(), "file", Some("another passphrase!"), &["list"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("passphrase does not open"), "{stderr}");
    assert!(stderr.contains("secrets file cannot be opened"), "{stderr}");
    assert!(!stderr.contains("system keychain"), "{stderr}");

    let out = mailconn(tmp.path(), "file", Some("short"), &["list"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));

    std::fs::write(&file, b"{\"not\": \"a secrets file\"}").unwrap();
    let out = mailconn(
        tmp.path(),
        "file",
        Some("a long test passphrase"),
        &["list"],
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("left untouched"), "{stderr}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"{\"not\": \"a secrets file\"}"
    );

    let out = mailconn(tmp.path(), "file", None, &["list"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("MAILCONN_KEYCHAIN_PASSPHRASE"), "{stderr}");
}

#[test]
fn the_memory_store_is_announced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mailconn(tmp.path(), "memory", None, &["list"]);
    // Tests run debug builds, which accept it with a warning; release builds refuse it unless
    // MAILCONN_KEYCHAIN_MEMORY_FOR_TESTS=1 (unit test `keychain::tests::selection_is_explicit`).
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("in memory only"));
}

#[test]
fn an_unknown_store_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mailconn(tmp.path(), "plaintext", None, &["list"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
