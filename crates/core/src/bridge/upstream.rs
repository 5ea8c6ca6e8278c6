//! The login at the real server: TLS from the start or after `STARTTLS`/`STLS` (plain only to a
//! loopback server of a custom cloud, as the registration's server check allows), then SASL
//! XOAUTH2 with the mailbox address and the access token. A refusal's continuation (`+ <base64
//! JSON>` from Dovecot, `334` in SMTP) is answered with an empty line and the final answer read.
//! What comes back is the stream, positioned right after the login's answer, and the answer to
//! give the client in its own words (the client's IMAP tag).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::BufReader;

use super::gate::Granted;
use crate::mail::conn::{Broken, Conn, Stream};
use crate::mail::sasl;
use crate::mail_servers::{MailProtocol, MailServer, Security};

/// An authenticated upstream session.
pub struct Upstream {
    pub stream: BufReader<Box<dyn Stream>>,
    /// What the client is told (CRLF-terminated lines).
    pub reply: String,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").finish_non_exhaustive()
    }
}

fn broken(server: &MailServer, e: &Broken) -> String {
    e.describe(server)
}

/// Why the upstream login failed, in words for the client and the history.
fn refused(server: &MailServer, line: &str) -> String {
    format!(
        "{}:{} refused the XOAUTH2 login: {line}",
        server.host, server.port
    )
}

/// Logs in at the real server for `protocol`.
pub async fn login(
    protocol: MailProtocol,
    granted: &Granted,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
    imap_tag: &str,
    helo: &str,
) -> Result<Upstream, String> {
    let server = &granted.server;
    let mut conn = Conn::open(server, tls, timeout)
        .await
        .map_err(|e| broken(server, &e))?;
    let response = sasl::xoauth2(&granted.password.address, &granted.token);
    let reply = match protocol {
        MailProtocol::Imap => imap(&mut conn, server, response, imap_tag).await,
        MailProtocol::Pop => pop(&mut conn, server, response).await,
        MailProtocol::Smtp => smtp(&mut conn, server, response, helo).await,
    }
    .map_err(|e| match e {
        Failure::Broken(b) => broken(server, &b),
        Failure::Refused(line) => refused(server, &line),
    })?;
    Ok(Upstream {
        stream: conn.into_inner(),
        reply,
    })
}

enum Failure {
    Broken(Broken),
    Refused(String),
}

impl From<Broken> for Failure {
    fn from(b: Broken) -> Self {
        Failure::Broken(b)
    }
}

fn unexpected(line: String) -> Failure {
    Failure::Broken(Broken::Unexpected(line))
}

/// IMAP: the greeting, `STARTTLS` when needed, `AUTHENTICATE XOAUTH2` with the initial
/// response. Untagged lines before the tagged answer (a `CAPABILITY`) go to the client too.
async fn imap(
    conn: &mut Conn,
    server: &MailServer,
    response: crate::Sensitive<String>,
    tag: &str,
) -> Result<String, Failure> {
    let greeting = conn.line().await?;
    if !greeting.starts_with("* OK") {
        return Err(unexpected(greeting));
    }
    if server.security == Security::StartTls {
        conn.send("B0 STARTTLS").await?;
        loop {
            let line = conn.line().await?;
            if line.starts_with("B0 OK") {
                break;
            }
            if line.starts_with("B0 ") {
                return Err(unexpected(line));
            }
        }
        conn.start_tls().await?;
    }
    let command = crate::Sensitive::new(format!("B1 AUTHENTICATE XOAUTH2 {}", response.expose()));
    conn.send_secret(&command).await?;
    let mut untagged = String::new();
    loop {
        let line = conn.line().await?;
        if line.starts_with('+') {
            // A refusal's details (base64 JSON): answered empty, the tagged NO follows.
            conn.send("").await?;
        } else if let Some(rest) = line.strip_prefix("B1 ") {
            if rest.starts_with("OK") {
                return Ok(format!("{untagged}{tag} {rest}\r\n"));
            }
            return Err(Failure::Refused(rest.to_owned()));
        } else if line.starts_with("* ") {
            untagged.push_str(&line);
            untagged.push_str("\r\n");
        } else {
            return Err(unexpected(line));
        }
    }
}

/// POP: the greeting, `STLS` when needed, `AUTH XOAUTH2` and the response after the `+`.
async fn pop(
    conn: &mut Conn,
    server: &MailServer,
    response: crate::Sensitive<String>,
) -> Result<String, Failure> {
    let greeting = conn.line().await?;
    if !greeting.starts_with("+OK") {
        return Err(unexpected(greeting));
    }
    if server.security == Security::StartTls {
        conn.send("STLS").await?;
        let line = conn.line().await?;
        if !line.starts_with("+OK") {
            return Err(unexpected(line));
        }
        conn.start_tls().await?;
    }
    conn.send("AUTH XOAUTH2").await?;
    let line = conn.line().await?;
    if !line.starts_with('+') || line.starts_with("+OK") {
        return Err(Failure::Refused(line));
    }
    conn.send_secret(&response).await?;
    loop {
        let line = conn.line().await?;
        if line.starts_with("+OK") {
            return Ok(format!("{line}\r\n"));
        }
        if line.starts_with("-ERR") {
            return Err(Failure::Refused(line));
        }
        if line.starts_with('+') {
            conn.send("").await?;
        } else {
            return Err(unexpected(line));
        }
    }
}

/// Reads one SMTP reply (all its lines); returns its code and last line.
async fn reply(conn: &mut Conn) -> Result<(u16, String), Failure> {
    for _ in 0..crate::mail::conn::MAX_LINES {
        let line = conn.line().await?;
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else {
            return Err(unexpected(line));
        };
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, line));
        }
    }
    Err(Failure::Broken(Broken::TooLong))
}

/// SMTP: greeting, `EHLO`, `STARTTLS` and `EHLO` again when needed, `AUTH XOAUTH2`.
async fn smtp(
    conn: &mut Conn,
    server: &MailServer,
    response: crate::Sensitive<String>,
    helo: &str,
) -> Result<String, Failure> {
    let (code, line) = reply(conn).await?;
    if code != 220 {
        return Err(Failure::Refused(line));
    }
    conn.send(&format!("EHLO {helo}")).await?;
    let (code, line) = reply(conn).await?;
    if code != 250 {
        return Err(Failure::Refused(line));
    }
    if server.security == Security::StartTls {
        conn.send("STARTTLS").await?;
        let (code, line) = reply(conn).await?;
        if code != 220 {
            return Err(Failure::Refused(line));
        }
        conn.start_tls().await?;
        conn.send(&format!("EHLO {helo}")).await?;
        let (code, line) = reply(conn).await?;
        if code != 250 {
            return Err(Failure::Refused(line));
        }
    }
    let command = crate::Sensitive::new(format!("AUTH XOAUTH2 {}", response.expose()));
    conn.send_secret(&command).await?;
    let (mut code, mut line) = reply(conn).await?;
    if code == 334 {
        conn.send("").await?;
        (code, line) = reply(conn).await?;
    }
    if code == 235 {
        Ok(format!("{line}\r\n"))
    } else {
        Err(Failure::Refused(line))
    }
}
