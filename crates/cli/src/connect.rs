//! `mailconn connect`, `list`, `disconnect`, `reconnect`: delegated connections.

use std::time::Duration;

use clap::Args;
use mailconn_core::connect::ConnectOptions;
use mailconn_core::scopes::Preset;
use mailconn_core::service::sign_in::is_account_mismatch;
use mailconn_core::{Result, Service};

use crate::exit::Exit;
use crate::output::Output;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The app registration (name or id)
    #[arg(long)]
    app: String,
    /// The account to sign in with (pre-fills the browser); a sign-in that comes back as another
    /// account is refused unless --accept-other-account is given
    #[arg(long)]
    login_hint: Option<String>,
    /// Save the sign-in even if it comes back as another account than --login-hint
    #[arg(long, requires = "login_hint")]
    accept_other_account: bool,
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

/// `mailconn reconnect`: sign in again, e.g. with other scopes; the old token stays until the
/// new sign-in succeeds.
#[derive(Debug, Args)]
pub struct ReconnectArgs {
    /// Connection id or address
    connection: String,
    #[command(flatten)]
    sign_in: SignInArgs,
}

pub async fn reconnect(args: &ReconnectArgs, service: &Service, out: Output) -> Result<Exit> {
    let options = ConnectOptions {
        preset: args.sign_in.preset,
        tenant: args.sign_in.tenant.clone(),
        reconnect: Some(args.connection.clone()),
        ..ConnectOptions::default()
    };
    sign_in(&options, &args.sign_in, false, service, out).await
}

pub async fn connect(args: &ConnectArgs, service: &Service, out: Output) -> Result<Exit> {
    let options = ConnectOptions {
        registration: args.app.clone(),
        preset: args.sign_in.preset,
        tenant: args.sign_in.tenant.clone(),
        login_hint: args.login_hint.clone(),
        prompt: None,
        reconnect: None,
    };
    sign_in(
        &options,
        &args.sign_in,
        args.accept_other_account,
        service,
        out,
    )
    .await
}

async fn sign_in(
    options: &ConnectOptions,
    args: &SignInArgs,
    accept_other_account: bool,
    service: &Service,
    out: Output,
) -> Result<Exit> {
    let attempt = if args.device_code {
        let started = service.start_device_sign_in(options).await?;
        eprintln!(
            "To sign in, open {} on any device and enter the code {}",
            started.code.verification_uri, started.code.user_code
        );
        out.device_code(&started.code);
        started.attempt
    } else {
        let started = service
            .start_browser_sign_in(options, Some(Duration::from_secs(args.timeout)))
            .await?;
        Output::open_line(&started.url);
        if !args.no_browser && open::that_detached(&started.url).is_err() {
            eprintln!("Could not open a browser: open the link above yourself.");
        }
        started.attempt
    };
    let finished = until_ctrl_c(service.finish_sign_in(&attempt), || {
        service.cancel_sign_in(&attempt);
    })
    .await;
    let connected = match finished {
        Err(e) if is_account_mismatch(&e) && accept_other_account => {
            service.confirm_sign_in(&attempt).await?
        }
        Err(e) if is_account_mismatch(&e) => {
            service.cancel_sign_in(&attempt);
            let fix = e.detail().and_then(|d| d.fix.clone()).unwrap_or_default();
            return Err(e.with_fix(format!(
                "{fix} To save it anyway, run the command again with --accept-other-account."
            )));
        }
        other => other?,
    };
    out.connection(&connected.connection, Some(connected.created));
    Ok(Exit::Ok)
}

/// Runs `work` to its end; Ctrl-C calls `cancel` (which makes `work` end early) instead of
/// killing the process mid-way.
pub async fn until_ctrl_c<T>(work: impl Future<Output = T>, cancel: impl FnOnce()) -> T {
    let mut work = std::pin::pin!(work);
    tokio::select! {
        // `work` is polled first, so it has registered itself before a Ctrl-C can cancel it.
        biased;
        done = &mut work => done,
        Ok(()) = tokio::signal::ctrl_c() => {
            cancel();
            work.await
        }
    }
}

pub async fn list(service: &Service, out: Output) -> Result<Exit> {
    out.connections(&service.connections().await?);
    Ok(Exit::Ok)
}

pub async fn remove(id: &str, service: &Service, out: Output) -> Result<Exit> {
    let c = service.disconnect(id).await?;
    out.removed(&c.address);
    Ok(Exit::Ok)
}
