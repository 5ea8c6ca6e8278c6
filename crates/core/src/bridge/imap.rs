//! The local side of IMAP up to the login (RFC 9051 / 3501): the greeting with the bridge's own
//! capabilities (`AUTH=PLAIN AUTH=LOGIN`, `STARTTLS` on the plain listener, `LOGINDISABLED` where
//! a plain login is not allowed), `CAPABILITY`, `NOOP`, `ID`, `STARTTLS`, `LOGOUT`, and the login
//! itself: `LOGIN user password` (atoms, quoted strings and literals) or `AUTHENTICATE PLAIN` /
//! `LOGIN` (with or without an initial response).

use super::gate::Refusal;
use super::io::{Local, Stop};
use super::limits::{MAX_LITERAL, MAX_LOGIN_LINE};
use super::sasl_login::{self, Outcome};
use super::session::{Creds, Front};
use crate::Sensitive;

fn capabilities(ctx: &Front, local: &Local) -> String {
    let mut caps = vec!["IMAP4rev1", "SASL-IR", "LITERAL+", "ID"];
    if !local.tls {
        caps.push("STARTTLS");
    }
    if ctx.may_login(local) {
        caps.extend(["AUTH=PLAIN", "AUTH=LOGIN"]);
    } else {
        caps.push("LOGINDISABLED");
    }
    caps.join(" ")
}

pub async fn greet(ctx: &Front, local: &mut Local) -> Result<(), Stop> {
    let caps = capabilities(ctx, local);
    local
        .send(&format!(
            "* OK [CAPABILITY {caps}] Mail Connections bridge ready\r\n"
        ))
        .await
}

/// What a refused login is answered with.
pub fn refusal(refusal: &Refusal, tag: &str) -> String {
    match refusal {
        Refusal::Credentials => format!("{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"),
        Refusal::TooMany { limit } => format!(
            "{tag} NO [LIMIT] This program already has {limit} sessions open through the bridge\r\n"
        ),
        Refusal::Unavailable { reason } => {
            format!("{tag} NO [UNAVAILABLE] {}\r\n", one_line(reason))
        }
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// One IMAP string argument (atom, quoted or literal) from `rest`, reading a literal's bytes
/// and the line after it from the client. Returns the value and what follows it.
async fn astring(local: &mut Local, rest: &str) -> Result<Option<(String, String)>, Stop> {
    let rest = rest.trim_start_matches(' ');
    if let Some(q) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = q.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => out.push(e),
                    _ => return Ok(None),
                },
                '"' => return Ok(Some((out, q[i + 1..].to_owned()))),
                c => out.push(c),
            }
        }
        return Ok(None);
    }
    if rest.starts_with('{') && rest.ends_with('}') {
        let inner = &rest[1..rest.len() - 1];
        let (n, plus) = match inner.strip_suffix('+') {
            Some(n) => (n, true),
            None => (inner, false),
        };
        let Ok(n) = n.parse::<usize>() else {
            return Ok(None);
        };
        if n > MAX_LITERAL {
            return Err(Stop::TooLong);
        }
        if !plus {
            local.send("+ Ready for literal data\r\n").await?;
        }
        let bytes = local.bytes(n).await?;
        let after = local.line(MAX_LOGIN_LINE).await?;
        return Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), after)));
    }
    let end = rest.find(' ').unwrap_or(rest.len());
    if end == 0 {
        return Ok(None);
    }
    Ok(Some((rest[..end].to_owned(), rest[end..].to_owned())))
}

/// Serves commands until the client tries a login (returned) or leaves.
pub async fn next_login(ctx: &Front, local: &mut Local) -> Result<Creds, Stop> {
    for _ in 0..super::limits::COMMANDS_BEFORE_LOGIN {
        let line = local.line(MAX_LOGIN_LINE).await?;
        let (tag, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let tag = tag.to_owned();
        if tag.is_empty() || tag.contains(['*', '+', '"', '{']) {
            local.send("* BAD Invalid tag\r\n").await?;
            continue;
        }
        let (command, args) = rest.split_once(' ').unwrap_or((rest, ""));
        match command.to_ascii_uppercase().as_str() {
            "CAPABILITY" => {
                let caps = capabilities(ctx, local);
                local
                    .send(&format!(
                        "* CAPABILITY {caps}\r\n{tag} OK CAPABILITY completed\r\n"
                    ))
                    .await?;
            }
            "NOOP" => local.send(&format!("{tag} OK NOOP completed\r\n")).await?,
            "ID" => {
                local
                    .send(&format!(
                        "* ID (\"name\" \"Mail Connections bridge\")\r\n{tag} OK ID completed\r\n"
                    ))
                    .await?;
            }
            "LOGOUT" => {
                local
                    .send(&format!(
                        "* BYE Logging out\r\n{tag} OK LOGOUT completed\r\n"
                    ))
                    .await?;
                return Err(Stop::Gone);
            }
            "STARTTLS" if !local.tls => {
                local
                    .send(&format!("{tag} OK Begin TLS negotiation now\r\n"))
                    .await?;
                ctx.start_tls(local).await?;
            }
            "STARTTLS" => {
                local
                    .send(&format!("{tag} BAD TLS is already active\r\n"))
                    .await?;
            }
            "LOGIN" | "AUTHENTICATE" if !ctx.may_login(local) => {
                local
                    .send(&format!(
                        "{tag} NO [PRIVACYREQUIRED] Use STARTTLS (or the bridge's TLS port) first\r\n"
                    ))
                    .await?;
            }
            "LOGIN" => {
                let Some((user, after)) = astring(local, args).await? else {
                    local
                        .send(&format!("{tag} BAD Invalid arguments\r\n"))
                        .await?;
                    continue;
                };
                let Some((pass, _)) = astring(local, &after).await? else {
                    local
                        .send(&format!("{tag} BAD Invalid arguments\r\n"))
                        .await?;
                    continue;
                };
                return Ok(Creds::new(user, Sensitive::new(pass), tag));
            }
            "AUTHENTICATE" => {
                if let Some(creds) = authenticate(local, &tag, args).await? {
                    return Ok(creds);
                }
            }
            _ => {
                local
                    .send(&format!(
                        "{tag} BAD Log in first (LOGIN or AUTHENTICATE PLAIN)\r\n"
                    ))
                    .await?;
            }
        }
    }
    Err(Stop::Gone)
}

/// `AUTHENTICATE PLAIN [ir]` or `AUTHENTICATE LOGIN`; `None` when it was cancelled or malformed
/// (already answered).
async fn authenticate(local: &mut Local, tag: &str, args: &str) -> Result<Option<Creds>, Stop> {
    let reply = match sasl_login::exchange(local, "+ ", args).await? {
        Outcome::Creds(user, pass) => return Ok(Some(Creds::new(user, pass, tag.to_owned()))),
        Outcome::Unsupported => format!("{tag} NO Unsupported mechanism: use PLAIN or LOGIN\r\n"),
        Outcome::Invalid => format!("{tag} BAD Authentication cancelled or invalid\r\n"),
    };
    local.send(&reply).await?;
    Ok(None)
}
