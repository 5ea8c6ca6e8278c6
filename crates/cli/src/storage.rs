//! `mailconn storage`: where refresh and access tokens are kept (one keychain item per token, or
//! sealed in the database with one key in the keychain), and `storage set` to move them.

use mailconn_core::keychain::sealed::{StorageMode, StorageStatus, TokenCounts};
use mailconn_core::{Result, Service};

use crate::exit::Exit;
use crate::output::Output;

#[derive(Debug, clap::Args)]
pub struct StorageArgs {
    #[command(subcommand)]
    pub command: Option<StorageCommand>,
}

#[derive(Debug, clap::Subcommand)]
pub enum StorageCommand {
    /// Move every refresh and access token to `sealed` (one key in the keychain, tokens sealed
    /// in the database: for many connections) or back to `keychain` (one item per token, the
    /// default). Safe to interrupt: running it again finishes the move
    Set {
        #[arg(value_enum)]
        mode: ModeArg,
        /// Drop sealed tokens that cannot be opened (their key is gone from the keychain)
        /// instead of stopping; those connections need a new sign-in
        #[arg(long)]
        forget_sealed: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    Sealed,
    Keychain,
}

impl From<ModeArg> for StorageMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Sealed => StorageMode::Sealed,
            ModeArg::Keychain => StorageMode::Keychain,
        }
    }
}

fn describe(mode: StorageMode) -> &'static str {
    match mode {
        StorageMode::Keychain => "keychain (one system keychain item per token)",
        StorageMode::Sealed => {
            "sealed (one key in the system keychain; tokens sealed with it in the database)"
        }
    }
}

fn counts(c: TokenCounts) -> String {
    format!(
        "{} refresh token{}, {} access token{}",
        c.refresh_tokens,
        if c.refresh_tokens == 1 { "" } else { "s" },
        c.access_tokens,
        if c.access_tokens == 1 { "" } else { "s" }
    )
}

fn print_status(s: &StorageStatus) {
    println!("mode:               {}", describe(s.mode));
    if let Some(to) = s.unfinished {
        println!(
            "unfinished:         a switch to {} was interrupted; `mailconn storage set {}` \
             finishes it (tokens stay readable meanwhile)",
            to.as_str(),
            to.as_str()
        );
    }
    if let Some(k) = s.keychain {
        println!("in the keychain:    {}", counts(k));
    }
    println!("sealed in database: {}", counts(s.sealed));
}

pub async fn run(args: &StorageArgs, service: &Service, out: Output) -> Result<Exit> {
    match &args.command {
        None => {
            let status = service.storage(true).await?;
            if out.json() {
                Output::print_json(&status);
            } else {
                print_status(&status);
            }
        }
        Some(StorageCommand::Set {
            mode,
            forget_sealed,
        }) => {
            let done = service.set_storage((*mode).into(), *forget_sealed).await?;
            if out.json() {
                Output::print_json(&done);
            } else {
                if done.from == done.to && done.moved == TokenCounts::default() {
                    println!("Tokens are already kept in {} mode.", done.to.as_str());
                } else {
                    println!(
                        "Tokens are now kept in {} mode; moved {}.",
                        done.to.as_str(),
                        counts(done.moved)
                    );
                }
                if done.forgotten > 0 {
                    println!(
                        "Dropped {} sealed token(s) that could not be opened: sign in again to \
                         those connections (`mailconn status` lists them).",
                        done.forgotten
                    );
                }
            }
        }
    }
    Ok(Exit::Ok)
}
