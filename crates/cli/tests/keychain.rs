//! Keychain entries removed or changed behind the app's back, as a user meets them: the command's
//! own message and exit code, and what `doctor` says with the fix. Against a real GNOME Keyring
//! and the local identity provider; run through `scripts/test.sh`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Env, stderr};
use serde_json::Value;

fn doctor_secrets(env: &Env) -> (Option<i32>, Value) {
    let out = env.run(&["--json", "doctor"], None);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "secrets")
        .cloned()
        .unwrap_or_else(|| panic!("no secrets check: {report:#}"));
    (out.status.code(), check)
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn a_refresh_token_removed_or_damaged_outside_the_app_is_named_with_its_fix() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &[]);
    let (out, json) = env.connect("desktop", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    let id = json["id"].as_str().unwrap().to_owned();
    let account = format!("refresh-token/{id}");

    let (code, check) = doctor_secrets(&env);
    assert_eq!(code, Some(0), "{check}");
    assert_eq!(check["status"], "ok", "{check}");

    // Deleted behind the app's back.
    let status = Command::new("secret-tool")
        .args(["clear", "service", "mailconn", "username", &account])
        .status()
        .unwrap();
    assert!(status.success());
    let out = env.run(&["--json", "refresh", &id], None);
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["error"]["code"], "needs_sign_in", "{reports}");
    assert!(
        reports[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("No refresh token is stored"),
        "{reports}"
    );
    let (code, check) = doctor_secrets(&env);
    assert_eq!(code, Some(1));
    assert_eq!(check["status"], "failed", "{check}");
    let summary = check["summary"].as_str().unwrap();
    assert!(summary.contains("Missing from the keychain"), "{summary}");
    assert!(summary.contains("alice@contoso.test"), "{summary}");
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("mailconn reconnect alice@contoso.test"),
        "{check}"
    );

    // Replaced by another program with a value that is not text.
    let mut child = Command::new("secret-tool")
        .args([
            "store", "--label", "x", "service", "mailconn", "username", &account,
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\xff\xfe\x00binary")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let out = env.run(&["refresh", &id], None);
    let text = stderr(&out) + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cannot be read"), "{text}");
    let (_, check) = doctor_secrets(&env);
    let summary = check["summary"].as_str().unwrap();
    assert!(summary.contains("unreadable"), "{summary}");
    assert!(
        check["fix"].as_str().unwrap().contains("secret-tool clear"),
        "{check}"
    );
    let _ = Command::new("secret-tool")
        .args(["clear", "service", "mailconn", "username", &account])
        .status();
}
