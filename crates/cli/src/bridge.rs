//! `mailconn bridge`: the local mail bridge in the foreground (for machines without a desktop,
//! or a systemd user unit), its local passwords and its certificate.

use clap::{Args, Subcommand};
use mailconn_core::bridge::settings::NetworkAccess;
use mailconn_core::bridge::{BridgePassword, BridgeStatus, ListenerState};
use mailconn_core::mail_servers::MailProtocol;
use mailconn_core::service::ServiceEvent;
use mailconn_core::service::bridge::PortOverrides;
use mailconn_core::{Result, Service};

use crate::exit::Exit;
use crate::output::Output;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BridgeArgs {
    #[command(subcommand)]
    command: Option<BridgeCommand>,
    #[command(flatten)]
    ports: PortArgs,
}

/// The listeners' ports (0 turns one off); named as the options are.
#[derive(Debug, Args)]
#[allow(
    clippy::struct_field_names,
    reason = "the fields are the options --imap-port ..."
)]
pub struct PortArgs {
    /// IMAP with STARTTLS (and plain login on this computer) [default: 1143; 0: off]
    #[arg(long, value_name = "P")]
    imap_port: Option<u16>,
    /// IMAP with TLS from the start [default: 1993]
    #[arg(long, value_name = "P")]
    imaps_port: Option<u16>,
    /// POP with STLS [default: 1110]
    #[arg(long, value_name = "P")]
    pop_port: Option<u16>,
    /// POP with TLS from the start [default: 1995]
    #[arg(long, value_name = "P")]
    pops_port: Option<u16>,
    /// SMTP submission with STARTTLS [default: 1587]
    #[arg(long, value_name = "P")]
    smtp_port: Option<u16>,
    /// SMTP submission with TLS from the start [default: 1465]
    #[arg(long, value_name = "P")]
    smtps_port: Option<u16>,
}

impl PortArgs {
    fn overrides(&self) -> PortOverrides {
        PortOverrides {
            imap: self.imap_port,
            imaps: self.imaps_port,
            pop: self.pop_port,
            pops: self.pops_port,
            smtp: self.smtp_port,
            smtps: self.smtps_port,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum BridgeCommand {
    /// Local passwords: one per program or device, bound to one connection
    #[command(subcommand)]
    Password(PasswordCommand),
    /// Print the bridge's TLS certificate (PEM), for programs that must trust it
    Certificate,
    /// The bridge's settings, passwords and (when this process runs it) listeners
    Status,
    /// Show the saved settings, or change them (a running bridge restarts on them)
    Settings(SettingsArgs),
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Plain login without TLS for programs on this computer (127.0.0.1 only)
    #[arg(long, value_enum, value_name = "on|off")]
    allow_plain: Option<Switch>,
    /// Also listen on this computer's office-network address, for devices (TLS required)
    #[arg(
        long,
        value_name = "ADDRESS",
        requires = "allow",
        conflicts_with = "no_network"
    )]
    network: Option<String>,
    /// A device's address or network that may connect (repeat; with --network)
    #[arg(long, value_name = "ADDRESS[/BITS]")]
    allow: Vec<String>,
    /// Stop listening on the office network
    #[arg(long)]
    no_network: bool,
    /// Sessions one program or device may have at once
    #[arg(long, value_name = "N")]
    sessions_per_program: Option<u32>,
    /// Start the bridge with the desktop app
    #[arg(long, value_enum, value_name = "on|off")]
    start_with_app: Option<Switch>,
    #[command(flatten)]
    ports: PortArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    fn on(self) -> bool {
        matches!(self, Switch::On)
    }
}

async fn settings(args: &SettingsArgs, service: &Service, out: Output) -> Result<Exit> {
    let mut s = service.bridge_settings().await?;
    let before = s.clone();
    args.ports.overrides().apply(&mut s);
    if let Some(v) = args.allow_plain {
        s.allow_plain = v.on();
    }
    if let Some(v) = args.start_with_app {
        s.start_with_app = v.on();
    }
    if let Some(n) = args.sessions_per_program {
        s.sessions_per_program = n;
    }
    if args.no_network {
        s.network = None;
    } else if let Some(address) = &args.network {
        s.network = Some(NetworkAccess {
            address: address.clone(),
            allow: args.allow.clone(),
        });
    }
    if s != before {
        service.set_bridge_settings(s.clone()).await?;
    }
    if out.json() {
        Output::print_json(&s);
        return Ok(Exit::Ok);
    }
    for protocol in MailProtocol::ALL {
        let p = s.ports(protocol);
        println!(
            "{}: STARTTLS port {}, TLS port {}",
            protocol.label(),
            p.starttls,
            p.tls
        );
    }
    println!(
        "plain login on this computer: {}",
        if s.allow_plain {
            "allowed"
        } else {
            "off (TLS required)"
        }
    );
    println!("sessions per program: {}", s.sessions_per_program);
    println!(
        "start with the app: {}",
        if s.start_with_app { "yes" } else { "no" }
    );
    match &s.network {
        None => println!("office network: off (loopback only)"),
        Some(n) => {
            println!(
                "office network: {} (TLS required), allowed: {}",
                n.address,
                n.allow.join(", ")
            );
            Output::warning(
                "Devices on the office network can reach the bridge on that address; each needs its own password.",
            );
        }
    }
    Ok(Exit::Ok)
}

#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Make a password for a program or device; it is printed once, alone on the last line
    Add {
        /// Connection id, address or alias
        connection: String,
        /// The program or device, e.g. "Office scanner"
        #[arg(long)]
        program: String,
    },
    /// List the passwords (never the passwords themselves): connection, program, last use
    List {
        /// Connection id, address or alias [default: all]
        connection: Option<String>,
    },
    /// Remove a password (by its id, or by connection and --program): it stops working at once
    Remove {
        /// The password's id, or a connection with --program
        target: String,
        #[arg(long)]
        program: Option<String>,
    },
}

pub async fn run(args: &BridgeArgs, service: &Service, out: Output) -> Result<Exit> {
    match &args.command {
        None => serve(args, service, out).await,
        Some(BridgeCommand::Password(cmd)) => password(cmd, service, out).await,
        Some(BridgeCommand::Certificate) => {
            let cert = service.bridge_certificate().await?;
            if out.json() {
                Output::print_json(&serde_json::json!({
                    "pem": cert.pem, "fingerprint": cert.fingerprint, "names": cert.names,
                }));
            } else {
                print!("{}", cert.pem);
                eprintln!("SHA-256 fingerprint: {}", cert.fingerprint);
            }
            Ok(Exit::Ok)
        }
        Some(BridgeCommand::Settings(a)) => settings(a, service, out).await,
        Some(BridgeCommand::Status) => {
            status(&service.bridge_status().await?, out);
            Ok(Exit::Ok)
        }
    }
}

async fn serve(args: &BridgeArgs, service: &Service, out: Output) -> Result<Exit> {
    let ports = args.ports.overrides();
    let mut events = service.subscribe();
    let started = service.start_bridge(ports).await?;
    status(&started, out);
    let listening = started
        .listeners
        .iter()
        .any(|l| l.state == ListenerState::Listening);
    if !listening {
        service.stop_bridge().await?;
        return Ok(Exit::Attention);
    }
    if !out.json() {
        println!("ready");
    }
    let notices = async {
        loop {
            match events.recv().await {
                Ok(ServiceEvent::Notify { title, body, .. }) => eprintln!("{title}: {body}"),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    };
    tokio::select! {
        () = service.run_engine() => {}
        () = notices => {}
        () = shutdown_signal() => {}
    }
    service.stop_bridge().await?;
    service.shutdown();
    if !out.json() {
        eprintln!("The bridge stopped.");
    }
    Ok(Exit::Ok)
}

/// Ctrl-C, or SIGTERM (systemd's stop).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn status(s: &BridgeStatus, out: Output) {
    if out.json() {
        Output::print_json(s);
        return;
    }
    for l in &s.listeners {
        match &l.state {
            ListenerState::Listening => println!(
                "listening: {} {} {}:{}",
                l.protocol.label(),
                l.security.label(),
                l.address,
                l.port
            ),
            ListenerState::Failed { message } => println!(
                "failed: {} {} {}:{}: {message}",
                l.protocol.label(),
                l.security.label(),
                l.address,
                l.port
            ),
        }
    }
    if !s.running {
        println!(
            "The bridge is not running in this process (start it with `mailconn bridge` or in the app)."
        );
    }
    if let Some(f) = &s.certificate_fingerprint {
        println!("certificate: SHA-256 {f}");
    }
    for w in &s.warnings {
        Output::warning(w);
    }
    passwords(&s.passwords, out);
}

fn passwords(list: &[BridgePassword], out: Output) {
    if out.json() {
        Output::print_json(&list);
        return;
    }
    if list.is_empty() {
        println!(
            "No bridge passwords yet: `mailconn bridge password add CONNECTION --program NAME`."
        );
        return;
    }
    for p in list {
        let used = p.last_used_at.map_or_else(
            || "never used".to_owned(),
            |at| {
                format!(
                    "last used {} from {} ({} logins)",
                    at.format("%Y-%m-%d %H:%M UTC"),
                    p.last_peer.as_deref().unwrap_or("?"),
                    p.use_count
                )
            },
        );
        println!("{}  {}  {}  {used}", p.id, p.address, p.program);
    }
}

async fn password(cmd: &PasswordCommand, service: &Service, out: Output) -> Result<Exit> {
    match cmd {
        PasswordCommand::Add {
            connection,
            program,
        } => {
            let made = service.add_bridge_password(connection, program).await?;
            if out.json() {
                Output::print_json(&serde_json::json!({
                    "entry": made.entry, "password": made.password.expose(),
                }));
                return Ok(Exit::Ok);
            }
            let settings = service.bridge_program_settings(&made.entry.id).await?;
            println!(
                "A bridge password for {} on {}.",
                made.entry.program, made.entry.address
            );
            println!("User name: {}", made.entry.address);
            for s in &settings {
                println!(
                    "{}: server {} port {} security {}",
                    s.protocol.label(),
                    s.server,
                    s.port,
                    s.security_label
                );
            }
            println!(
                "It is shown only now; `mailconn bridge password remove {}` revokes it.",
                made.entry.id
            );
            println!("{}", made.password.expose());
            Ok(Exit::Ok)
        }
        PasswordCommand::List { connection } => {
            passwords(&service.bridge_passwords(connection.as_deref()).await?, out);
            Ok(Exit::Ok)
        }
        PasswordCommand::Remove { target, program } => {
            let removed = service
                .remove_bridge_password(target, program.as_deref())
                .await?;
            out.removed(&format!(
                "the bridge password of {} on {}",
                removed.program, removed.address
            ));
            Ok(Exit::Ok)
        }
    }
}
