//! The local side of POP3 up to the login (RFC 1939, 2449, 2595, 5034): the greeting, `CAPA`
//! with the bridge's own list (`USER`, `SASL PLAIN LOGIN`, `STLS` on the plain listener),
//! `STLS`, `USER`/`PASS`, `AUTH PLAIN` / `LOGIN`, `NOOP` and `QUIT`.

use super::gate::Refusal;
use super::io::{Local, Stop};
use super::limits::MAX_LOGIN_LINE;
use super::sasl_login::{self, Outcome};
use super::session::{Creds, Front};
use crate::Sensitive;

pub async fn greet(_ctx: &Front, local: &mut Local) -> Result<(), Stop> {
    local.send("+OK Mail Connections bridge ready\r\n").await
}

pub fn refusal(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Credentials => "-ERR [AUTH] Invalid credentials\r\n".into(),
        Refusal::TooMany { limit } => format!(
            "-ERR [IN-USE] This program already has {limit} sessions open through the bridge\r\n"
        ),
        Refusal::Unavailable { reason } => {
            format!("-ERR [SYS/TEMP] {}\r\n", reason.replace(['\r', '\n'], " "))
        }
    }
}

fn capa(ctx: &Front, local: &Local) -> String {
    let mut lines = vec![
        "+OK Capability list follows",
        "TOP",
        "UIDL",
        "RESP-CODES",
        "AUTH-RESP-CODE",
    ];
    if ctx.may_login(local) {
        lines.extend(["USER", "SASL PLAIN LOGIN"]);
    }
    if !local.tls {
        lines.push("STLS");
    }
    lines.push(".");
    lines.join("\r\n") + "\r\n"
}

pub async fn next_login(ctx: &Front, local: &mut Local) -> Result<Creds, Stop> {
    let mut user: Option<String> = None;
    for _ in 0..super::limits::COMMANDS_BEFORE_LOGIN {
        let line = local.line(MAX_LOGIN_LINE).await?;
        let (command, args) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match command.to_ascii_uppercase().as_str() {
            "CAPA" => {
                let text = capa(ctx, local);
                local.send(&text).await?;
            }
            "NOOP" => local.send("+OK\r\n").await?,
            "QUIT" => {
                local.send("+OK Bye\r\n").await?;
                return Err(Stop::Gone);
            }
            "STLS" if !local.tls => {
                local.send("+OK Begin TLS negotiation\r\n").await?;
                ctx.start_tls(local).await?;
                user = None;
            }
            "STLS" => local.send("-ERR TLS is already active\r\n").await?,
            "USER" | "PASS" | "AUTH" if !ctx.may_login(local) => {
                local
                    .send("-ERR [AUTH] Use STLS (or the bridge's TLS port) first\r\n")
                    .await?;
            }
            "USER" if !args.is_empty() => {
                user = Some(args.to_owned());
                local.send("+OK Send the password\r\n").await?;
            }
            "PASS" => match user.take() {
                Some(u) => {
                    return Ok(Creds::new(
                        u,
                        Sensitive::new(args.to_owned()),
                        String::new(),
                    ));
                }
                None => local.send("-ERR Send USER first\r\n").await?,
            },
            "AUTH" if args.is_empty() => {
                local.send("+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n").await?;
            }
            "AUTH" => {
                if let Some(c) = authenticate(local, args).await? {
                    return Ok(c);
                }
            }
            _ => local.send("-ERR Log in first\r\n").await?,
        }
    }
    Err(Stop::Gone)
}

async fn authenticate(local: &mut Local, args: &str) -> Result<Option<Creds>, Stop> {
    let reply = match sasl_login::exchange(local, "+ ", args).await? {
        Outcome::Creds(user, pass) => return Ok(Some(Creds::new(user, pass, String::new()))),
        Outcome::Unsupported => "-ERR Unsupported mechanism: use PLAIN or LOGIN\r\n",
        Outcome::Invalid => "-ERR Invalid or cancelled authentication\r\n",
    };
    local.send(reply).await?;
    Ok(None)
}
