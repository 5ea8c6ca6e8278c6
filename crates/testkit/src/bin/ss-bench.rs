//! A raw Secret Service client for the keychain benchmark (`scripts/bench.py`): item writes over
//! ONE D-Bus connection and ONE encrypted session (the Diffie-Hellman exchange keyring uses),
//! into the default collection, with the attributes and label keyring 3.6 gives its items, so
//! the app finds what `seed` writes. Each write is one `CreateItem` with `replace` set.
//!
//! ```text
//! ss-bench replace --service S --count N [--prefix P] [--bytes B] [--set-secret]
//!     creates N items (accounts P0 .. P{N-1}, P = refresh-token/bench-) before the clock
//!     starts, then times N replacements of B bytes (default 700): `CreateItem` with `replace`,
//!     or with --set-secret `SetSecret` on the items created
//! ss-bench seed --service S
//!     one write per `account<TAB>value` line on standard input
//! ```
//!
//! Prints one JSON line: `{"writes":N,"ms":X,"per_write_ms":Y}` (the session set-up excluded;
//! `connect_ms` says what it took).

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("ss-bench measures the Secret Service, which is Linux's keychain");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;
    use std::io::BufRead as _;
    use std::time::Instant;

    use dbus_secret_service::{EncryptionType, SecretService};

    const USAGE: &str = "usage: ss-bench replace --service S --count N [--prefix P] [--bytes B] [--set-secret] | ss-bench seed --service S";

    fn fail(message: &str) -> ! {
        eprintln!("ss-bench: {message}\n{USAGE}");
        std::process::exit(2);
    }

    fn number(name: &str, value: Option<&String>) -> usize {
        value
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| fail(&format!("{name} takes a number")))
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let Some(command) = args.first().cloned() else {
            fail("name a command")
        };
        let mut service = None;
        let (mut count, mut bytes, mut set_secret) = (None, 700, false);
        let mut prefix = "refresh-token/bench-".to_owned();
        let mut rest = args[1..].iter();
        while let Some(a) = rest.next() {
            match a.as_str() {
                "--service" => service = rest.next().cloned(),
                "--count" => count = Some(number("--count", rest.next())),
                "--prefix" => {
                    prefix = rest
                        .next()
                        .cloned()
                        .unwrap_or_else(|| fail("--prefix takes a value"));
                }
                "--set-secret" => set_secret = true,
                "--bytes" => bytes = number("--bytes", rest.next()),
                other => fail(&format!("unknown argument {other}")),
            }
        }
        let service = service.unwrap_or_else(|| fail("--service is required"));
        let replace = command == "replace";
        let writes: Vec<(String, String)> = match command.as_str() {
            "replace" => {
                let count = count.unwrap_or_else(|| fail("--count is required"));
                (0..count)
                    .map(|i| {
                        let value: String =
                            format!("{i:08}-").chars().cycle().take(bytes).collect();
                        (format!("{prefix}{i}"), value)
                    })
                    .collect()
            }
            "seed" => std::io::stdin()
                .lock()
                .lines()
                .map(|l| l.unwrap_or_else(|e| fail(&format!("standard input: {e}"))))
                .filter(|l| !l.is_empty())
                .map(|l| match l.split_once('\t') {
                    Some((a, v)) => (a.to_owned(), v.to_owned()),
                    None => fail("seed reads account<TAB>value lines"),
                })
                .collect(),
            other => fail(&format!("unknown command {other}")),
        };

        let start = Instant::now();
        let ss = SecretService::connect(EncryptionType::Dh)
            .unwrap_or_else(|e| fail(&format!("no Secret Service: {e}")));
        let collection = ss
            .get_default_collection()
            .unwrap_or_else(|e| fail(&format!("no default collection: {e}")));
        if collection.is_locked().unwrap_or(true) {
            fail("the default collection is locked");
        }
        let connect_ms = start.elapsed().as_secs_f64() * 1000.0;
        let write = |account: &str, value: &[u8]| {
            let label = format!("{account}@{service}:default (keyring v3.6.3)");
            let attributes = HashMap::from([
                ("service", service.as_str()),
                ("username", account),
                ("target", "default"),
                ("application", "rust-keyring"),
            ]);
            collection
                .create_item(&label, attributes, value, true, "text/plain")
                .unwrap_or_else(|e| fail(&format!("write of {account}: {e}")))
        };
        // `replace`: the items exist before the clock starts, so every timed write replaces one.
        let items: Vec<_> = if replace {
            writes.iter().map(|(a, _)| write(a, b"-")).collect()
        } else {
            Vec::new()
        };
        let start = Instant::now();
        for (i, (account, value)) in writes.iter().enumerate() {
            if set_secret {
                items[i]
                    .set_secret(value.as_bytes(), "text/plain")
                    .unwrap_or_else(|e| fail(&format!("write of {account}: {e}")));
            } else {
                write(account, value.as_bytes());
            }
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let n = writes.len();
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let per_write_ms = if n == 0 { 0.0 } else { ms / n as f64 };
        println!(
            "{{\"writes\":{n},\"ms\":{ms:.1},\"per_write_ms\":{per_write_ms:.3},\"connect_ms\":{connect_ms:.1}}}"
        );
    }
}
