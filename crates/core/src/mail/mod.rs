//! Protocol checks: a SASL XOAUTH2 login over IMAP (then `SELECT INBOX`), POP (then `STAT`) and
//! SMTP submission (`EHLO`, `STARTTLS`, `EHLO`, `AUTH XOAUTH2`), each step with its result and
//! time ([`crate::verification::Step`]).
//!
//! The clients are small and written here on purpose. A check must see and time every step,
//! answer a continuation that carries an error with an empty line (and then read the refusal),
//! cap every line and every answer, and put a timeout on every read and write. `lettre` hides
//! the steps of a submission behind one `send` and its XOAUTH2 mechanism gives up on a
//! continuation instead of answering it; there is no maintained async POP client; and
//! `async-imap` would bring its own parser stack for two commands. What is used here is the
//! field's TLS (rustls through tokio-rustls, the web PKI roots, as for HTTP).
//!
//! No mail is read or sent: IMAP opens the inbox (read-only), POP counts, SMTP stops after
//! `AUTH`. Secrets: the SASL response goes out through [`conn::Conn::send_secret`] only.

pub mod conn;
pub mod explain;
mod imap;
mod pop;
pub mod sasl;
mod smtp;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Sensitive;
use crate::mail_servers::{MailProtocol, MailServer, Security};
use crate::verification::{Step, StepProtocol};
use conn::Broken;

/// How long one read or write may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one step may take in all (a server trickling lines stops here).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// What a login needs.
#[derive(Debug, Clone)]
pub struct Login {
    pub server: MailServer,
    /// The mailbox address (`user=` of XOAUTH2).
    pub user: String,
    /// An access token for the Outlook resource.
    pub token: Sensitive<String>,
    pub tls: Arc<rustls::ClientConfig>,
    pub io_timeout: Duration,
    pub step_timeout: Duration,
}

impl Login {
    pub fn new(server: MailServer, user: &str, token: Sensitive<String>) -> Self {
        Self {
            server,
            user: user.to_owned(),
            token,
            tls: conn::tls_config(),
            io_timeout: IO_TIMEOUT,
            step_timeout: STEP_TIMEOUT,
        }
    }

    fn initial_response(&self) -> Sensitive<String> {
        sasl::xoauth2(&self.user, &self.token)
    }
}

/// Runs one protocol's check.
pub async fn check(protocol: MailProtocol, login: &Login) -> Vec<Step> {
    match protocol {
        MailProtocol::Imap => imap::check(login).await,
        MailProtocol::Pop => pop::check(login).await,
        MailProtocol::Smtp => smtp::check(login).await,
    }
}

/// Why a step failed.
#[derive(Debug)]
pub(crate) struct Failed {
    message: String,
    fix: Option<String>,
    code: Option<String>,
}

impl Failed {
    fn broken(b: &Broken, server: &MailServer) -> Self {
        Self {
            message: b.describe(server),
            fix: b.fix(),
            code: None,
        }
    }

    fn refused(r: explain::Refusal) -> Self {
        Self {
            message: r.message,
            fix: Some(r.fix),
            code: Some(r.code),
        }
    }

    fn said(message: String, answer: &str) -> Self {
        Self {
            message,
            fix: None,
            code: Some(
                answer
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        }
    }
}

/// The steps of one protocol, in order; after a failure the rest are skipped.
pub(crate) struct Steps<'a> {
    protocol: StepProtocol,
    login: &'a Login,
    out: Vec<Step>,
    failed: bool,
}

impl<'a> Steps<'a> {
    fn new(protocol: StepProtocol, login: &'a Login) -> Self {
        Self {
            protocol,
            login,
            out: Vec::new(),
            failed: false,
        }
    }

    /// Runs a step unless one before failed; `Some` with its value when it passed.
    async fn run<T>(
        &mut self,
        name: &str,
        step: impl Future<Output = Result<(T, String), Failed>>,
    ) -> Option<T> {
        if self.failed {
            self.skip(name, "Skipped: an earlier step failed.");
            return None;
        }
        let started = Instant::now();
        let result = match tokio::time::timeout(self.login.step_timeout, step).await {
            Ok(r) => r,
            Err(_) => Err(Failed::broken(&Broken::Timeout, &self.login.server)),
        };
        match result {
            Ok((value, message)) => {
                self.out
                    .push(Step::passed(name, self.protocol, message).timed(started));
                Some(value)
            }
            Err(f) => {
                self.failed = true;
                self.out.push(
                    Step::failed(name, self.protocol, f.message)
                        .with_fix(f.fix)
                        .with_code(f.code)
                        .timed(started),
                );
                None
            }
        }
    }

    /// The steps that cannot run after the one that failed.
    fn skip_rest(&mut self, names: &[&str]) {
        for name in names {
            self.skip(name, "Skipped: an earlier step failed.");
        }
    }

    fn skip(&mut self, name: &str, why: &str) {
        self.out.push(Step::skipped(name, self.protocol, why));
    }

    fn pass(&mut self, name: &str, message: &str) {
        self.out.push(Step::passed(name, self.protocol, message));
    }

    fn done(self) -> Vec<Step> {
        self.out
    }
}

/// "outlook.office365.com:993 with TLS".
fn where_and_how(server: &MailServer) -> String {
    let how = match server.security {
        Security::Tls => "with TLS",
        Security::StartTls => "(STARTTLS next)",
        Security::Plain => "without TLS (loopback)",
    };
    format!("{}:{} {how}", server.host, server.port)
}

/// A server's line, shortened for a message.
fn quote(line: &str) -> String {
    let mut s: String = line.chars().take(200).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}
