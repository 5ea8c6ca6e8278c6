//! The benchmark's raw Secret Service client: what the keychain itself allows, over ONE
//! connection and Diffie-Hellman session, with Mail Connections' item layout (attributes
//! `service`, `username`, `target` = `default`, `application` = `rust-keyring`; the label keyring
//! gives its items). Independent of mailconn-core.
//!
//! - `ss-bench replace --service S --count N [--prefix P] [--bytes B]`: creates N items (accounts
//!   `P{i}`, by default `refresh-token/bench-{i}`), then times N replacements with new values of
//!   B bytes (default 700, about a refresh token and an access token's mean size) and
//!   prints `{"writes":N,"ms":X,"per_write_ms":Y}`. Replacements are `CreateItem` with
//!   `replace` = true; with `--set-secret` they are `SetSecret` on the items found before the clock
//!   starts (what Mail Connections does to an existing item, after its search).
//! - `ss-bench seed --service S`: writes every `account<TAB>value` line of standard input and
//!   prints `{"written":N,"ms":X}`.
//! - `ss-bench clear --service S`: removes every item of the service, prints `{"removed":N,"ms":X}`.

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("ss-bench talks to the Secret Service, which is Linux only");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
fn main() {
    if let Err(e) = linux::run() {
        eprintln!("ss-bench: {e}");
        std::process::exit(1);
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;
    use std::io::BufRead as _;
    use std::time::Instant;

    use clap::{Parser, Subcommand};
    use dbus_secret_service::{Collection, EncryptionType, Item, SecretService};

    #[derive(Parser)]
    #[command(about = "Raw Secret Service writes over one session (the benchmark's reference)")]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Create N items, then time N replacements.
        Replace {
            #[arg(long)]
            service: String,
            #[arg(long)]
            count: usize,
            #[arg(long, default_value = "refresh-token/bench-")]
            prefix: String,
            /// The size of each new value, in bytes.
            #[arg(long, default_value_t = 700)]
            bytes: usize,
            /// Replace with `SetSecret` on the existing items instead of `CreateItem(replace)`.
            #[arg(long)]
            set_secret: bool,
        },
        /// Write `account<TAB>value` lines from standard input.
        Seed {
            #[arg(long)]
            service: String,
        },
        /// Remove every item of the service.
        Clear {
            #[arg(long)]
            service: String,
        },
    }

    type Failure = Box<dyn std::error::Error>;

    pub fn run() -> Result<(), Failure> {
        let cli = Cli::parse();
        let ss = SecretService::connect(EncryptionType::Dh)?;
        match cli.command {
            Command::Replace {
                service,
                count,
                prefix,
                bytes,
                set_secret,
            } => {
                let collection = default_collection(&ss)?;
                let mut items = Vec::with_capacity(count);
                for i in 0..count {
                    let account = format!("{prefix}{i}");
                    items.push(write(&collection, &service, &account, "bench-initial")?);
                }
                let start = Instant::now();
                for (i, item) in items.iter().enumerate() {
                    let stamp = format!("{i:08}-{}-", start.elapsed().as_nanos());
                    let value: String = stamp.chars().cycle().take(bytes.max(1)).collect();
                    if set_secret {
                        item.set_secret(value.as_bytes(), "text/plain")?;
                    } else {
                        write(&collection, &service, &format!("{prefix}{i}"), &value)?;
                    }
                }
                let ms = millis(start);
                #[allow(clippy::cast_precision_loss)]
                let per_write = if count == 0 { 0.0 } else { ms / count as f64 };
                println!(
                    "{}",
                    serde_json::json!({"writes": count, "ms": ms, "per_write_ms": per_write})
                );
            }
            Command::Seed { service } => {
                let collection = default_collection(&ss)?;
                let start = Instant::now();
                let mut written = 0usize;
                for (n, line) in std::io::stdin().lock().lines().enumerate() {
                    let line = line?;
                    if line.is_empty() {
                        continue;
                    }
                    let Some((account, value)) = line.split_once('\t') else {
                        return Err(format!(
                            "line {}: expected `account<TAB>value`; {written} items were written",
                            n + 1
                        )
                        .into());
                    };
                    write(&collection, &service, account, value)?;
                    written += 1;
                }
                println!(
                    "{}",
                    serde_json::json!({"written": written, "ms": millis(start)})
                );
            }
            Command::Clear { service } => {
                let start = Instant::now();
                let found = ss.search_items(HashMap::from([("service", service.as_str())]))?;
                let mut removed = 0usize;
                for item in found.unlocked.iter().chain(found.locked.iter()) {
                    item.delete()?;
                    removed += 1;
                }
                println!(
                    "{}",
                    serde_json::json!({"removed": removed, "ms": millis(start)})
                );
            }
        }
        Ok(())
    }

    fn default_collection(ss: &SecretService) -> Result<Collection<'_>, Failure> {
        let collection = ss.get_default_collection()?;
        if collection.is_locked()? {
            collection.unlock()?;
        }
        Ok(collection)
    }

    /// One item write: create, or replace the item with the same attributes.
    fn write<'a>(
        collection: &'a Collection<'_>,
        service: &str,
        account: &str,
        value: &str,
    ) -> Result<Item<'a>, Failure> {
        let attributes = HashMap::from([
            ("service", service),
            ("username", account),
            ("target", "default"),
            ("application", "rust-keyring"),
        ]);
        Ok(collection.create_item(
            &format!("{account}@{service}:default (keyring v3.6.3)"),
            attributes,
            value.as_bytes(),
            true,
            "text/plain",
        )?)
    }

    fn millis(start: Instant) -> f64 {
        start.elapsed().as_secs_f64() * 1000.0
    }
}
