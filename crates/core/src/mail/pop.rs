//! POP: greeting, `AUTH XOAUTH2` (the response after the server's empty `+`, as Microsoft
//! documents it), `STAT`, `QUIT`.

use super::conn::{Broken, Conn};
use super::sasl::ContinuationError;
use super::{Failed, Login, Steps, explain, quote, where_and_how};
use crate::mail_servers::MailProtocol;
use crate::verification::{Step, StepProtocol};

pub async fn check(login: &Login) -> Vec<Step> {
    let mut steps = Steps::new(StepProtocol::Pop, login);
    let server = &login.server;
    let broken = |b: Broken| Failed::broken(&b, server);
    let Some(mut conn) = steps
        .run("pop_connect", async {
            let mut conn = Conn::open(server, login.tls.clone(), login.io_timeout)
                .await
                .map_err(broken)?;
            let greeting = conn.line().await.map_err(broken)?;
            if !greeting.starts_with("+OK") {
                return Err(Failed::said(
                    format!(
                        "The POP server did not greet as expected: {}",
                        quote(&greeting)
                    ),
                    &greeting,
                ));
            }
            Ok((conn, format!("Connected to {}", where_and_how(server))))
        })
        .await
    else {
        steps.skip_rest(&["pop_login", "pop_stat"]);
        return steps.done();
    };
    steps.run("pop_login", authenticate(&mut conn, login)).await;
    steps.run("pop_stat", stat(&mut conn, login)).await;
    let _ = conn.send("QUIT").await;
    steps.done()
}

async fn authenticate(conn: &mut Conn, login: &Login) -> Result<((), String), Failed> {
    let broken = |b: Broken| Failed::broken(&b, &login.server);
    conn.send("AUTH XOAUTH2").await.map_err(broken)?;
    let ready = conn.line().await.map_err(broken)?;
    if !ready.starts_with('+') || ready.starts_with("+OK") {
        return Err(Failed::said(
            format!(
                "The POP server does not accept XOAUTH2 logins: {}",
                quote(&ready)
            ),
            &ready,
        ));
    }
    conn.send_secret(&login.initial_response())
        .await
        .map_err(broken)?;
    let mut answer = conn.line().await.map_err(broken)?;
    let mut continuation = None;
    if let Some(payload) = answer
        .strip_prefix('+')
        .filter(|_| !answer.starts_with("+OK"))
    {
        // The server's error, in a continuation: answer with an empty line, then it refuses.
        continuation = Some(ContinuationError::parse(payload).unwrap_or_default());
        conn.send("").await.map_err(broken)?;
        answer = conn.line().await.map_err(broken)?;
    }
    if answer.starts_with("+OK") && continuation.is_none() {
        return Ok(((), format!("Logged in as {} with XOAUTH2", login.user)));
    }
    if answer.starts_with("-ERR") || continuation.is_some() {
        return Err(Failed::refused(explain::refusal(
            MailProtocol::Pop,
            &answer,
            continuation.as_ref(),
            &login.user,
        )));
    }
    Err(broken(Broken::Unexpected(quote(&answer))))
}

async fn stat(conn: &mut Conn, login: &Login) -> Result<((), String), Failed> {
    let broken = |b: Broken| Failed::broken(&b, &login.server);
    conn.send("STAT").await.map_err(broken)?;
    let line = conn.line().await.map_err(broken)?;
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some("+OK"), Some(count), Some(size)) => Ok((
            (),
            format!("The mailbox has {count} messages ({size} bytes)"),
        )),
        _ => Err(Failed::said(
            format!("The POP server refused STAT: {}", quote(&line)),
            &line,
        )),
    }
}
