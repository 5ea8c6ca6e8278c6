//! The keyring-backed secret store against a real Secret Service (GNOME Keyring). Run inside
//! `scripts/with-keyring.sh`, which `scripts/test.sh` does, with `--include-ignored`.

use std::io::Write;
use std::process::{Command, Stdio};

use mailconn_core::keychain::{Keychain, KeychainError, SecretKey, SecretKind, SystemKeychain};
use mailconn_core::{Error, ErrorCode, Sensitive};

/// The daemon-restart test kills the keyring daemon: the other tests wait for it to finish.
static DAEMON: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// `secret-tool store` of raw bytes under the given attributes, as another program would.
fn secret_tool_store(value: &[u8], attributes: &[&str]) {
    let mut child = Command::new("secret-tool")
        .args(["store", "--label", "written by another program"])
        .args(attributes)
        .stdin(Stdio::piped())
        .spawn()
        .expect("secret-tool is installed by scripts/setup.sh test");
    child.stdin.take().unwrap().write_all(value).unwrap();
    assert!(child.wait().unwrap().success());
}

fn secret_tool_clear(attributes: &[&str]) {
    let status = Command::new("secret-tool")
        .arg("clear")
        .args(attributes)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
#[ignore = "needs an unlocked Secret Service: run through scripts/with-keyring.sh"]
fn an_entry_deleted_behind_the_apps_back_reads_as_missing() {
    let _daemon = DAEMON
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let service = format!("mailconn-test-{}", uuid_like());
    let store = SystemKeychain::with_service(&service);
    let key = SecretKey::refresh_token("deleted");
    store.set(&key, &Sensitive::from("rt-value")).unwrap();
    secret_tool_clear(&["service", &service, "username", &key.account()]);
    assert!(store.get(&key).unwrap().is_none());
    store.delete(&key).unwrap();
}

#[test]
#[ignore = "needs an unlocked Secret Service: run through scripts/with-keyring.sh"]
fn a_value_that_is_not_text_is_unreadable_with_its_own_message() {
    let _daemon = DAEMON
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let service = format!("mailconn-test-{}", uuid_like());
    let store = SystemKeychain::with_service(&service);
    let key = SecretKey::refresh_token("binary");
    secret_tool_store(
        b"\xff\xfe\x00not-utf8",
        &["service", &service, "username", &key.account()],
    );
    let err = store.get(&key).unwrap_err();
    assert!(matches!(err, KeychainError::Unreadable(_)), "{err:?}");
    let user: Error = err.into();
    assert_eq!(user.code(), ErrorCode::Keychain);
    assert!(
        user.message().contains("cannot be read"),
        "{}",
        user.message()
    );
    // The app can still replace or remove it.
    store.delete(&key).unwrap();
    assert!(store.get(&key).unwrap().is_none());
}

#[test]
#[ignore = "needs an unlocked Secret Service: run through scripts/with-keyring.sh"]
fn two_entries_under_one_name_are_unreadable_not_a_guess() {
    let _daemon = DAEMON
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let service = format!("mailconn-test-{}", uuid_like());
    let store = SystemKeychain::with_service(&service);
    let key = SecretKey::client_secret("twice");
    for copy in ["a", "b"] {
        secret_tool_store(
            format!("secret-{copy}").as_bytes(),
            &[
                "service",
                &service,
                "username",
                &key.account(),
                "copy",
                copy,
            ],
        );
    }
    let err = store.get(&key).unwrap_err();
    assert!(
        matches!(&err, KeychainError::Unreadable(m) if m.contains("2 entries")),
        "{err:?}"
    );
    secret_tool_clear(&["service", &service, "username", &key.account()]);
}

#[test]
#[ignore = "needs an unlocked Secret Service: run through scripts/with-keyring.sh"]
fn the_keyring_daemon_restarting_mid_run_is_survived() {
    let _restart = DAEMON
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Ok(pids) =
        std::env::var("XDG_RUNTIME_DIR").map(|d| std::path::PathBuf::from(d).join("keyring.pids"))
    else {
        panic!("run through scripts/with-keyring.sh");
    };
    let store = SystemKeychain::with_service(format!("mailconn-test-{}", uuid_like()));
    let key = SecretKey::refresh_token("restart");
    store.set(&key, &Sensitive::from("rt-before")).unwrap();
    // Kill every keyring daemon of this session; D-Bus starts it again on the next call, as a
    // desktop session does, and the items are on disk.
    for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
        let _ = Command::new("kill").args(["-9", pid]).status();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(store.get(&key).unwrap().unwrap().expose(), "rt-before");
    store.set(&key, &Sensitive::from("rt-after")).unwrap();
    assert_eq!(store.get(&key).unwrap().unwrap().expose(), "rt-after");
    store.delete(&key).unwrap();
}

#[test]
#[ignore = "needs an unlocked Secret Service: run through scripts/with-keyring.sh"]
fn set_get_replace_delete_through_the_real_keychain() {
    let _daemon = DAEMON
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let store = SystemKeychain::with_service(format!("mailconn-test-{}", uuid_like()));
    let key = SecretKey::new(SecretKind::RefreshToken, "conn-1");
    let other = SecretKey::new(SecretKind::ClientSecret, "conn-1");

    assert!(store.get(&key).unwrap().is_none());
    store.set(&key, &Sensitive::from("rt-first")).unwrap();
    store
        .set(&other, &Sensitive::from("Abc8Q~client-secret"))
        .unwrap();
    assert_eq!(store.get(&key).unwrap().unwrap().expose(), "rt-first");

    store.set(&key, &Sensitive::from("rt-rotated")).unwrap();
    assert_eq!(store.get(&key).unwrap().unwrap().expose(), "rt-rotated");
    assert_eq!(
        store.get(&other).unwrap().unwrap().expose(),
        "Abc8Q~client-secret",
        "kinds are separate entries"
    );

    store.delete(&key).unwrap();
    assert!(store.get(&key).unwrap().is_none());
    store.delete(&key).unwrap();
    store.delete(&other).unwrap();
    store.probe().unwrap();
}

#[test]
#[ignore = "needs an unlocked Secret Service: run through scripts/with-keyring.sh"]
fn entries_are_visible_to_secret_tool_under_the_mailconn_service() {
    let _daemon = DAEMON
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let store = SystemKeychain::new();
    let key = SecretKey::new(SecretKind::Probe, format!("visible-{}", uuid_like()));
    store.set(&key, &Sensitive::from("probe-value")).unwrap();
    let out = std::process::Command::new("secret-tool")
        .args(["lookup", "service", "mailconn", "username", &key.account()])
        .output()
        .expect("secret-tool is installed by scripts/setup.sh test");
    store.delete(&key).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "probe-value");
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
