//! IMAP: greeting, `AUTHENTICATE XOAUTH2` with the initial response (SASL-IR, as Microsoft
//! documents it), `SELECT INBOX`, `LOGOUT`.

use super::conn::{Broken, Conn, MAX_LINES};
use super::sasl::ContinuationError;
use super::{Failed, Login, Steps, explain, quote, where_and_how};
use crate::Sensitive;
use crate::mail_servers::MailProtocol;
use crate::verification::{Step, StepProtocol};

pub async fn check(login: &Login) -> Vec<Step> {
    let mut steps = Steps::new(StepProtocol::Imap, login);
    let server = &login.server;
    let broken = |b: Broken| Failed::broken(&b, server);
    let Some(mut conn) = steps
        .run("imap_connect", async {
            let mut conn = Conn::open(server, login.tls.clone(), login.io_timeout)
                .await
                .map_err(broken)?;
            let greeting = conn.line().await.map_err(broken)?;
            if !greeting.starts_with("* OK") {
                return Err(Failed::said(
                    format!(
                        "The IMAP server did not greet as expected: {}",
                        quote(&greeting)
                    ),
                    &greeting,
                ));
            }
            Ok((conn, format!("Connected to {}", where_and_how(server))))
        })
        .await
    else {
        steps.skip_rest(&["imap_login", "imap_select"]);
        return steps.done();
    };
    steps
        .run("imap_login", authenticate(&mut conn, login))
        .await;
    steps.run("imap_select", select(&mut conn, login)).await;
    let _ = conn.send("A3 LOGOUT").await;
    steps.done()
}

async fn authenticate(conn: &mut Conn, login: &Login) -> Result<((), String), Failed> {
    let broken = |b: Broken| Failed::broken(&b, &login.server);
    let command = Sensitive::new(format!(
        "A1 AUTHENTICATE XOAUTH2 {}",
        login.initial_response().expose()
    ));
    conn.send_secret(&command).await.map_err(broken)?;
    let mut continuation: Option<ContinuationError> = None;
    for _ in 0..MAX_LINES {
        let line = conn.line().await.map_err(broken)?;
        if let Some(rest) = line.strip_prefix("A1 ") {
            if rest.starts_with("OK") {
                return Ok(((), format!("Logged in as {} with XOAUTH2", login.user)));
            }
            return Err(Failed::refused(explain::refusal(
                MailProtocol::Imap,
                &line,
                continuation.as_ref(),
                &login.user,
            )));
        }
        if let Some(payload) = line.strip_prefix('+') {
            if continuation.is_some() {
                return Err(broken(Broken::Unexpected(quote(&line))));
            }
            // The server's error, in a continuation: answer with an empty line, then it refuses.
            continuation = Some(ContinuationError::parse(payload).unwrap_or_default());
            conn.send("").await.map_err(broken)?;
        } else if !line.starts_with('*') {
            return Err(broken(Broken::Unexpected(quote(&line))));
        }
    }
    Err(broken(Broken::TooLong))
}

async fn select(conn: &mut Conn, login: &Login) -> Result<((), String), Failed> {
    let broken = |b: Broken| Failed::broken(&b, &login.server);
    conn.send("A2 SELECT INBOX").await.map_err(broken)?;
    let mut exists = None;
    for _ in 0..MAX_LINES {
        let line = conn.line().await.map_err(broken)?;
        if let Some(rest) = line.strip_prefix("A2 ") {
            if rest.starts_with("OK") {
                let count = exists.map_or_else(
                    || "INBOX opened".to_owned(),
                    |n: u64| format!("INBOX opened: {n} messages"),
                );
                return Ok(((), count));
            }
            return Err(Failed::said(
                format!("The IMAP server could not open INBOX: {}", quote(rest)),
                &line,
            ));
        }
        if let Some(n) = line
            .strip_prefix("* ")
            .and_then(|r| r.strip_suffix(" EXISTS"))
            .and_then(|n| n.parse().ok())
        {
            exists = Some(n);
        }
    }
    Err(broken(Broken::TooLong))
}
