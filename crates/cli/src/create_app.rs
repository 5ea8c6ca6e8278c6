//! `mailconn app create`: an administrator signs in once and the app registration is created in
//! Entra as the wizard would have it clicked, then saved and tested. The plan is shown first (on
//! standard error, or whole with `--plan`); progress goes to standard error; the result to
//! standard output (text, or JSON with `--json`).

use std::time::Duration;

use clap::Args;
use mailconn_core::cloud::CloudId;
use mailconn_core::registration::export::PlanInput;
use mailconn_core::registration::{Audience, ClientKind, Usage};
use mailconn_core::scopes::Preset;
use mailconn_core::service::create_app::{CreateAppInput, CreateAppPlan, CreatedApp};
use mailconn_core::{Result, Service};

use crate::app::{AudienceArg, CloudArg, UsageArg, parse_preset};
use crate::connect::until_ctrl_c;
use crate::exit::Exit;
use crate::output::Output;

#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each bool is one of the command's flags"
)]
pub struct CreateArgs {
    /// The app's display name in Entra and here
    #[arg(long)]
    name: String,
    /// Scope preset for sign-ins: read, send, full, full-calendar, mail-programs
    #[arg(long, default_value = "full", value_parser = parse_preset)]
    preset: Preset,
    #[arg(long, value_enum, default_value_t = AudienceArg::AnyOrgPersonal)]
    audience: AudienceArg,
    #[arg(long, value_enum, default_value_t = UsageArg::Delegated)]
    usage: UsageArg,
    /// A desktop (public) app: no secret (application access always gets a Web app with a secret)
    #[arg(long)]
    public: bool,
    /// The client secret's lifetime in months, 1 to 24 (Web apps) [default: 12]
    #[arg(long, value_name = "M")]
    secret_months: Option<u32>,
    /// Where the administrator signs in [default: organizations]
    #[arg(long)]
    tenant: Option<String>,
    /// The administrator's account (pre-fills the browser)
    #[arg(long)]
    login_hint: Option<String>,
    /// Grant admin consent in the same step (asks for the consent permissions too)
    #[arg(long)]
    grant_consent: bool,
    #[arg(long, value_enum, conflicts_with_all = ["authority_url", "graph_url"])]
    cloud: Option<CloudArg>,
    /// Custom cloud: the identity provider's base URL
    #[arg(long, requires = "graph_url")]
    authority_url: Option<String>,
    /// Custom cloud: Microsoft Graph's base URL
    #[arg(long, requires = "authority_url")]
    graph_url: Option<String>,
    /// The redirect URI to register [default: <http://localhost>, or <http://localhost/callback> for Web apps]
    #[arg(long)]
    redirect_uri: Option<String>,
    /// Do not open a browser: print the link on a line starting `open: ` and wait
    #[arg(long)]
    no_browser: bool,
    /// Sign in on another device with a code
    #[arg(long, conflicts_with = "no_browser")]
    device_code: bool,
    /// Print the plan (every request, with its body) and stop: nothing is created
    #[arg(long)]
    plan: bool,
    /// Instead of signing in here, run the exported `az` script with the Azure CLI installed and
    /// signed in on this computer (shown in full first, run after a yes)
    #[arg(long, conflicts_with_all = ["no_browser", "device_code", "grant_consent", "plan"])]
    with_az: bool,
    /// With --with-az: run without asking
    #[arg(long, requires = "with_az")]
    yes: bool,
    /// Seconds to wait for the browser
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

impl CreateArgs {
    fn input(&self) -> CreateAppInput {
        let custom = self.authority_url.is_some();
        CreateAppInput {
            plan: PlanInput {
                name: self.name.clone(),
                kind: if self.public {
                    ClientKind::Public
                } else {
                    ClientKind::Confidential
                },
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
                cloud: match (custom, self.cloud) {
                    (true, _) => CloudId::Custom,
                    (false, None | Some(CloudArg::Global)) => CloudId::Global,
                    (false, Some(CloudArg::GccHigh)) => CloudId::GccHigh,
                    (false, Some(CloudArg::Dod)) => CloudId::Dod,
                    (false, Some(CloudArg::China)) => CloudId::China,
                },
                authority_url: self.authority_url.clone(),
                graph_url: self.graph_url.clone(),
                redirect_uri: self.redirect_uri.clone(),
            },
            grant_consent: self.grant_consent,
            secret_months: self.secret_months,
            tenant: self.tenant.clone(),
            login_hint: self.login_hint.clone(),
        }
    }
}

fn show_plan(plan: &CreateAppPlan, full: bool) {
    let p = &plan.plan;
    let to = if full {
        |s: &str| println!("{s}")
    } else {
        |s: &str| eprintln!("{s}")
    };
    to(&format!(
        "Plan: a {} app ({}), {}.",
        p.platform,
        match p.kind {
            ClientKind::Public => "public, no secret",
            ClientKind::Confidential => "confidential, with a client secret",
        },
        p.account_types
    ));
    to(&format!("  redirect URI: {}", p.redirect_uri));
    let names: Vec<String> = p
        .permissions
        .iter()
        .map(|x| format!("{} ({:?})", x.name, x.kind).to_lowercase())
        .collect();
    to(&format!("  permissions:  {}", names.join(", ")));
    if let Some(m) = plan.secret_months {
        to(&format!("  secret:       {m} months"));
    }
    to(&format!(
        "Sign-in: {} ({}) at {}, asking only for {}.",
        plan.sign_in_client_name,
        plan.sign_in_client_id,
        plan.sign_in_tenant,
        plan.admin_scopes.join(" ")
    ));
    for r in &plan.requests {
        if full {
            println!("\n{} {}  ({})", r.method, r.path, r.purpose);
            if !r.body.is_empty() {
                println!("{}", r.body);
            }
        } else {
            eprintln!("  {} {}: {}", r.method, r.path, r.purpose);
        }
    }
}

fn show_created(c: &CreatedApp) {
    println!("created:       {}", c.registration.name);
    println!("  client ID:   {}", c.client_id);
    println!("  object ID:   {}", c.object_id);
    println!("  tenant ID:   {}", c.tenant_id);
    println!("  service principal: {}", c.service_principal_id);
    if let Some(s) = &c.secret {
        println!(
            "  secret:      {}… ends {} (in the keychain)",
            s.hint, s.expires
        );
    }
    println!("  consent:     {}", c.consent.message);
    if let (false, Some(url)) = (c.consent.granted, &c.consent.admin_consent_url) {
        println!("  admin consent link: {url}");
    }
    println!("  portal:      {}", c.portal_url);
    println!(
        "  test:        {}{}",
        if c.test.ok { "ok: " } else { "FAILED: " },
        c.test.summary
    );
}

/// `--with-az`: the script in full, a yes, the run, its output.
async fn with_az(args: &CreateArgs, service: &Service, out: Output) -> Result<Exit> {
    let input = args.input();
    let az = service.azure_cli().await;
    if !az.signed_in {
        return Err(
            mailconn_core::Error::new(mailconn_core::ErrorCode::NotFound, az.message).with_fix(
                "Install the Azure CLI and run az login, or leave out --with-az to sign in here.",
            ),
        );
    }
    let script = Service::az_script(&input.plan)?;
    eprintln!("{}\nThis script will run with it:\n", az.message);
    eprintln!("{script}");
    if !args.yes {
        eprint!("Run it? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map_err(|e| {
            mailconn_core::Error::internal(format!("could not read the answer: {e}"))
        })?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Nothing was run.");
            return Ok(Exit::Attention);
        }
    }
    let run = service.run_az_script(&input.plan).await?;
    eprintln!("{}", run.output);
    if out.json() {
        Output::print_json(&run);
    } else {
        println!("{}", run.message);
        if let Some(reg) = &run.registration {
            out.registration(reg);
        }
    }
    Ok(if run.ok { Exit::Ok } else { Exit::Attention })
}

pub async fn run(args: &CreateArgs, service: &Service, out: Output) -> Result<Exit> {
    if args.with_az {
        return with_az(args, service, out).await;
    }
    let input = args.input();
    let plan = service.create_app_plan(&input)?;
    if args.plan {
        if out.json() {
            Output::print_json(&plan);
        } else {
            show_plan(&plan, true);
        }
        return Ok(Exit::Ok);
    }
    show_plan(&plan, false);
    let started = service
        .start_create_app(
            &input,
            args.device_code,
            Some(Duration::from_secs(args.timeout)),
        )
        .await?;
    if let Some(code) = &started.code {
        eprintln!(
            "To sign in as an administrator, open {} on any device and enter the code {}",
            code.verification_uri, code.user_code
        );
        out.device_code(code);
    }
    if let Some(url) = &started.url {
        Output::open_line(url);
        if !args.no_browser && open::that_detached(url).is_err() {
            eprintln!("Could not open a browser: open the link above yourself.");
        }
    }
    let attempt = started.attempt.clone();
    let progress = |p: mailconn_core::service::create_app::CreateProgress| {
        eprintln!("{}", p.message);
    };
    let created = until_ctrl_c(service.finish_create_app(&attempt, &progress), || {
        service.cancel_create_app(&attempt);
    })
    .await?;
    if out.json() {
        Output::print_json(&created);
    } else {
        show_created(&created);
    }
    Ok(if created.test.ok {
        Exit::Ok
    } else {
        Exit::Attention
    })
}
