//! `mailconn`: the command line over `mailconn-core`, for scripts, monitoring and mail programs.

#![forbid(unsafe_code)]

mod app;
mod bridge;
mod client_secret;
mod connect;
mod create_app;
mod exit;
mod explain;
mod health;
mod mailbox;
mod output;
mod settings;
mod storage;
mod tokens;
mod transfer;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory as _, Parser, Subcommand};
use mailconn_core::keychain::{self, Keychain};
use mailconn_core::paths::{DATA_DIR_ENV, DataDir, resolve_data_dir};
use mailconn_core::{Error, Service, doctor};

use crate::exit::Exit;
use crate::output::Output;

/// Mail Connections: Microsoft 365 and Outlook.com mailbox connections with your own Entra app.
#[derive(Debug, Parser)]
#[command(name = "mailconn", version, about, after_help = exit::EXIT_CODES_HELP)]
struct Cli {
    /// Where the database and logs live [default: the platform's data directory]
    #[arg(long, global = true, env = DATA_DIR_ENV, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    json: bool,

    /// Where secrets are kept: the OS keychain; an encrypted file (opt-in, passphrase in
    /// `MAILCONN_KEYCHAIN_PASSPHRASE`); or memory (debug builds and tests; nothing persists)
    #[arg(long, global = true, value_enum, default_value_t = KeychainArg::System, env = "MAILCONN_KEYCHAIN", hide = true)]
    keychain: KeychainArg,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum KeychainArg {
    System,
    File,
    Memory,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the data directory, the database and the keychain, and say how to fix what is wrong
    Doctor,
    /// Print where the data directory is
    Paths,
    /// Version, licence, platform, where the data and logs are, and links
    About,
    /// Manage Microsoft app registrations (your own Entra apps)
    #[command(subcommand)]
    App(app::AppCommand),
    /// Connect a mailbox by signing in (browser with a loopback redirect, or a device code)
    Connect(connect::ConnectArgs),
    /// Sign in again to a connection, e.g. to change its scopes (`--preset`)
    Reconnect(connect::ReconnectArgs),
    /// Organisation and shared mailboxes through application access (no sign-in)
    #[command(subcommand)]
    Mailbox(mailbox::MailboxCommand),
    /// List connections
    List,
    /// Remove a connection and its refresh token
    Disconnect {
        /// Connection id or address
        connection: String,
    },
    /// How connections stand: state and reason, last and next refresh, expiry, inactivity limit
    /// (exit code 1 when one needs attention)
    Status {
        /// Connection id or address [default: all]
        connection: Option<String>,
    },
    /// Refresh a connection's token now (or every connection with --all)
    Refresh {
        /// Connection id or address
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        connection: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Prove a connection works: Microsoft Graph (profile, newest message, calendar, a test
    /// message with --send-test) and IMAP/POP/SMTP logins, as its permissions allow (recorded in
    /// its history; exit code non-zero when a step failed)
    Verify {
        /// Connection id or address
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        connection: Option<String>,
        /// Every connection
        #[arg(long)]
        all: bool,
        /// Also send a test message to the mailbox itself (needs Mail.Send)
        #[arg(long)]
        send_test: bool,
    },
    /// A connection's history: connected, refreshed, failed (with AADSTS and support IDs), ...
    History {
        /// Connection id or address
        connection: String,
        /// How many entries, newest first
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// What a Microsoft error (AADSTS code) means, its likely cause and its fix; give the code or
    /// paste Microsoft's whole error text or JSON
    Explain(explain::ExplainArgs),
    /// Client secrets that expire soon, have expired or are refused, soonest first (exit code 1
    /// when one expires within 7 days)
    Reminders {
        /// Reminder thresholds in days [default: 30,14,7,1, or `MAILCONN_REMINDER_DAYS`]
        #[arg(long, value_name = "DAYS")]
        days: Option<String>,
    },
    /// Print an access token for a mail program or script, and nothing else (--json: token,
    /// expiry, scopes); refreshed first when it is about to expire. Never opens a browser: a
    /// connection that needs sign-in exits with code 6 and the command that fixes it; one not
    /// open to programs with code 9
    Token(tokens::TokenArgs),
    /// Print the SASL XOAUTH2 initial response (base64 of `user=ADDRESS^Aauth=Bearer TOKEN^A^A`)
    /// for IMAP `AUTHENTICATE XOAUTH2` or SMTP `AUTH XOAUTH2`; exit codes as for `token`
    Xoauth2(tokens::SaslArgs),
    /// Print the SASL OAUTHBEARER initial response (RFC 7628, base64); exit codes as for `token`
    Oauthbearer(tokens::BearerArgs),
    /// Give a connection a short name to use wherever an id or address goes, or clear it
    Alias {
        /// Connection id, address or alias
        connection: String,
        /// The alias: letters, digits, '-', '_' or '.', starting with a letter, at most 32
        #[arg(required_unless_present = "clear")]
        name: Option<String>,
        /// Remove the connection's alias
        #[arg(long, conflicts_with = "name")]
        clear: bool,
    },
    /// Whether programs may fetch a connection's tokens (`token`, `xoauth2`, `oauthbearer`):
    /// show it, allow or deny it (on by default only for the mail-programs preset)
    Programs {
        /// Connection id, address or alias
        connection: String,
        #[arg(value_enum)]
        choice: Option<tokens::Choice>,
    },
    /// Settings for a mail program (thunderbird, neomutt, aerc, msmtp, mbsync, offlineimap,
    /// fetchmail, script): the connection's servers and the `mailconn token` command lines. With a
    /// program, only its text goes to stdout (`mailconn use work msmtp > ~/.msmtprc`) and what to
    /// know first to stderr; without one, every program's
    Use {
        /// Connection id, address or alias
        connection: String,
        /// The program [default: all of them]
        program: Option<String>,
    },
    /// Where refresh and access tokens are kept (`storage`: the mode and how many tokens are
    /// where; `storage set sealed|keychain`: move them all)
    Storage(storage::StorageArgs),
    /// The app's settings with where each value comes from (default, saved, environment);
    /// `settings get KEY`, `settings set KEY VALUE`, `settings reset KEY`
    Settings(settings::SettingsArgs),
    /// Run the local mail bridge in the foreground: IMAP, POP and SMTP on 127.0.0.1 for
    /// programs and devices that only know a password (each gets its own: `bridge password
    /// add`); it logs in to Microsoft with XOAUTH2 for them and keeps their tokens refreshed
    Bridge(bridge::BridgeArgs),
    /// Print shell completions for bash, zsh, fish, elvish or powershell to stdout
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout, e.g. `mailconn man | man -l -`, or write one
    /// page per command into a directory (packaging)
    Man {
        /// Write mailconn.1 and a mailconn-COMMAND.1 for every command here
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Generated from the command definition: no data directory or keychain needed.
    let generated = match &cli.command {
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "mailconn", &mut text);
            Some(Ok(text))
        }
        Command::Man { dir: Some(dir) } => {
            Some(clap_mangen::generate_to(Cli::command(), dir).map(|()| Vec::new()))
        }
        Command::Man { dir: None } => {
            let mut text = Vec::new();
            Some(
                clap_mangen::Man::new(Cli::command())
                    .render(&mut text)
                    .map(|()| text),
            )
        }
        _ => None,
    };
    if let Some(text) = generated {
        let written = text.and_then(|t| {
            let mut stdout = std::io::stdout();
            std::io::Write::write_all(&mut stdout, &t)
                .and_then(|()| std::io::Write::flush(&mut stdout))
        });
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            // A reader that stops early (`| head`) is no failure.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write the output: {e}");
                Exit::Internal.into()
            }
        };
    }
    let out = Output::new(cli.json);
    match run(&cli, out) {
        Ok(exit) => exit.into(),
        Err(e) => {
            out.error(&e);
            Exit::from_error(&e).into()
        }
    }
}

fn run(cli: &Cli, out: Output) -> Result<Exit, Error> {
    // Needs no data directory, keychain or network.
    if let Command::Explain(args) = &cli.command {
        return explain::run(args, out);
    }
    let data_dir = resolve_data_dir(cli.data_dir.as_deref())?;
    // Logging must not stand in the way of `doctor` diagnosing an unusable data directory.
    let _log_guard = DataDir::open(&data_dir)
        .ok()
        .and_then(|dir| mailconn_core::logging::init(Some(&dir.logs()), "warn").ok());
    let keychain = select_keychain(cli.keychain, &data_dir)?;
    match &cli.command {
        // Without a service: the data directory may be what is broken.
        Command::Doctor => {
            let report = doctor::run(&data_dir, keychain.as_ref());
            out.doctor(&report);
            Ok(if report.healthy() {
                Exit::Ok
            } else {
                Exit::Attention
            })
        }
        Command::Paths => {
            out.paths(&data_dir);
            Ok(Exit::Ok)
        }
        command => {
            let service = open_service(&data_dir, keychain)?;
            runtime()?.block_on(dispatch(command, &service, out))
        }
    }
}

async fn dispatch(command: &Command, service: &Service, out: Output) -> Result<Exit, Error> {
    match command {
        Command::Doctor
        | Command::Paths
        | Command::Explain(_)
        | Command::Completions { .. }
        | Command::Man { .. } => Err(Error::internal("run without a service")),
        Command::App(app::AppCommand::Secrets(cmd)) => client_secret::run(cmd, service, out).await,
        Command::App(cmd) => app::run(cmd, service, out).await,
        Command::Connect(args) => connect::connect(args, service, out).await,
        Command::Reconnect(args) => connect::reconnect(args, service, out).await,
        Command::Mailbox(cmd) => mailbox::run(cmd, service, out).await,
        Command::List => connect::list(service, out).await,
        Command::Disconnect { connection } => connect::remove(connection, service, out).await,
        Command::About => {
            health::about(&service.about(), out);
            Ok(Exit::Ok)
        }
        Command::Status { connection } => health::status(connection.as_deref(), service, out).await,
        Command::Refresh { connection, all } => {
            health::refresh(connection.as_deref(), *all, service, out).await
        }
        Command::Verify {
            connection,
            all,
            send_test,
        } => health::verify(connection.as_deref(), *all, *send_test, service, out).await,
        Command::History { connection, limit } => {
            health::history(connection, *limit, service, out).await
        }
        Command::Reminders { days } => {
            client_secret::reminders(days.as_deref(), service, out).await
        }
        Command::Token(args) => tokens::token(args, service, out).await,
        Command::Bridge(args) => bridge::run(args, service, out).await,
        Command::Storage(args) => storage::run(args, service, out).await,
        Command::Settings(args) => settings::run(args, service, out).await,
        Command::Xoauth2(args) => tokens::xoauth2(args, service, out).await,
        Command::Oauthbearer(args) => tokens::oauthbearer(args, service, out).await,
        Command::Alias {
            connection,
            name,
            clear,
        } => {
            let name = if *clear { None } else { name.as_deref() };
            tokens::alias(connection, name, service, out).await
        }
        Command::Use {
            connection,
            program,
        } => tokens::mail_settings(connection, program.as_deref(), service, out).await,
        Command::Programs { connection, choice } => {
            tokens::programs(connection, *choice, service, out).await
        }
    }
}

/// The secret store asked for; a store other than the system keychain is announced on stderr.
fn select_keychain(choice: KeychainArg, data_dir: &Path) -> Result<Arc<dyn Keychain>, Error> {
    let name = match choice {
        KeychainArg::System => "system",
        KeychainArg::File => "file",
        KeychainArg::Memory => "memory",
    };
    let passphrase = std::env::var(keychain::PASSPHRASE_ENV)
        .ok()
        .map(mailconn_core::Sensitive::new);
    let for_tests = std::env::var(keychain::MEMORY_FOR_TESTS_ENV).is_ok_and(|v| v == "1");
    let selected = keychain::select(
        name,
        &data_dir.join(keychain::FileKeychain::FILE_NAME),
        passphrase,
        for_tests,
    )?;
    if let Some(warning) = &selected.warning {
        eprintln!("mailconn: {warning}");
    }
    Ok(selected.keychain)
}

/// The one service of this run, over the data directory (opened and migrated).
fn open_service(data_dir: &Path, keychain: Arc<dyn Keychain>) -> Result<Service, Error> {
    let service = Service::open(DataDir::open(data_dir)?, keychain)?;
    service.apply_log_level();
    Ok(service)
}

/// The service's methods are async; blocking work runs on tokio's blocking threads.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(e.to_string()))
}
