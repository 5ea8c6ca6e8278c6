//! SMTP submission: greeting and `EHLO`; `STARTTLS` and `EHLO` again (port 587); `AUTH XOAUTH2`
//! with the initial response; `QUIT`. Nothing is sent.

use super::conn::{Broken, Conn, MAX_LINES};
use super::sasl::ContinuationError;
use super::{Failed, Login, Steps, explain, quote, where_and_how};
use crate::Sensitive;
use crate::mail_servers::{MailProtocol, Security};
use crate::verification::{Step, StepProtocol};

/// The name this client gives in `EHLO`.
const EHLO: &str = "EHLO mailconn.localhost";

/// A reply: its code and lines (text after the code).
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn last(&self) -> String {
        format!(
            "{} {}",
            self.code,
            self.lines.last().map_or("", String::as_str)
        )
    }

    /// Whether EHLO's answer lists an extension (`STARTTLS`) or a SASL mechanism (`AUTH XOAUTH2`).
    fn offers(&self, extension: &str, mechanism: Option<&str>) -> bool {
        self.lines.iter().any(|l| {
            let mut words = l.split_whitespace();
            words
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(extension))
                && mechanism.is_none_or(|m| words.any(|w| w.eq_ignore_ascii_case(m)))
        })
    }
}

async fn reply(conn: &mut Conn) -> Result<Reply, Broken> {
    let mut lines = Vec::new();
    for _ in 0..MAX_LINES {
        let line = conn.line().await?;
        let code = line
            .get(..3)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| Broken::Unexpected(quote(&line)))?;
        let more = line.as_bytes().get(3) == Some(&b'-');
        lines.push(line.get(4..).unwrap_or_default().to_owned());
        if !more {
            return Ok(Reply { code, lines });
        }
    }
    Err(Broken::TooLong)
}

pub async fn check(login: &Login) -> Vec<Step> {
    let mut steps = Steps::new(StepProtocol::Smtp, login);
    let server = &login.server;
    let broken = |b: Broken| Failed::broken(&b, server);
    let Some((mut conn, ehlo)) = steps
        .run("smtp_connect", async {
            let mut conn = Conn::open(server, login.tls.clone(), login.io_timeout)
                .await
                .map_err(broken)?;
            let greeting = reply(&mut conn).await.map_err(broken)?;
            if greeting.code != 220 {
                return Err(Failed::said(
                    format!(
                        "The SMTP server did not greet as expected: {}",
                        quote(&greeting.last())
                    ),
                    &greeting.last(),
                ));
            }
            let ehlo = hello(&mut conn).await?;
            Ok((
                (conn, ehlo),
                format!("Connected to {}; EHLO answered", where_and_how(server)),
            ))
        })
        .await
    else {
        steps.skip_rest(&["smtp_tls", "smtp_login"]);
        return steps.done();
    };
    let ehlo = match server.security {
        Security::Tls => {
            steps.pass("smtp_tls", "TLS from the start of the connection");
            Some(ehlo)
        }
        Security::Plain => {
            steps.skip(
                "smtp_tls",
                "Skipped: a plain connection to a loopback address (no TLS).",
            );
            Some(ehlo)
        }
        Security::StartTls => {
            steps
                .run("smtp_tls", start_tls(&mut conn, &ehlo, login))
                .await
        }
    };
    match ehlo {
        Some(ehlo) => {
            steps
                .run("smtp_login", authenticate(&mut conn, &ehlo, login))
                .await;
        }
        None => steps.skip_rest(&["smtp_login"]),
    }
    let _ = conn.send("QUIT").await;
    steps.done()
}

async fn hello(conn: &mut Conn) -> Result<Reply, Failed> {
    let server_said = |b: Broken| Failed {
        message: format!("The SMTP server's EHLO answer broke off: {b:?}"),
        fix: None,
        code: None,
    };
    conn.send(EHLO).await.map_err(server_said)?;
    let ehlo = reply(conn).await.map_err(server_said)?;
    if ehlo.code != 250 {
        return Err(Failed::said(
            format!("The SMTP server refused EHLO: {}", quote(&ehlo.last())),
            &ehlo.last(),
        ));
    }
    Ok(ehlo)
}

async fn start_tls(
    conn: &mut Conn,
    ehlo: &Reply,
    login: &Login,
) -> Result<(Reply, String), Failed> {
    let broken = |b: Broken| Failed::broken(&b, &login.server);
    if !ehlo.offers("STARTTLS", None) {
        return Err(Failed {
            message: "The SMTP server does not offer STARTTLS, so the token would travel unprotected; stopped.".into(),
            fix: Some("Use the server's submission port (587) or TLS port (465).".into()),
            code: None,
        });
    }
    conn.send("STARTTLS").await.map_err(broken)?;
    let ready = reply(conn).await.map_err(broken)?;
    if ready.code != 220 {
        return Err(Failed::said(
            format!("The SMTP server refused STARTTLS: {}", quote(&ready.last())),
            &ready.last(),
        ));
    }
    conn.start_tls().await.map_err(broken)?;
    let again = hello(conn).await?;
    Ok((again, "STARTTLS; EHLO answered again over TLS".into()))
}

async fn authenticate(
    conn: &mut Conn,
    ehlo: &Reply,
    login: &Login,
) -> Result<((), String), Failed> {
    let broken = |b: Broken| Failed::broken(&b, &login.server);
    if !ehlo.offers("AUTH", Some("XOAUTH2")) {
        let offered = ehlo
            .lines
            .iter()
            .find(|l| l.to_ascii_uppercase().starts_with("AUTH"))
            .map_or_else(|| "no AUTH at all".to_owned(), |l| quote(l));
        return Err(Failed {
            message: format!("The SMTP server does not offer AUTH XOAUTH2 ({offered})."),
            fix: Some("Check the server name and port: Microsoft's submission server is smtp.office365.com:587 (Outlook.com: smtp-mail.outlook.com:587).".into()),
            code: None,
        });
    }
    let command = Sensitive::new(format!(
        "AUTH XOAUTH2 {}",
        login.initial_response().expose()
    ));
    conn.send_secret(&command).await.map_err(broken)?;
    let mut answer = reply(conn).await.map_err(broken)?;
    let mut continuation = None;
    if answer.code == 334 {
        // The server's error, in a continuation: answer with an empty line, then it refuses.
        continuation = Some(
            ContinuationError::parse(answer.lines.last().map_or("", String::as_str))
                .unwrap_or_default(),
        );
        conn.send("").await.map_err(broken)?;
        answer = reply(conn).await.map_err(broken)?;
    }
    if answer.code == 235 && continuation.is_none() {
        return Ok(((), format!("Logged in as {} with XOAUTH2", login.user)));
    }
    Err(Failed::refused(explain::refusal(
        MailProtocol::Smtp,
        &answer.last(),
        continuation.as_ref(),
        &login.user,
    )))
}
