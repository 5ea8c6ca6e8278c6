//! The local side of SMTP submission up to the login (RFC 6409, 4954, 3207): the greeting,
//! `EHLO` with the bridge's own extensions (`AUTH PLAIN LOGIN`, `STARTTLS` on the plain
//! listener), `HELO`, `STARTTLS`, `AUTH PLAIN` / `LOGIN`, `NOOP`, `RSET`, `QUIT`; mail before the
//! login is refused with `530`. The real server's `EHLO` was made by the bridge, so after the
//! login the client goes straight on with `MAIL FROM`.

use super::gate::Refusal;
use super::io::{Local, Stop};
use super::limits::MAX_LOGIN_LINE;
use super::sasl_login::{self, Outcome};
use super::session::{Creds, Front};

pub async fn greet(_ctx: &Front, local: &mut Local) -> Result<(), Stop> {
    local
        .send("220 localhost ESMTP Mail Connections bridge ready\r\n")
        .await
}

pub fn refusal(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Credentials => "535 5.7.8 Authentication credentials invalid\r\n".into(),
        Refusal::TooMany { limit } => format!(
            "454 4.7.0 This program already has {limit} sessions open through the bridge\r\n"
        ),
        Refusal::Unavailable { reason } => {
            format!("454 4.7.0 {}\r\n", reason.replace(['\r', '\n'], " "))
        }
    }
}

fn ehlo(ctx: &Front, local: &Local) -> String {
    let mut lines = vec!["localhost", "8BITMIME", "ENHANCEDSTATUSCODES"];
    if !local.tls {
        lines.push("STARTTLS");
    }
    if ctx.may_login(local) {
        lines.push("AUTH PLAIN LOGIN");
    }
    let last = lines.len() - 1;
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        out.push_str(if i == last { "250 " } else { "250-" });
        out.push_str(l);
        out.push_str("\r\n");
    }
    out
}

/// The name the client gave in `EHLO`, when it is a plain domain or address literal; the bridge
/// greets the real server with it.
fn helo_name(arg: &str) -> String {
    let arg = arg.trim();
    if !arg.is_empty()
        && arg.len() <= 255
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-[]:_".contains(c))
    {
        arg.to_owned()
    } else {
        "localhost".to_owned()
    }
}

pub async fn next_login(ctx: &Front, local: &mut Local, helo: &mut String) -> Result<Creds, Stop> {
    for _ in 0..super::limits::COMMANDS_BEFORE_LOGIN {
        let line = local.line(MAX_LOGIN_LINE).await?;
        let (command, args) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match command.to_ascii_uppercase().as_str() {
            "EHLO" => {
                *helo = helo_name(args);
                let text = ehlo(ctx, local);
                local.send(&text).await?;
            }
            "HELO" => {
                *helo = helo_name(args);
                local.send("250 localhost\r\n").await?;
            }
            "NOOP" | "RSET" => local.send("250 2.0.0 OK\r\n").await?,
            "QUIT" => {
                local.send("221 2.0.0 Bye\r\n").await?;
                return Err(Stop::Gone);
            }
            "STARTTLS" if !local.tls => {
                local.send("220 2.0.0 Ready to start TLS\r\n").await?;
                ctx.start_tls(local).await?;
            }
            "STARTTLS" => local.send("503 5.5.1 TLS is already active\r\n").await?,
            "AUTH" if !ctx.may_login(local) => {
                local
                    .send("530 5.7.0 Must issue a STARTTLS command first\r\n")
                    .await?;
            }
            "AUTH" => {
                if let Some(c) = authenticate(local, args).await? {
                    return Ok(c);
                }
            }
            "MAIL" | "RCPT" | "DATA" | "BDAT" => {
                local.send("530 5.7.0 Authentication required\r\n").await?;
            }
            _ => local.send("502 5.5.2 Log in first\r\n").await?,
        }
    }
    Err(Stop::Gone)
}

async fn authenticate(local: &mut Local, args: &str) -> Result<Option<Creds>, Stop> {
    let reply = match sasl_login::exchange(local, "334 ", args).await? {
        Outcome::Creds(user, pass) => return Ok(Some(Creds::new(user, pass, String::new()))),
        Outcome::Unsupported => "504 5.5.4 Unsupported mechanism: use PLAIN or LOGIN\r\n",
        Outcome::Invalid => "501 5.5.2 Invalid or cancelled authentication\r\n",
    };
    local.send(reply).await?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::helo_name;

    #[test]
    fn only_a_plain_helo_name_is_passed_on() {
        assert_eq!(helo_name("scanner.office.lan"), "scanner.office.lan");
        assert_eq!(helo_name("[192.168.1.5]"), "[192.168.1.5]");
        assert_eq!(helo_name("bad name\r\nRCPT"), "localhost");
        assert_eq!(helo_name(""), "localhost");
    }
}
