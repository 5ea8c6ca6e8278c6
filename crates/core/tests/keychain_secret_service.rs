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

/// The Secret Service sessions the daemon has open (`/org/freedesktop/secrets/session/*`).
fn open_sessions() -> usize {
    let out = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets/session",
            "org.freedesktop.DBus.Introspectable.Introspect",
        ])
        .output()
        .expect("dbus-send comes with D-Bus");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .matches("<node name=")
        .count()
}

fn kill_keyring_daemons() {
    let Ok(pids) =
        std::env::var("XDG_RUNTIME_DIR").map(|d| std::path::PathBuf::from(d).join("keyring.pids"))
    else {
        panic!("run through scripts/with-keyring.sh");
    };
    for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
        let _ = Command::new("kill").args(["-9", pid]).status();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs an unlocked Secret Service: run through scripts/with-keyring.sh"]
fn one_session_is_held_and_opened_again_after_the_daemon_restarts() {
    let _restart = DAEMON
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let store = SystemKeychain::with_service(format!("mailconn-test-{}", uuid_like()));
    let other = SystemKeychain::with_service(format!("mailconn-test-other-{}", uuid_like()));
    let key = SecretKey::refresh_token("held");
    store.set(&key, &Sensitive::from("rt-1")).unwrap();
    // Many calls, two stores, several threads: still the one session of this process (a
    // connection per call leaves none open between calls).
    std::thread::scope(|s| {
        for t in 0..4 {
            let (store, other, key) = (&store, &other, &key);
            s.spawn(move || {
                let mine = SecretKey::refresh_token(&format!("thread-{t}"));
                for round in 0..5 {
                    let value = Sensitive::from(format!("rt-{t}-{round}"));
                    other.set(&mine, &value).unwrap();
                    assert_eq!(other.get(&mine).unwrap().as_ref(), Some(&value));
                    assert_eq!(store.get(key).unwrap().unwrap().expose(), "rt-1");
                }
                other.delete(&mine).unwrap();
            });
        }
    });
    assert_eq!(open_sessions(), 1, "one session held by this process");

    kill_keyring_daemons();
    // The held session died with the daemon: the first call opens a new one and is retried.
    assert_eq!(store.get(&key).unwrap().unwrap().expose(), "rt-1");
    assert_eq!(open_sessions(), 1, "a new session on the new daemon");
    kill_keyring_daemons();
    // A write after a restart: its secret needs the session, so it is reopened and retried.
    store.set(&key, &Sensitive::from("rt-2")).unwrap();
    assert_eq!(open_sessions(), 1, "a new session for the write");
    assert_eq!(store.get(&key).unwrap().unwrap().expose(), "rt-2");
    kill_keyring_daemons();
    // Search and delete need no session: they work on the new daemon as they are.
    store.delete(&key).unwrap();
    assert!(store.get(&key).unwrap().is_none());
}

/// Items are what the `keyring` crate (earlier versions of Mail Connections) writes: each finds
/// the other's entries, replacing one keeps one item, and the attributes and label are the same.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs an unlocked Secret Service: run through scripts/with-keyring.sh"]
fn entries_of_the_keyring_crate_and_of_this_store_are_the_same() {
    let _daemon = DAEMON
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let service = format!("mailconn-test-{}", uuid_like());
    let store = SystemKeychain::with_service(&service);

    // Written by the keyring crate, read, replaced and removed here.
    let old = SecretKey::refresh_token("written-by-keyring");
    let entry = keyring::Entry::new(&service, &old.account()).unwrap();
    entry.set_password("rt-from-keyring").unwrap();
    assert_eq!(
        store.get(&old).unwrap().unwrap().expose(),
        "rt-from-keyring"
    );
    store.set(&old, &Sensitive::from("rt-replaced")).unwrap();
    assert_eq!(entry.get_password().unwrap(), "rt-replaced");
    assert_eq!(
        items(&service, &old.account()).len(),
        1,
        "replaced, not added"
    );

    // Written here, read, replaced and removed by the keyring crate.
    let new = SecretKey::refresh_token("written-here");
    store.set(&new, &Sensitive::from("rt-from-here")).unwrap();
    let entry_new = keyring::Entry::new(&service, &new.account()).unwrap();
    assert_eq!(entry_new.get_password().unwrap(), "rt-from-here");
    entry_new.set_password("rt-by-keyring").unwrap();
    assert_eq!(store.get(&new).unwrap().unwrap().expose(), "rt-by-keyring");
    assert_eq!(
        items(&service, &new.account()).len(),
        1,
        "replaced, not added"
    );

    // Same label and attributes, byte for byte (with the account name swapped).
    let theirs = items(&service, &old.account()).remove(0);
    let ours = items(&service, &new.account()).remove(0);
    assert_eq!(
        ours,
        theirs.replace(&old.account(), &new.account()),
        "keyring's item:\n{theirs}\nthis store's item:\n{ours}"
    );
    assert!(ours.contains("attribute.target = default"), "{ours}");
    assert!(
        ours.contains("attribute.application = rust-keyring"),
        "{ours}"
    );

    entry_new.delete_credential().unwrap();
    assert!(store.get(&new).unwrap().is_none());
    store.delete(&old).unwrap();
    assert!(matches!(entry.get_password(), Err(keyring::Error::NoEntry)));
}

/// `secret-tool search --all` of one account: per item its label and attributes (sorted), without
/// the path, times and secret.
fn items(service: &str, account: &str) -> Vec<String> {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", service, "username", account])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut found = Vec::new();
    for block in text.split("[/").skip(1) {
        let mut lines: Vec<&str> = block
            .lines()
            .skip(1)
            .map(str::trim)
            .filter(|l| l.starts_with("label = ") || l.starts_with("attribute."))
            .collect();
        lines.sort_unstable();
        found.push(lines.join("\n"));
    }
    found
}

#[test]
#[ignore = "needs an unlocked Secret Service: run through scripts/with-keyring.sh"]
fn many_entries_are_read_and_written_in_order() {
    let _daemon = DAEMON
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let service = format!("mailconn-test-{}", uuid_like());
    let store = SystemKeychain::with_service(&service);
    let keys: Vec<SecretKey> = (0..5)
        .map(|i| SecretKey::refresh_token(&format!("many-{i}")))
        .collect();
    let items: Vec<(SecretKey, Sensitive<String>)> = keys
        .iter()
        .take(4)
        .enumerate()
        .map(|(i, k)| (k.clone(), Sensitive::from(format!("rt-{i}"))))
        .collect();
    store.set_many(&items).unwrap();
    store.delete(&keys[1]).unwrap();
    let read = store.get_many(&keys).unwrap();
    let read: Vec<Option<&str>> = read
        .iter()
        .map(|v| v.as_ref().map(|v| v.expose().as_str()))
        .collect();
    assert_eq!(read, [Some("rt-0"), None, Some("rt-2"), Some("rt-3"), None]);
    assert!(store.get_many(&[]).unwrap().is_empty());

    // A name carried by two entries fails the batch with its own message.
    secret_tool_store(
        b"intruder",
        &[
            "service",
            &service,
            "username",
            &keys[2].account(),
            "target",
            "default",
            "copy",
            "b",
        ],
    );
    let err = store.get_many(&keys).unwrap_err();
    assert!(
        matches!(&err, KeychainError::Unreadable(m) if m.contains("2 entries")),
        "{err:?}"
    );
    secret_tool_clear(&["service", &service]);
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
