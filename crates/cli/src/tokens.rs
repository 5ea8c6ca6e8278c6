//! `mailconn token`, `xoauth2`, `oauthbearer`: tokens for mail programs and scripts; `alias`
//! and `programs`: a connection's short name and whether programs may fetch its tokens.
//! Never waits for a browser: a connection that needs sign-in ends with exit code 6 and the
//! command that fixes it.

use std::io::Write as _;

use clap::Args;
use mailconn_core::caller::parent_program;
use mailconn_core::resource::Resource;
use mailconn_core::service::tokens::{Mechanism, TokenUse};
use mailconn_core::{Error, Result, Service};
use serde_json::json;

use crate::exit::Exit;
use crate::output::Output;

/// graph, imap, pop or smtp (offered by the shell completions).
fn parse_resource() -> impl clap::builder::TypedValueParser<Value = Resource> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Resource::ALL.map(Resource::as_str))
        .map(|s| Resource::parse(&s).expect("one of the possible values"))
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Connection id, address or alias
    connection: String,
    /// What the token is for: graph, imap, pop or smtp (IMAP, POP and SMTP share one token)
    /// [default: graph when the connection may use Microsoft Graph, else imap, smtp or pop]
    #[arg(long, value_parser = parse_resource())]
    resource: Option<Resource>,
}

#[derive(Debug, Args)]
pub struct SaslArgs {
    /// Connection id, address or alias
    connection: String,
    /// imap, pop or smtp [default: imap when the connection may use IMAP, else smtp, else pop]
    #[arg(long, value_parser = parse_resource())]
    resource: Option<Resource>,
    /// Print the response itself instead of base64 (it holds Ctrl-A characters; no newline)
    #[arg(long)]
    raw: bool,
}

#[derive(Debug, Args)]
pub struct BearerArgs {
    #[command(flatten)]
    sasl: SaslArgs,
    /// The server the program connects to (the `host` field; left out when not given)
    #[arg(long)]
    host: Option<String>,
    /// Its port (the `port` field; left out when not given)
    #[arg(long)]
    port: Option<u16>,
}

/// Whether programs may fetch a connection's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Choice {
    Allow,
    Deny,
}

fn program() -> TokenUse {
    TokenUse::Program {
        name: parent_program(),
    }
}

pub async fn token(args: &TokenArgs, service: &Service, out: Output) -> Result<Exit> {
    let resource = match args.resource {
        Some(r) => r,
        None => service.default_resource(&args.connection).await?,
    };
    let t = service
        .access_token(&args.connection, resource, program())
        .await?;
    if out.json() {
        Output::print_json(&json!({
            "token": t.token.expose(),
            "expires_at": t.expires_at,
            "scopes": t.scopes,
            "resource": t.resource,
            "connection_id": t.connection.id,
            "address": t.connection.address,
        }));
    } else {
        println!("{}", t.token.expose());
    }
    Ok(Exit::Ok)
}

pub async fn xoauth2(args: &SaslArgs, service: &Service, out: Output) -> Result<Exit> {
    sasl(args, &Mechanism::Xoauth2, "xoauth2", service, out).await
}

pub async fn oauthbearer(args: &BearerArgs, service: &Service, out: Output) -> Result<Exit> {
    let mechanism = Mechanism::OAuthBearer {
        host: args.host.clone(),
        port: args.port,
    };
    sasl(&args.sasl, &mechanism, "oauthbearer", service, out).await
}

async fn sasl(
    args: &SaslArgs,
    mechanism: &Mechanism,
    name: &str,
    service: &Service,
    out: Output,
) -> Result<Exit> {
    let r = service
        .sasl_response(&args.connection, args.resource, mechanism, program())
        .await?;
    if out.json() {
        Output::print_json(&json!({
            "mechanism": name,
            "resource": r.resource,
            "user": r.user,
            "base64": r.base64.expose(),
            "raw": r.raw.expose(),
            "expires_at": r.expires_at,
        }));
    } else if args.raw {
        let mut stdout = std::io::stdout();
        stdout
            .write_all(r.raw.expose().as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| Error::internal(format!("cannot write the response: {e}")))?;
    } else {
        println!("{}", r.base64.expose());
    }
    Ok(Exit::Ok)
}

pub async fn alias(
    connection: &str,
    name: Option<&str>,
    service: &Service,
    out: Output,
) -> Result<Exit> {
    let c = service.set_alias(connection, name).await?;
    if out.json() {
        Output::print_json(&c);
    } else {
        match &c.alias {
            Some(a) => println!("{} is now also called \"{a}\".", c.address),
            None => println!("{} has no alias now.", c.address),
        }
    }
    Ok(Exit::Ok)
}

pub async fn programs(
    connection: &str,
    choice: Option<Choice>,
    service: &Service,
    out: Output,
) -> Result<Exit> {
    let c = if let Some(choice) = choice {
        service
            .set_program_access(connection, choice == Choice::Allow)
            .await?
    } else {
        service.connection(connection).await?
    };
    let (address, allowed) = (c.address, c.programs_allowed);
    if out.json() {
        Output::print_json(&json!({ "address": address, "programs_allowed": allowed }));
    } else if allowed {
        println!("Programs may fetch the tokens of {address}.");
    } else {
        println!("Programs may not fetch the tokens of {address}.");
    }
    Ok(Exit::Ok)
}

/// `mailconn use C [PROGRAM]`: core's settings for mail programs.
pub async fn mail_settings(
    connection: &str,
    program: Option<&str>,
    service: &Service,
    out: Output,
) -> Result<Exit> {
    let program = program
        .map(mailconn_core::mail_programs::Program::from_name)
        .transpose()?;
    let snippets = service
        .mail_program_settings(connection, program, None)
        .await?;
    if out.json() {
        Output::print_json(&snippets);
        return Ok(Exit::Ok);
    }
    if let (Some(_), [one]) = (program, snippets.as_slice()) {
        // Only the text on stdout, so it can go straight to the program's file.
        for note in &one.notes {
            eprintln!("note: {note}");
        }
        eprintln!("# {}: {}", one.title, one.place);
        print!("{}", one.text);
        return Ok(Exit::Ok);
    }
    for s in &snippets {
        println!("== {} ({})", s.title, s.place);
        for note in &s.notes {
            println!("note: {note}");
        }
        println!("{}", s.text);
    }
    Ok(Exit::Ok)
}
