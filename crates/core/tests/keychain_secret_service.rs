//! The keyring-backed secret store against a real Secret Service (GNOME Keyring). Run inside
//! `scripts/with-keyring.sh`, which `scripts/test.sh` does, with `--include-ignored`.

use mailconn_core::Sensitive;
use mailconn_core::keychain::{Keychain, SecretKey, SecretKind, SystemKeychain};

#[test]
#[ignore = "needs an unlocked Secret Service: run through scripts/with-keyring.sh"]
fn set_get_replace_delete_through_the_real_keychain() {
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
