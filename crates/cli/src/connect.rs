//! `mailconn connect`, `list`, `disconnect`, `reconnect`: delegated connections.

use std::time::Duration;

use clap::Args;
use mailconn_core::connect::{ConnectOptions, begin_device, complete_device, finish, prepare};
use mailconn_core::connection::disconnect;
use mailconn_core::flow::auth_code;
use mailconn_core::keychain::Keychain;
use mailconn_core::scopes::Preset;
use mailconn_core::store::Store;
use mailconn_core::{Error, Result};
use tokio_util::sync::CancellationToken;

use crate::exit::Exit;
use crate::output::Output;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The app registration (name or id)
    #[arg(long)]
    app: String,
    /// The account to sign in with (pre-fills the browser)
    #[arg(long)]
    login_hint: Option<String>,
    #[command(flatten)]
    sign_in: SignInArgs,
}

/// Options shared by `connect` and `reconnect`.
#[derive(Debug, Args)]
pub struct SignInArgs {
    /// What the connection may do: read, send, full, full-calendar, mail-programs [default: the app's]
    #[arg(long, value_parser = parse_preset)]
    preset: Option<Preset>,
    /// Sign in to another tenant than the app's (common, organizations, consumers, an ID or domain)
    #[arg(long)]
    tenant: Option<String>,
    /// Do not open a browser: print the link on a line starting `open: ` and wait
    #[arg(long)]
    no_browser: bool,
    /// Sign in on another device with a code (public apps only)
    #[arg(long, conflicts_with = "no_browser")]
    device_code: bool,
    /// Seconds to wait for the browser
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

pub fn parse_preset(s: &str) -> Result<Preset, String> {
    Preset::parse(s).ok_or_else(|| {
        format!("unknown preset '{s}' (read, send, full, full-calendar, mail-programs)")
    })
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(e.to_string()))
}

/// Ctrl-C cancels the wait instead of killing the process mid-way.
pub fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            token.cancel();
        }
    });
    cancel
}

/// `mailconn reconnect`: sign in again, e.g. with other scopes; the old token stays until the
/// new sign-in succeeds.
#[derive(Debug, Args)]
pub struct ReconnectArgs {
    /// Connection id or address
    connection: String,
    #[command(flatten)]
    sign_in: SignInArgs,
}

pub fn reconnect(
    args: &ReconnectArgs,
    store: &Store,
    secrets: &dyn Keychain,
    out: Output,
) -> Result<Exit> {
    let options = ConnectOptions {
        preset: args.sign_in.preset,
        tenant: args.sign_in.tenant.clone(),
        reconnect: Some(args.connection.clone()),
        ..ConnectOptions::default()
    };
    sign_in(&options, &args.sign_in, store, secrets, out)
}

pub fn connect(
    args: &ConnectArgs,
    store: &Store,
    secrets: &dyn Keychain,
    out: Output,
) -> Result<Exit> {
    let options = ConnectOptions {
        registration: args.app.clone(),
        preset: args.sign_in.preset,
        tenant: args.sign_in.tenant.clone(),
        login_hint: args.login_hint.clone(),
        prompt: None,
        reconnect: None,
    };
    sign_in(&options, &args.sign_in, store, secrets, out)
}

fn sign_in(
    options: &ConnectOptions,
    args: &SignInArgs,
    store: &Store,
    secrets: &dyn Keychain,
    out: Output,
) -> Result<Exit> {
    let prepared = prepare(store, secrets, options)?;
    let http = mailconn_core::http::client();
    let (tokens, identity) = runtime()?.block_on(async {
        let cancel = cancel_on_ctrl_c();
        if args.device_code {
            let pending = begin_device(&prepared, &http).await?;
            eprintln!(
                "To sign in, open {} on any device and enter the code {}",
                pending.code.verification_uri, pending.code.user_code
            );
            out.device_code(&pending.code);
            complete_device(pending, &prepared, &http, &cancel).await
        } else {
            let pending = auth_code::begin(prepared.sign_in.clone(), None).await?;
            Output::open_line(pending.url());
            if !args.no_browser && open::that_detached(pending.url()).is_err() {
                eprintln!("Could not open a browser: open the link above yourself.");
            }
            pending
                .complete(&http, Duration::from_secs(args.timeout), &cancel)
                .await
        }
    })?;
    let (connection, created) = finish(store, secrets, &prepared, &tokens, &identity)?;
    out.connection(&connection, Some(created));
    Ok(Exit::Ok)
}

pub fn list(store: &Store, out: Output) -> Result<Exit> {
    out.connections(&store.list_connections()?);
    Ok(Exit::Ok)
}

pub fn remove(id: &str, store: &Store, secrets: &dyn Keychain, out: Output) -> Result<Exit> {
    let c = disconnect(store, secrets, id)?;
    out.removed(&c.address);
    Ok(Exit::Ok)
}
