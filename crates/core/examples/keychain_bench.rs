//! Keychain speed on Linux, the old way against the new: a `keyring::Entry` per call (a new
//! D-Bus connection and Diffie-Hellman session for every read and write, what Mail Connections
//! did before it held one session) against `SystemKeychain` (one session per process).
//! Both write the same items into the same keyring, so each pays the same keyring size.
//!
//! `scripts/with-keyring.sh cargo run --release -p mailconn-core --example keychain_bench -- [N]`
//! prints one JSON line per measurement (N, default 300, items per service).

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("keychain_bench compares Secret Service clients, which are Linux only");
}

#[cfg(target_os = "linux")]
fn main() {
    use std::time::Instant;

    use mailconn_core::Sensitive;
    use mailconn_core::keychain::{Keychain, SecretKey, SystemKeychain};

    let count: usize = std::env::args()
        .nth(1)
        .map_or(300, |n| n.parse().expect("N is a number"));
    let tag = std::process::id();
    let old_service = format!("mailconn-bench-old-{tag}");
    let new_service = format!("mailconn-bench-new-{tag}");
    let keys: Vec<SecretKey> = (0..count)
        .map(|i| SecretKey::refresh_token(&format!("bench-{i}")))
        .collect();
    let entries: Vec<keyring::Entry> = keys
        .iter()
        .map(|k| keyring::Entry::new(&old_service, &k.account()).unwrap())
        .collect();
    let store = SystemKeychain::with_service(&new_service);

    let report = |what: &str, path: &str, start: Instant| {
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        #[allow(clippy::cast_precision_loss)]
        let per = ms / count as f64;
        println!(
            "{}",
            serde_json::json!({"op": what, "path": path, "n": count, "ms": ms, "per_op_ms": per})
        );
    };

    let start = Instant::now();
    for e in &entries {
        e.set_password("initial").unwrap();
    }
    report("create", "entry-per-call", start);
    let start = Instant::now();
    for k in &keys {
        store.set(k, &Sensitive::from("initial")).unwrap();
    }
    report("create", "held-session", start);

    let start = Instant::now();
    for (i, e) in entries.iter().enumerate() {
        e.set_password(&format!("rotated-{i}")).unwrap();
    }
    report("replace", "entry-per-call", start);
    let start = Instant::now();
    for (i, k) in keys.iter().enumerate() {
        store
            .set(k, &Sensitive::new(format!("rotated-{i}")))
            .unwrap();
    }
    report("replace", "held-session", start);

    let start = Instant::now();
    for e in &entries {
        assert!(e.get_password().unwrap().starts_with("rotated-"));
    }
    report("read", "entry-per-call", start);
    let start = Instant::now();
    for k in &keys {
        assert!(store.get(k).unwrap().is_some());
    }
    report("read", "held-session", start);
    let start = Instant::now();
    let all = store.get_many(&keys).unwrap();
    assert!(all.iter().all(Option::is_some));
    report("read", "held-session get_many", start);

    let start = Instant::now();
    for e in &entries {
        e.delete_credential().unwrap();
    }
    report("delete", "entry-per-call", start);
    let start = Instant::now();
    for k in &keys {
        store.delete(k).unwrap();
    }
    report("delete", "held-session", start);
}
