//! One local session from accept to close: the greeting, the commands before the login, the
//! gate, the upstream login, and the relay. A refused login is answered in the protocol's
//! words; after [`FAILURES_PER_SESSION`] refusals, or one that no retry can fix (the session
//! limit), the session is closed.

use std::net::IpAddr;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;

use super::gate::{Gate, Refusal};
use super::io::{Local, Stop};
use super::limits::{FAILURES_PER_SESSION, Timeouts};
use super::sessions::{SessionGuard, Sessions};
use super::{imap, pop, relay, smtp, upstream};
use crate::Sensitive;
use crate::mail_servers::MailProtocol;

/// A login attempt: who, with what, and (IMAP) under which tag.
#[derive(Debug)]
pub struct Creds {
    pub user: String,
    pub password: Sensitive<String>,
    pub tag: String,
}

impl Creds {
    pub fn new(user: String, password: Sensitive<String>, tag: String) -> Self {
        Self {
            user,
            password,
            tag,
        }
    }
}

/// What the local side of a protocol needs before the login: who the client is, whether plain
/// login is allowed, and the TLS acceptor for `STARTTLS`.
pub struct Front {
    pub peer: IpAddr,
    pub allow_plain: bool,
    pub acceptor: TlsAcceptor,
    /// Where to mark the session encrypted after `STARTTLS` (none in unit tests).
    pub session: Option<(Arc<Sessions>, u64)>,
}

impl Front {
    /// A login is allowed over TLS, or without it from loopback while plain login is allowed.
    pub fn may_login(&self, local: &Local) -> bool {
        local.tls || (self.peer.is_loopback() && self.allow_plain)
    }

    pub async fn start_tls(&self, local: &mut Local) -> Result<(), Stop> {
        local.start_tls(&self.acceptor).await?;
        if let Some((sessions, id)) = &self.session {
            sessions.encrypted(*id);
        }
        Ok(())
    }
}

/// What a session's steps share.
pub struct Ctx {
    pub gate: Arc<Gate>,
    pub guard: SessionGuard,
    pub peer: IpAddr,
    pub protocol: MailProtocol,
    pub front: Front,
    pub timeouts: Timeouts,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("session", &self.guard.id)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    fn refusal_text(&self, refusal: &Refusal, creds: &Creds) -> String {
        match self.protocol {
            MailProtocol::Imap => imap::refusal(refusal, &creds.tag),
            MailProtocol::Pop => pop::refusal(refusal),
            MailProtocol::Smtp => smtp::refusal(refusal),
        }
    }
}

/// Serves one session to its end.
pub async fn serve(ctx: Ctx, mut local: Local) {
    let cancel = ctx.guard.cancel.clone();
    tokio::select! {
        () = run(&ctx, &mut local) => {}
        () = cancel.cancelled() => {}
    }
}

async fn run(ctx: &Ctx, local: &mut Local) {
    let greeted = match ctx.protocol {
        MailProtocol::Imap => imap::greet(&ctx.front, local).await,
        MailProtocol::Pop => pop::greet(&ctx.front, local).await,
        MailProtocol::Smtp => smtp::greet(&ctx.front, local).await,
    };
    if greeted.is_err() {
        return;
    }
    let mut helo = "localhost".to_owned();
    let mut failures = 0;
    loop {
        let creds = match ctx.protocol {
            MailProtocol::Imap => imap::next_login(&ctx.front, local).await,
            MailProtocol::Pop => pop::next_login(&ctx.front, local).await,
            MailProtocol::Smtp => smtp::next_login(&ctx.front, local, &mut helo).await,
        };
        let Ok(creds) = creds else {
            if let Err(Stop::TooLong) = creds {
                let _ = local.send(too_long(ctx.protocol)).await;
            }
            return;
        };
        let refusal = match login(ctx, &creds, &helo).await {
            Ok(upstream) => {
                ctx.gate.sessions.relaying(ctx.guard.id);
                let reader = std::mem::replace(
                    &mut local.reader,
                    tokio::io::BufReader::new(Box::new(crate::mail::conn::empty_stream())),
                );
                relay_all(ctx, reader, upstream).await;
                return;
            }
            Err(r) => r,
        };
        let text = ctx.refusal_text(&refusal, &creds);
        if local.send(&text).await.is_err() {
            return;
        }
        failures += 1;
        if failures >= FAILURES_PER_SESSION || matches!(refusal, Refusal::TooMany { .. }) {
            let _ = local.send(goodbye(ctx.protocol)).await;
            return;
        }
    }
}

async fn login(ctx: &Ctx, creds: &Creds, helo: &str) -> Result<upstream::Upstream, Refusal> {
    let granted = ctx
        .gate
        .check(
            ctx.guard.id,
            ctx.protocol,
            ctx.peer,
            &creds.user,
            creds.password.expose(),
        )
        .await?;
    match upstream::login(
        ctx.protocol,
        &granted,
        ctx.gate.upstream_tls.clone(),
        ctx.timeouts.upstream,
        &creds.tag,
        helo,
    )
    .await
    {
        Ok(up) => Ok(up),
        Err(reason) => {
            ctx.gate.upstream_failed(&granted, ctx.protocol, &reason);
            Err(Refusal::Unavailable { reason })
        }
    }
}

async fn relay_all(
    ctx: &Ctx,
    mut client: tokio::io::BufReader<Box<dyn crate::mail::conn::Stream>>,
    up: upstream::Upstream,
) {
    use tokio::io::AsyncWriteExt;
    // The login's answer first, then the copy. Both readers go into the copy as they are:
    // what either side sent early (the server's first bytes after its answer, a client's
    // pipelined command) is still in their buffers and is handed on first; then the buffers
    // are dropped.
    let server = up.stream;
    if client
        .get_mut()
        .write_all(up.reply.as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let _ = client.get_mut().flush().await;
    let ended = relay::relay(
        client,
        server,
        ctx.guard.counters.clone(),
        ctx.timeouts.relay_idle,
        ctx.guard.cancel.clone(),
    )
    .await;
    tracing::debug!(session = ctx.guard.id, ?ended, "bridge session ended");
}

fn too_long(protocol: MailProtocol) -> &'static str {
    match protocol {
        MailProtocol::Imap => "* BYE Line too long\r\n",
        MailProtocol::Pop => "-ERR Line too long\r\n",
        MailProtocol::Smtp => "500 5.5.6 Line too long\r\n",
    }
}

fn goodbye(protocol: MailProtocol) -> &'static str {
    match protocol {
        MailProtocol::Imap => "* BYE Too many failed logins\r\n",
        MailProtocol::Pop => "-ERR Too many failed logins\r\n",
        MailProtocol::Smtp => "421 4.7.0 Too many failed logins, closing\r\n",
    }
}
