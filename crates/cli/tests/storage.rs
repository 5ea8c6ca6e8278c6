//! `mailconn storage`: switching between one keychain item per token and the sealed store, with
//! the real keychain (scripts/with-keyring.sh) and the local identity provider; the errors of a
//! missing key and a damaged row; and `kill -9` of `storage set` at random moments.
//!
//! `MAILCONN_STORAGE_CRASH_CYCLES` sets the number of kills (12 by default; 20 or more for a soak),
//! `MAILCONN_STORAGE_CRASH_CONNECTIONS` the number of connections (30; 100 for the soak, which
//! takes tens of minutes: every switch to the keychain rewrites it per item), `MAILCONN_CRASH_SEED`
//! repeats a run.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, file_contains, secret_tool_lookup, stderr};
use mailconn_core::keychain::sealed::SealedTable;
use mailconn_core::store::Store;
use serde_json::Value;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn json(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = env.run(&all, None);
    assert!(
        out.status.success(),
        "{args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What the user sees of a failed command: stdout and the error lines of stderr (the test
/// runs log at debug level to stderr too).
fn shown(out: &std::process::Output) -> String {
    let err = stderr(out);
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("error") || l.starts_with("  fix") || l.starts_with("mailconn"))
        .collect();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        errors.join("\n")
    )
}

fn store(env: &Env) -> Store {
    Store::open(&env.data().join("mailconn.sqlite3")).unwrap()
}

/// Refreshes every connection and returns how many failed.
fn refresh_failures(env: &Env) -> usize {
    let reports = json(env, &["refresh", "--all"]);
    reports
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            let bad = !r["error"].is_null() || r["connection"]["state"] != "active";
            if bad {
                eprintln!("{r}");
            }
            bad
        })
        .count()
}

/// The database and logs go to the artifacts for the secret-leak scan (scripts/leak-scan.py).
fn keep_for_leak_scan(env: &Env, name: &str) {
    if let Ok(artifacts) = std::env::var("MAILCONN_ARTIFACTS") {
        let to = std::path::Path::new(&artifacts).join("data");
        std::fs::create_dir_all(&to).unwrap();
        let copied = Command::new("cp")
            .arg("-r")
            .arg(env.data())
            .arg(to.join(name))
            .status()
            .unwrap();
        assert!(copied.success());
    }
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn switching_to_sealed_and_back_keeps_every_token_and_the_connections_refresh() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &[]);
    let mut ids = Vec::new();
    for address in ["alice@contoso.test", "carol@outlook.test"] {
        let (out, json) = env.connect("desktop", address);
        assert!(out.status.success(), "connect {address}: {}", stderr(&out));
        ids.push(json["id"].as_str().unwrap().to_owned());
    }
    let status = json(&env, &["storage"]);
    assert_eq!(status["mode"], "keychain", "{status}");
    assert_eq!(status["keychain"]["refresh_tokens"], 2, "{status}");
    let tokens: Vec<String> = ids
        .iter()
        .map(|id| secret_tool_lookup(&format!("refresh-token/{id}")).unwrap())
        .collect();

    let done = json(&env, &["storage", "set", "sealed"]);
    assert_eq!(done["to"], "sealed", "{done}");
    assert_eq!(done["moved"]["refresh_tokens"], 2, "{done}");
    for (id, token) in ids.iter().zip(&tokens) {
        assert!(secret_tool_lookup(&format!("refresh-token/{id}")).is_none());
        let db = env.data().join("mailconn.sqlite3");
        assert!(!file_contains(&db, token), "a sealed token in plaintext");
    }
    let text = env.run(&["storage"], None);
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(shown.contains("mode:               sealed"), "{shown}");
    assert!(
        shown.contains("sealed in database: 2 refresh tokens"),
        "{shown}"
    );
    // Refreshes rotate the sealed tokens and reach no keychain item.
    assert_eq!(refresh_failures(&env), 0);
    assert_eq!(refresh_failures(&env), 0);
    let allow = env.run(&["programs", "alice@contoso.test", "allow"], None);
    assert!(allow.status.success(), "{}", stderr(&allow));
    let token = env.run(&["token", "alice@contoso.test"], None);
    assert!(token.status.success(), "{}", stderr(&token));
    for id in &ids {
        assert!(secret_tool_lookup(&format!("refresh-token/{id}")).is_none());
        assert!(secret_tool_lookup(&format!("access-token/{id}/graph")).is_none());
    }
    let sealed_rows = store(&env).sealed_accounts().unwrap();
    assert!(sealed_rows.len() >= 3, "{sealed_rows:?}");
    // Again: nothing to move.
    let again = env.run(&["storage", "set", "sealed"], None);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already kept in sealed mode"));

    let back = json(&env, &["storage", "set", "keychain"]);
    assert_eq!(back["moved"]["refresh_tokens"], 2, "{back}");
    assert!(store(&env).sealed_accounts().unwrap().is_empty());
    for id in &ids {
        assert!(secret_tool_lookup(&format!("refresh-token/{id}")).is_some());
    }
    assert_eq!(refresh_failures(&env), 0);
    keep_for_leak_scan(&env, "cli-storage");
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn a_missing_key_and_a_damaged_row_are_explained() {
    let env = Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &[]);
    let mut ids = Vec::new();
    for address in ["alice@contoso.test", "carol@outlook.test"] {
        let (out, json) = env.connect("desktop", address);
        assert!(out.status.success(), "connect {address}: {}", stderr(&out));
        ids.push(json["id"].as_str().unwrap().to_owned());
    }
    let allow = env.run(&["programs", "alice@contoso.test", "allow"], None);
    assert!(allow.status.success(), "{}", stderr(&allow));
    json(&env, &["storage", "set", "sealed"]);

    // A damaged row: that connection fails with "damaged", the other refreshes.
    let db = store(&env);
    let account = format!("refresh-token/{}", ids[0]);
    let mut row = db
        .sealed_rows(std::slice::from_ref(&account))
        .unwrap()
        .pop()
        .flatten()
        .unwrap();
    let good = row.clone();
    row.sealed[5] ^= 0x40;
    db.put_sealed_rows(&[row]).unwrap();
    let out = env.run(&["refresh", "alice@contoso.test"], None);
    assert!(!out.status.success());
    let err = shown(&out);
    assert!(err.contains("is damaged"), "{err}");
    assert!(err.contains("mailconn reconnect"), "{err}");
    let status = env.run(&["--json", "status", "alice@contoso.test"], None);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["state"], "needs_sign_in", "{status}");
    let out = env.run(&["refresh", "carol@outlook.test"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    db.put_sealed_rows(&[good]).unwrap();
    let (out, _) = env.connect("desktop", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    let allow = env.run(&["programs", "carol@outlook.test", "allow"], None);
    assert!(allow.status.success(), "{}", stderr(&allow));

    // The key gone from the keychain: a clear error, and no new key is made.
    let state = db.storage_state().unwrap();
    let key = format!("storage-key/sealed/{}", state.database_id);
    assert!(secret_tool_lookup(&key).is_some());
    let saved = secret_tool_lookup(&key).unwrap();
    let cleared = Command::new("secret-tool")
        .args(["clear", "service", "mailconn", "username", &key])
        .status()
        .unwrap();
    assert!(cleared.success());
    let out = env.run(&["token", "carol@outlook.test"], None);
    assert!(!out.status.success());
    let err = shown(&out);
    assert!(err.contains("cannot be opened"), "{err}");
    assert!(err.contains("gone from the system keychain"), "{err}");
    assert!(err.contains("--forget-sealed"), "{err}");
    let out = env.run(&["storage", "set", "keychain"], None);
    assert!(!out.status.success());
    assert!(shown(&out).contains("cannot be opened"), "{}", shown(&out));
    assert!(secret_tool_lookup(&key).is_none(), "no new key was made");
    assert!(db.sealed_accounts().unwrap().len() >= 2);

    // Restoring the key (from a keyring backup) brings every token back.
    let mut restore = Command::new("secret-tool")
        .args([
            "store", "--label", "mailconn", "service", "mailconn", "username", &key,
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut restore.stdin.take().unwrap(), saved.as_bytes()).unwrap();
    assert!(restore.wait().unwrap().success());
    assert_eq!(refresh_failures(&env), 0);

    // Or the sealed tokens are given up explicitly, and the connections need a new sign-in.
    Command::new("secret-tool")
        .args(["clear", "service", "mailconn", "username", &key])
        .status()
        .unwrap();
    let out = env.run(&["storage", "set", "keychain", "--forget-sealed"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("could not be opened"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(db.sealed_accounts().unwrap().is_empty());
    let (out, _) = env.connect("desktop", "alice@contoso.test");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&["refresh", "alice@contoso.test"], None);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// xorshift64*: enough randomness for kill times, repeatable from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// `wanted` connections: four accounts per registration, as many registrations (of one client)
/// as needed.
fn connect_many(env: &Env, wanted: usize) -> Vec<String> {
    let users = [
        "alice@contoso.test",
        "bob@contoso.test",
        "erin@fabrikam.test",
        "carol@outlook.test",
    ];
    let apps = wanted.div_ceil(users.len());
    let mut ids = Vec::new();
    for a in 0..apps {
        let name = format!("app{a}");
        env.add_app(&name, "public", "common", None, &[]);
        for user in users {
            if ids.len() == wanted {
                break;
            }
            let (out, json) = env.connect(&name, user);
            assert!(out.status.success(), "connect {user}: {}", stderr(&out));
            ids.push(json["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn kill_9_during_storage_switches_loses_no_token() {
    let cycles = env_number("MAILCONN_STORAGE_CRASH_CYCLES", 12);
    let wanted = usize::try_from(env_number("MAILCONN_STORAGE_CRASH_CONNECTIONS", 30)).unwrap();
    let seed = env_number(
        "MAILCONN_CRASH_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            | 1,
    );
    let env = Env::new(&[]);
    let started = Instant::now();
    let ids = connect_many(&env, wanted);
    let signed_in = started.elapsed();

    let binary = env!("CARGO_BIN_EXE_mailconn");
    let mut rng = Rng(seed);
    let (mut killed, mut finished) = (0u64, 0u64);
    // How long whole switches take, to aim the kills anywhere inside one.
    let mut longest = Duration::from_millis(100);
    for to in ["sealed", "keychain"] {
        let began = Instant::now();
        json(&env, &["storage", "set", to]);
        longest = longest.max(began.elapsed());
    }
    for cycle in 0..cycles {
        let to = if rng.next().is_multiple_of(2) {
            "sealed"
        } else {
            "keychain"
        };
        let mut child = Command::new(binary)
            .arg("--data-dir")
            .arg(env.data())
            .env_remove("MAILCONN_KEYCHAIN")
            .args(["storage", "set", to])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let began = Instant::now();
        let wait = rng.next() % u64::try_from(longest.as_millis()).unwrap();
        std::thread::sleep(Duration::from_millis(wait));
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "cycle {cycle}: storage set {to} failed");
            finished += 1;
            longest = longest.max(began.elapsed());
        } else {
            let _ = child.kill();
            killed += 1;
        }
        let _ = child.wait();
        // Between kills, every connection still refreshes now and then (reads and writes
        // during an unfinished switch).
        if cycle % 5 == 4 {
            assert_eq!(refresh_failures(&env), 0, "cycle {cycle}");
        }
    }

    // Before the switch is finished every token is readable; then it is finished and again.
    let before = json(&env, &["storage"]);
    assert_eq!(refresh_failures(&env), 0, "{before}");
    let mode = before["unfinished"]
        .as_str()
        .or(before["mode"].as_str())
        .unwrap()
        .to_owned();
    json(&env, &["storage", "set", &mode]);
    let after = json(&env, &["storage"]);
    assert!(after["unfinished"].is_null(), "{after}");
    let place = if mode == "sealed" {
        "sealed"
    } else {
        "keychain"
    };
    assert_eq!(
        after[place]["refresh_tokens"].as_u64().unwrap(),
        ids.len() as u64,
        "{after}"
    );
    let other = if mode == "sealed" {
        "keychain"
    } else {
        "sealed"
    };
    assert_eq!(after[other]["refresh_tokens"], 0, "{after}");
    assert_eq!(refresh_failures(&env), 0);
    let db = store(&env);
    assert_eq!(db.quick_check().unwrap(), None);
    println!(
        "storage-crash: cycles={cycles} seed={seed} killed={killed} finished={finished} \
         connections={} final={mode} longest_switch_ms={} sign_in_s={} seconds={}",
        ids.len(),
        longest.as_millis(),
        signed_in.as_secs(),
        started.elapsed().as_secs()
    );
    keep_for_leak_scan(&env, &format!("cli-storage-crash-{seed}"));
    assert!(killed > 0, "no switch was killed");
}
