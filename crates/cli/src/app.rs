//! `mailconn app ...`: manage app registrations.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use mailconn_core::cloud::CloudId;
use mailconn_core::registration::{Audience, ClientKind, RegistrationInput, Usage};
use mailconn_core::scopes::Preset;
use mailconn_core::service::registrations;
use mailconn_core::{Error, Result, Service};

use crate::exit::Exit;
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Add an app registration (the secret is read from standard input, never from arguments)
    Add(AddArgs),
    /// Create the app registration in Entra for you: an administrator signs in once (Microsoft
    /// Graph Command Line Tools), and the app is created, saved and tested
    Create(crate::create_app::CreateArgs),
    /// List app registrations
    List,
    /// Show one app registration
    Show { app: String },
    /// Test a registration against its identity provider (tenant, client ID, secret)
    Test { app: String },
    /// Print what to create in the portal: an `az` script or a manifest fragment
    Export {
        app: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Az)]
        format: ExportFormat,
    },
    /// Print the admin consent link for the registration's tenant
    ConsentUrl { app: String },
    /// Remove an app registration and its secret
    Remove {
        app: String,
        /// Also remove the connections that use it
        #[arg(long)]
        cascade: bool,
    },
    /// Write app registrations without their secrets as JSON, to stdout or a file, for
    /// `import-registrations` elsewhere [default: every app]
    ExportRegistrations {
        /// Only these apps (id or name)
        apps: Vec<String>,
        /// Write to this file instead of stdout
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Replace the file if it exists
        #[arg(long, requires = "file")]
        replace: bool,
    },
    /// Add app registrations from an export file or a `mailconn://import?...` link: shows
    /// everything first, saves only what is new and only after a yes
    ImportRegistrations {
        /// The file, or the link (quote it)
        #[arg(value_name = "FILE|LINK")]
        source: String,
        /// Save without asking
        #[arg(long)]
        yes: bool,
    },
    /// Print the `mailconn://import?...` link of an app, to send to colleagues (no secret in it)
    ImportLink { app: String },
    #[command(flatten)]
    Secrets(crate::client_secret::SecretCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Az,
    Manifest,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CloudArg {
    Global,
    GccHigh,
    Dod,
    China,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AudienceArg {
    /// Accounts in your organisation only
    MyOrg,
    /// Accounts in any organisation
    AnyOrg,
    /// Any organisation and personal Microsoft accounts
    AnyOrgPersonal,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UsageArg {
    Delegated,
    Application,
    Both,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// A name to recognise the app by
    #[arg(long)]
    name: String,
    /// Application (client) ID
    #[arg(long)]
    client_id: String,
    /// Directory (tenant) ID, a domain, or common / organizations / consumers
    #[arg(long)]
    tenant: String,
    #[arg(long, value_enum, conflicts_with_all = ["authority_url", "graph_url"])]
    cloud: Option<CloudArg>,
    /// Custom cloud: the identity provider's base URL
    #[arg(long, requires = "graph_url")]
    authority_url: Option<String>,
    /// Custom cloud: Microsoft Graph's base URL
    #[arg(long, requires = "authority_url")]
    graph_url: Option<String>,
    /// IMAP server as HOST:PORT (TLS; `plain://HOST:PORT` only to loopback) [default: Microsoft's
    /// for the cloud; needed for custom and national clouds]
    #[arg(long, value_name = "HOST:PORT")]
    imap_server: Option<String>,
    /// POP server as HOST:PORT (TLS; `plain://` only to loopback)
    #[arg(long, value_name = "HOST:PORT")]
    pop_server: Option<String>,
    /// SMTP submission server as HOST:PORT (STARTTLS, TLS on 465; `plain://` only to loopback)
    #[arg(long, value_name = "HOST:PORT")]
    smtp_server: Option<String>,
    /// A public client (Mobile and desktop platform, no secret)
    #[arg(long, conflicts_with_all = ["secret_stdin", "secret_expires"])]
    public: bool,
    /// Read the client secret's Value from standard input
    #[arg(long)]
    secret_stdin: bool,
    /// When the secret expires (YYYY-MM-DD)
    #[arg(long, value_name = "YYYY-MM-DD")]
    secret_expires: Option<NaiveDate>,
    #[arg(long)]
    secret_label: Option<String>,
    #[arg(long, value_enum, default_value_t = UsageArg::Delegated)]
    usage: UsageArg,
    #[arg(long, value_enum, default_value_t = AudienceArg::AnyOrgPersonal)]
    audience: AudienceArg,
    /// Scope preset for sign-ins: read, send, full, full-calendar, mail-programs
    #[arg(long, default_value = "full", value_parser = parse_preset)]
    preset: Preset,
    /// The redirect URI registered for the app [default: <http://localhost> for public apps]
    #[arg(long)]
    redirect_uri: Option<String>,
}

pub fn parse_preset(s: &str) -> Result<Preset, String> {
    Preset::parse(s).ok_or_else(|| format!("unknown preset '{s}'"))
}

impl AddArgs {
    fn input(&self) -> Result<RegistrationInput> {
        let secret = if self.secret_stdin {
            Some(crate::client_secret::read_secret()?)
        } else {
            None
        };
        let custom = self.authority_url.is_some();
        Ok(RegistrationInput {
            name: self.name.clone(),
            client_id: self.client_id.clone(),
            kind: if self.public {
                ClientKind::Public
            } else {
                ClientKind::Confidential
            },
            tenant: self.tenant.clone(),
            cloud: match (custom, self.cloud) {
                (true, _) => CloudId::Custom,
                (false, None | Some(CloudArg::Global)) => CloudId::Global,
                (false, Some(CloudArg::GccHigh)) => CloudId::GccHigh,
                (false, Some(CloudArg::Dod)) => CloudId::Dod,
                (false, Some(CloudArg::China)) => CloudId::China,
            },
            authority_url: self.authority_url.clone(),
            graph_url: self.graph_url.clone(),
            imap_server: self.imap_server.clone(),
            pop_server: self.pop_server.clone(),
            smtp_server: self.smtp_server.clone(),
            usage: match self.usage {
                UsageArg::Delegated => Usage::Delegated,
                UsageArg::Application => Usage::Application,
                UsageArg::Both => Usage::Both,
            },
            audience: match self.audience {
                AudienceArg::MyOrg => Audience::MyOrganization,
                AudienceArg::AnyOrg => Audience::AnyOrganization,
                AudienceArg::AnyOrgPersonal => Audience::AnyOrganizationAndPersonal,
            },
            preset: self.preset,
            redirect_uri: self.redirect_uri.clone(),
            secret,
            secret_expires: self.secret_expires,
            secret_label: self.secret_label.clone(),
        })
    }
}

pub async fn run(cmd: &AppCommand, service: &Service, out: Output) -> Result<Exit> {
    match cmd {
        AppCommand::Add(args) => {
            let saved = service.add_registration(args.input()?).await?;
            for w in &saved.warnings.warnings {
                Output::warning(&format!("{}: {}", w.field, w.message));
            }
            out.registration(&saved.registration);
        }
        AppCommand::Create(args) => return crate::create_app::run(args, service, out).await,
        AppCommand::List => out.registrations(&service.registrations().await?),
        AppCommand::Show { app } => out.registration(&service.registration(app).await?),
        AppCommand::Test { app } => {
            let report = service.probe_registration(app).await?;
            out.test_report(&report);
            return Ok(if report.ok { Exit::Ok } else { Exit::Attention });
        }
        AppCommand::Export { app, format } => {
            let format = match format {
                ExportFormat::Az => registrations::ExportFormat::Az,
                ExportFormat::Manifest => registrations::ExportFormat::Manifest,
            };
            out.text(&service.export_registration(app, format).await?);
        }
        AppCommand::ConsentUrl { app } => {
            out.url("admin_consent_url", &service.admin_consent_url(app).await?);
        }
        AppCommand::Remove { app, cascade } => {
            let reg = service.remove_registration(app, *cascade).await?;
            out.removed(&reg.name);
        }
        AppCommand::ExportRegistrations {
            apps,
            file,
            replace,
        } => {
            return crate::transfer::export(apps, file.as_deref(), *replace, service, out).await;
        }
        AppCommand::ImportRegistrations { source, yes } => {
            return crate::transfer::import(source, *yes, service, out).await;
        }
        AppCommand::ImportLink { app } => return crate::transfer::link(app, service, out).await,
        AppCommand::Secrets(_) => {
            return Err(Error::internal(
                "secret commands are run by client_secret::run",
            ));
        }
    }
    Ok(Exit::Ok)
}
