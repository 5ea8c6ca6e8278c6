//! Measures a refresh-all of many delegated connections against the test identity provider,
//! with secrets in memory (the engine's own cost, without a keychain daemon).
//!
//! ```text
//! node tests/idp/server.mjs --port 8799 &
//! IDP_BASE=http://127.0.0.1:8799 cargo run --release -p mailconn-core --example refresh_all -- seed /tmp/fleet 500
//! cargo run --release -p mailconn-core --example refresh_all -- run /tmp/fleet
//! ```
//!
//! `seed` writes the database and the secrets (`secrets.json`, test tokens only); `run` loads
//! them into a memory keychain and refreshes every connection once, printing wall and CPU time.
//! Split so a profiler (`valgrind --tool=callgrind`) sees only the refresh.

#[path = "../tests/fleet/mod.rs"]
mod fleet;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use mailconn_core::Sensitive;
use mailconn_core::keychain::{Keychain, MemoryKeychain, SecretKey, SecretKind};

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line (11 and 12 after the name).
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("seed") => seed(Path::new(&args[2]), args[3].parse().expect("a count")),
        Some("run") => run(Path::new(&args[2])),
        _ => eprintln!("usage: refresh_all seed DIR N | run DIR"),
    }
}

fn seed(dir: &Path, n: usize) {
    let base = std::env::var("IDP_BASE").expect("IDP_BASE names a running test provider");
    std::fs::create_dir_all(dir).expect("directory");
    let keychain = MemoryKeychain::new();
    let idp = mailconn_testkit::Idp::attach(&base);
    let tmp = tempfile::tempdir_in(dir).expect("temp dir");
    let f = fleet::fleet_on(idp, tmp, n, &keychain);
    let mut secrets = BTreeMap::new();
    let client = SecretKey::client_secret(&f.registration);
    let value = keychain.get(&client).unwrap().expect("client secret");
    secrets.insert(client.account(), value.expose().clone());
    for id in &f.ids {
        let key = SecretKey::refresh_token(id);
        let value = keychain.get(&key).unwrap().expect("refresh token");
        secrets.insert(key.account(), value.expose().clone());
    }
    std::fs::write(
        dir.join("secrets.json"),
        serde_json::to_string(&secrets).unwrap(),
    )
    .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = format!("{}{suffix}", f.db().display());
        let _ = std::fs::copy(&from, dir.join(format!("mailconn.sqlite3{suffix}")));
    }
    eprintln!("seeded {n} connections in {}", dir.display());
}

fn run(dir: &Path) {
    let secrets: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("secrets.json")).unwrap()).unwrap();
    let keychain = Arc::new(MemoryKeychain::new());
    for (account, value) in secrets {
        let (kind, id) = account.split_once('/').unwrap();
        let kind = match kind {
            "client-secret" => SecretKind::ClientSecret,
            _ => SecretKind::RefreshToken,
        };
        keychain
            .set(&SecretKey::new(kind, id), &Sensitive::from(value))
            .unwrap();
    }
    let store = Arc::new(mailconn_core::store::Store::open(&dir.join("mailconn.sqlite3")).unwrap());
    let engine = Arc::new(mailconn_core::engine::Engine::new(
        store,
        keychain,
        mailconn_core::http::client(),
        Arc::new(mailconn_core::clock::SystemClock),
        dir.join("locks"),
        mailconn_core::engine::Config::default(),
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (cpu, wall) = (cpu_seconds(), Instant::now());
    let reports = rt.block_on(engine.refresh_all()).expect("refresh-all runs");
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    println!(
        "connections {} failed {failed} token requests {} wall {wall:.3} s cpu {cpu:.2} s",
        reports.len(),
        engine.token_requests()
    );
}
