//! `mailconn doctor` and `paths` as a user runs them, including the keychain failures a user can
//! meet: no Secret Service at all, and a Secret Service whose keyring is locked.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn mailconn(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailconn"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env_remove("MAILCONN_KEYCHAIN");
    cmd
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

#[test]
fn doctor_json_reports_each_check() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mailconn(tmp.path())
        .args(["--keychain", "memory", "doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = json(&out);
    assert_eq!(report["data_dir"], tmp.path().display().to_string());
    for id in ["data_dir", "database", "keychain"] {
        assert_eq!(check(&report, id)["status"], "ok", "{report:#}");
    }
    assert!(tmp.path().join("mailconn.sqlite3").is_file());
}

#[test]
fn data_dir_comes_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mailconn"))
        .env("MAILCONN_DATA_DIR", tmp.path())
        .args(["paths", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&out)["data_dir"], tmp.path().display().to_string());
}

#[test]
fn no_secret_service_is_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mailconn(tmp.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env_remove("DISPLAY")
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a failed check exits 1");
    let report = json(&out);
    let keychain = check(&report, "keychain");
    assert_eq!(keychain["status"], "failed");
    assert_eq!(keychain["code"], "keychain_unavailable");
    assert!(
        keychain["summary"]
            .as_str()
            .unwrap()
            .contains("No system keychain was found")
    );
    assert!(keychain["fix"].as_str().unwrap().contains("Secret Service"));

    let text = mailconn(tmp.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env_remove("DISPLAY")
        .arg("doctor")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("[FAIL] Keychain: No system keychain was found"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fix: Install and start a Secret Service provider"),
        "{stdout}"
    );
}

/// A session bus whose Secret Service has no unlocked keyring: what a user sees on a desktop
/// where the login keyring was never unlocked.
#[cfg(target_os = "linux")]
#[test]
fn locked_keyring_is_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tmp.path().join("run");
    let data_home = tmp.path().join("xdg-data");
    for d in [&runtime, &data_home] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    }
    let out = Command::new("dbus-run-session")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_mailconn"))
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .args(["doctor", "--json"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("MAILCONN_KEYCHAIN")
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("XDG_DATA_HOME", &data_home)
        .output()
        .expect("dbus-run-session is installed by scripts/setup.sh test");
    let report = json(&out);
    let keychain = check(&report, "keychain");
    assert_eq!(keychain["status"], "failed", "{report:#}");
    assert_eq!(keychain["code"], "keychain_locked", "{report:#}");
    assert!(
        keychain["fix"]
            .as_str()
            .unwrap()
            .contains("Unlock your login keyring")
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_mailconn"))
        .arg("no-such-command")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn about_names_the_version_licence_and_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let out = mailconn(tmp.path())
        .args(["--keychain", "memory", "about", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let about = json(&out);
    assert_eq!(about["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(about["licence"], "MIT OR Apache-2.0");
    assert_eq!(about["data_dir"], tmp.path().display().to_string());
    assert_eq!(
        about["logs_dir"],
        tmp.path().join("logs").display().to_string()
    );
    let text = mailconn(tmp.path())
        .args(["--keychain", "memory", "about"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("Mail Connections "), "{text}");
    assert!(text.contains("Licence:   MIT OR Apache-2.0"), "{text}");
}
