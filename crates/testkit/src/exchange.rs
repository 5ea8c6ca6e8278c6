//! An Exchange Online stand-in for IMAP, POP and SMTP submission, because Exchange cannot run
//! here and its answers differ from Dovecot's: a refused XOAUTH2 login is answered at once
//! (`A1 NO AUTHENTICATE failed.`, `-ERR Authentication failure: ...`, `535 5.7.3
//! Authentication unsuccessful [...]`), never with a continuation; SMTP AUTH turned off answers
//! `535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the
//! Tenant|Mailbox. ...`. The lines are Exchange's as mail programs log them.
//!
//! Tokens are real: each is introspected at `tests/idp` (active, its `email`, and the
//! protocol's Outlook scope). A login's `user=` must be the token's own address, or a shared
//! mailbox the token's owner is a delegate of (Full Access), as at Exchange. Plain TCP on
//! loopback only (the app allows no plain connection elsewhere); STARTTLS is not offered.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::Idp;

/// Where SMTP AUTH is turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpAuthOff {
    Tenant,
    Mailbox,
}

#[derive(Debug, Default)]
struct Settings {
    smtp_auth_off: Option<SmtpAuthOff>,
    /// shared mailbox → delegates with Full Access.
    delegates: HashMap<String, Vec<String>>,
}

#[derive(Debug)]
struct Shared {
    settings: Mutex<Settings>,
    introspect: String,
    client_id: String,
    secret: String,
    stop: AtomicBool,
}

/// A running stand-in; stopped when dropped.
#[derive(Debug)]
pub struct Exchange {
    shared: Arc<Shared>,
    pub imap_port: u16,
    pub pop_port: u16,
    pub smtp_port: u16,
}

const HOST: &str = "BN9PR03CA0123.outlook.office365.com";

impl Exchange {
    pub fn start(idp: &Idp) -> Self {
        let shared = Arc::new(Shared {
            settings: Mutex::new(Settings::default()),
            introspect: format!("{}/common/oauth2/v2.0/introspect", idp.base),
            client_id: idp.fixture("/clients/web/client_id"),
            secret: idp.fixture("/clients/web/secrets/0/value"),
            stop: AtomicBool::new(false),
        });
        let listen = |serve: fn(TcpStream, &Shared)| {
            let listener = TcpListener::bind("127.0.0.1:0").expect("loopback port");
            let port = listener.local_addr().expect("address").port();
            let shared = shared.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = shared.clone();
                    std::thread::spawn(move || {
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                        serve(stream, &shared);
                    });
                }
            });
            port
        };
        let imap_port = listen(imap);
        let pop_port = listen(pop);
        let smtp_port = listen(smtp);
        Self {
            shared,
            imap_port,
            pop_port,
            smtp_port,
        }
    }

    /// Turns SMTP AUTH off for the tenant or the mailbox (`Set-TransportConfig` /
    /// `Set-CASMailbox -SmtpClientAuthenticationDisabled $true`), or back on (`None`).
    pub fn smtp_auth_off(&self, off: Option<SmtpAuthOff>) {
        self.shared.settings.lock().expect("settings").smtp_auth_off = off;
    }

    /// Gives `delegate` Full Access to the shared mailbox `shared`.
    pub fn add_delegate(&self, shared: &str, delegate: &str) {
        self.shared
            .settings
            .lock()
            .expect("settings")
            .delegates
            .entry(shared.to_ascii_lowercase())
            .or_default()
            .push(delegate.to_ascii_lowercase());
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Wake the accept loops so they see the flag.
        for port in [self.imap_port, self.pop_port, self.smtp_port] {
            let _ = TcpStream::connect(("127.0.0.1", port));
        }
    }
}

/// Whether an XOAUTH2 response (base64) authenticates `user` for the protocol's scope.
fn authenticates(shared: &Shared, b64: &str, scope: &str) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let mut user = None;
    let mut token = None;
    for part in raw.split('\x01') {
        if let Some(u) = part.strip_prefix("user=") {
            user = Some(u.to_ascii_lowercase());
        } else if let Some(t) = part.strip_prefix("auth=Bearer ") {
            token = Some(t.to_owned());
        }
    }
    let (Some(user), Some(token)) = (user, token) else {
        return false;
    };
    let answer: Value = match reqwest::blocking::Client::new()
        .post(&shared.introspect)
        .basic_auth(&shared.client_id, Some(&shared.secret))
        .form(&[("token", token.as_str())])
        .send()
        .and_then(reqwest::blocking::Response::json)
    {
        Ok(v) => v,
        Err(_) => return false,
    };
    if answer["active"] != true {
        return false;
    }
    let has_scope = answer["scope"].as_str().is_some_and(|s| {
        s.split_whitespace().any(|x| {
            x.to_ascii_lowercase()
                .ends_with(&scope.to_ascii_lowercase())
        })
    });
    let owner = answer["email"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let settings = shared.settings.lock().expect("settings");
    let may = owner == user
        || settings
            .delegates
            .get(&user)
            .is_some_and(|d| d.contains(&owner));
    has_scope && may
}

fn write(stream: &mut TcpStream, lines: &[&str]) -> bool {
    let mut out = String::new();
    for l in lines {
        out.push_str(l);
        out.push_str("\r\n");
    }
    stream.write_all(out.as_bytes()).is_ok()
}

fn lines(stream: &TcpStream) -> impl Iterator<Item = String> + use<> {
    BufReader::new(stream.try_clone().expect("clone"))
        .lines()
        .map_while(Result::ok)
        .map(|l| l.trim_end_matches('\r').to_owned())
}

fn imap(mut stream: TcpStream, shared: &Shared) {
    write(
        &mut stream,
        &[
            "* OK The Microsoft Exchange IMAP4 service is ready. [QgBOADkAUABSADAAMwBDAEEAMAAxADIAMwA=]",
        ],
    );
    let mut authenticated = false;
    for line in lines(&stream) {
        let mut words = line.splitn(3, ' ');
        let tag = words.next().unwrap_or("*").to_owned();
        let command = words.next().unwrap_or_default().to_ascii_uppercase();
        let rest = words.next().unwrap_or_default();
        let ok = match command.as_str() {
            "CAPABILITY" => write(
                &mut stream,
                &[
                    "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
                    &format!("{tag} OK CAPABILITY completed."),
                ],
            ),
            "AUTHENTICATE" => {
                let response = rest.strip_prefix("XOAUTH2 ").unwrap_or_default();
                authenticated = authenticates(shared, response, "IMAP.AccessAsUser.All");
                if authenticated {
                    write(&mut stream, &[&format!("{tag} OK AUTHENTICATE completed.")])
                } else {
                    write(&mut stream, &[&format!("{tag} NO AUTHENTICATE failed.")])
                }
            }
            "SELECT" if !authenticated => write(
                &mut stream,
                &[&format!("{tag} BAD User is not authenticated.")],
            ),
            "SELECT" => write(
                &mut stream,
                &[
                    "* 3 EXISTS",
                    "* 0 RECENT",
                    "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)",
                    "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)] Permanent flags",
                    "* OK [UIDVALIDITY 14] UIDVALIDITY value",
                    "* OK [UIDNEXT 4] The next unique identifier value",
                    &format!("{tag} OK [READ-WRITE] SELECT completed."),
                ],
            ),
            "LOGOUT" => {
                write(
                    &mut stream,
                    &[
                        "* BYE Microsoft Exchange Server IMAP4 server signing off.",
                        &format!("{tag} OK LOGOUT completed."),
                    ],
                );
                return;
            }
            _ => write(&mut stream, &[&format!("{tag} BAD Command Error. 10")]),
        };
        if !ok {
            return;
        }
    }
}

fn pop(mut stream: TcpStream, shared: &Shared) {
    write(
        &mut stream,
        &[
            "+OK The Microsoft Exchange POP3 service is ready. [QgBOADkAUABSADAAMwBDAEEAMAAxADIAMwA=]",
        ],
    );
    let mut reader = lines(&stream);
    let mut authenticated = false;
    while let Some(line) = reader.next() {
        let upper = line.to_ascii_uppercase();
        let ok = if upper == "AUTH XOAUTH2" {
            write(&mut stream, &["+ "]);
            let response = reader.next().unwrap_or_default();
            authenticated = authenticates(shared, &response, "POP.AccessAsUser.All");
            if authenticated {
                write(&mut stream, &["+OK User successfully authenticated."])
            } else {
                write(
                    &mut stream,
                    &["-ERR Authentication failure: unknown user name or bad password."],
                )
            }
        } else if upper == "STAT" && authenticated {
            write(&mut stream, &["+OK 3 4096"])
        } else if upper == "QUIT" {
            write(
                &mut stream,
                &["+OK Microsoft Exchange Server POP3 server signing off."],
            );
            return;
        } else {
            write(&mut stream, &["-ERR Protocol error. 14"])
        };
        if !ok {
            return;
        }
    }
}

fn smtp(mut stream: TcpStream, shared: &Shared) {
    let stamp = "Tue, 1 Dec 2026 22:00:00 +0000 08DE1C2F3A4B5C6D";
    write(
        &mut stream,
        &[&format!(
            "220 {HOST} Microsoft ESMTP MAIL Service ready at {stamp}"
        )],
    );
    for line in lines(&stream) {
        let upper = line.to_ascii_uppercase();
        let ok = if upper.starts_with("EHLO") {
            write(
                &mut stream,
                &[
                    &format!("250-{HOST} Hello [127.0.0.1]"),
                    "250-SIZE 157286400",
                    "250-PIPELINING",
                    "250-DSN",
                    "250-ENHANCEDSTATUSCODES",
                    "250-AUTH LOGIN XOAUTH2",
                    "250-8BITMIME",
                    "250-BINARYMIME",
                    "250-CHUNKING",
                    "250 SMTPUTF8",
                ],
            )
        } else if let Some(response) = line.strip_prefix("AUTH XOAUTH2 ") {
            let trace = format!("[{HOST} 2026-12-01T22:00:00.000Z 08DE1C2F3A4B5C6D]");
            if authenticates(shared, response, "SMTP.Send") {
                let off = shared.settings.lock().expect("settings").smtp_auth_off;
                match off {
                    None => write(&mut stream, &["235 2.7.0 Authentication successful"]),
                    Some(scope) => {
                        let which = match scope {
                            SmtpAuthOff::Tenant => "Tenant",
                            SmtpAuthOff::Mailbox => "Mailbox",
                        };
                        write(
                            &mut stream,
                            &[&format!(
                                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the {which}. Visit https://aka.ms/smtp_auth_disabled for more information. {trace}"
                            )],
                        )
                    }
                }
            } else {
                write(
                    &mut stream,
                    &[&format!("535 5.7.3 Authentication unsuccessful {trace}")],
                )
            }
        } else if upper == "QUIT" {
            write(
                &mut stream,
                &["221 2.0.0 Service closing transmission channel"],
            );
            return;
        } else {
            write(&mut stream, &["500 5.3.3 Unrecognized command"])
        };
        if !ok {
            return;
        }
    }
}
