//! The mail servers of the protocol tests for tests that are not Rust (the end-to-end tests):
//! a real Dovecot and the Exchange Online stand-in, both checking tokens at the identity
//! provider whose base URL is the first argument. Prints one JSON line with their ports, then
//! runs until its standard input closes. Dovecot's entry also has its TLS ports (`imaps`, `pops`;
//! submission offers STARTTLS) and `ca_file`, the CA that signed its certificate.
//!
//! `mail-servers http://127.0.0.1:PORT [--exchange-smtp-auth-off mailbox|tenant]`

use std::io::Read as _;

use mailconn_testkit::Idp;
use mailconn_testkit::dovecot::Dovecot;
use mailconn_testkit::exchange::{Exchange, SmtpAuthOff};

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .expect("usage: mail-servers IDP_BASE_URL [--exchange-smtp-auth-off mailbox|tenant]");
    let off = match (args.next().as_deref(), args.next().as_deref()) {
        (Some("--exchange-smtp-auth-off"), Some("mailbox")) => Some(SmtpAuthOff::Mailbox),
        (Some("--exchange-smtp-auth-off"), Some("tenant")) => Some(SmtpAuthOff::Tenant),
        (None, _) => None,
        other => panic!("unknown arguments {other:?}"),
    };
    let idp = Idp::attach(&base);
    let dovecot = Dovecot::start(&idp);
    let exchange = Exchange::start(&idp);
    exchange.smtp_auth_off(off);
    println!(
        "{}",
        serde_json::json!({
            "dovecot": {
                "imap": dovecot.imap_port,
                "pop": dovecot.pop_port,
                "submission": dovecot.submission_port,
                "imaps": dovecot.imaps_port,
                "pops": dovecot.pops_port,
                "ca_file": dovecot.ca_file(),
            },
            "exchange": {
                "imap": exchange.imap_port,
                "pop": exchange.pop_port,
                "smtp": exchange.smtp_port,
            },
        })
    );
    // Until the test that started it closes its end (or exits).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(exchange);
    drop(dovecot);
}
