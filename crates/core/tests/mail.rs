//! The IMAP, POP and SMTP checks against a real Dovecot whose `oauth2` passdb introspects every
//! token at the test identity provider: logins with a real token pass (plain to loopback, and
//! TLS with a local CA, STARTTLS for submission); a revoked or expired token is refused in
//! Dovecot's style (a continuation with a JSON error, answered with an empty line, then `NO` /
//! `-ERR` / `535`) and explained; and a real mail program, msmtp, sends through Dovecot's
//! submission with `auth xoauth2` and `passwordeval`. Run through `scripts/test.sh`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mailconn_core::Sensitive;
use mailconn_core::mail::{self, Login};
use mailconn_core::mail_servers::{MailProtocol, MailServer, Security};
use mailconn_core::verification::{Outcome, Step};
use mailconn_testkit::dovecot::Dovecot;
use mailconn_testkit::{Idp, revoke, sign_in_tokens};

const ALICE: &str = "alice@contoso.test";
const MAIL_SCOPES: &str = "openid profile email offline_access https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn server(port: u16, security: Security) -> MailServer {
    let host = if security == Security::Plain {
        "127.0.0.1"
    } else {
        "localhost"
    };
    mailconn_core::mail_servers::parse(
        MailProtocol::Imap,
        &format!(
            "{}{host}:{port}",
            match security {
                Security::Tls => "tls://",
                Security::StartTls => "starttls://",
                Security::Plain => "plain://",
            }
        ),
    )
    .unwrap()
}

/// A client config trusting only the test CA (the test-only way in; the app uses web PKI roots).
fn trusting(ca: &Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

fn login(server: MailServer, token: &str, ca: &Path) -> Login {
    let mut l = Login::new(server, ALICE, Sensitive::new(token.to_owned()));
    l.tls = trusting(ca);
    l.io_timeout = Duration::from_secs(10);
    l
}

fn check(protocol: MailProtocol, login: &Login) -> Vec<Step> {
    runtime().block_on(mail::check(protocol, login))
}

fn outcomes(steps: &[Step]) -> Vec<(&str, Outcome)> {
    steps.iter().map(|s| (s.name.as_str(), s.outcome)).collect()
}

fn token(idp: &Idp) -> String {
    sign_in_tokens(idp, ALICE, MAIL_SCOPES)["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

#[test]
#[ignore = "needs the test identity provider (node) and Dovecot: run scripts/test.sh"]
fn imap_pop_and_smtp_logins_pass_with_a_real_token_plain_and_over_tls() {
    let idp = Idp::start(&[]);
    let dovecot = Dovecot::start(&idp);
    let ca = dovecot.ca_file();
    let token = token(&idp);

    let cases = [
        (MailProtocol::Imap, dovecot.imap_port, Security::Plain),
        (MailProtocol::Imap, dovecot.imaps_port, Security::Tls),
        (MailProtocol::Pop, dovecot.pop_port, Security::Plain),
        (MailProtocol::Pop, dovecot.pops_port, Security::Tls),
        (MailProtocol::Smtp, dovecot.submission_port, Security::Plain),
        (
            MailProtocol::Smtp,
            dovecot.submission_port,
            Security::StartTls,
        ),
    ];
    for (protocol, port, security) in cases {
        let steps = check(protocol, &login(server(port, security), &token, &ca));
        assert!(
            steps.iter().all(|s| s.outcome != Outcome::Failed),
            "{protocol:?} {security:?}: {steps:#?}\n{}",
            dovecot.log()
        );
        // Measured: each step's time against Dovecot (introspection at the idp on every login).
        let times: Vec<String> = steps
            .iter()
            .map(|s| format!("{} {} ms", s.name, s.duration_ms))
            .collect();
        println!("{protocol:?} {security:?}: {}", times.join(", "));
        let login_step = steps.iter().find(|s| s.name.ends_with("_login")).unwrap();
        assert_eq!(login_step.outcome, Outcome::Passed, "{steps:#?}");
        assert_eq!(
            login_step.message,
            format!("Logged in as {ALICE} with XOAUTH2")
        );
        match protocol {
            MailProtocol::Imap => {
                assert!(steps[2].message.starts_with("INBOX opened"), "{steps:#?}");
            }
            MailProtocol::Pop => {
                assert!(
                    steps[2].message.starts_with("The mailbox has 0 messages"),
                    "{steps:#?}"
                );
            }
            MailProtocol::Smtp => {
                let tls = &steps[1];
                assert_eq!(tls.name, "smtp_tls");
                let want = if security == Security::Plain {
                    Outcome::Skipped
                } else {
                    Outcome::Passed
                };
                assert_eq!(tls.outcome, want, "{steps:#?}");
            }
        }
    }

    // The certificate is checked: without the test CA, TLS fails and nothing is sent.
    let mut untrusted = login(server(dovecot.imaps_port, Security::Tls), &token, &ca);
    untrusted.tls = mailconn_core::mail::conn::tls_config();
    let steps = check(MailProtocol::Imap, &untrusted);
    assert_eq!(
        outcomes(&steps),
        [
            ("imap_connect", Outcome::Failed),
            ("imap_login", Outcome::Skipped),
            ("imap_select", Outcome::Skipped)
        ]
    );
    assert!(
        steps[0].message.contains("TLS handshake"),
        "{}",
        steps[0].message
    );
}

/// What every protocol says when Dovecot refuses a token in a continuation.
fn assert_refused_in_continuation(idp: &Idp, dovecot: &Dovecot, token: &str, ca: &Path) {
    let cases = [
        (MailProtocol::Imap, dovecot.imap_port, "imap_select", "NO"),
        (MailProtocol::Pop, dovecot.pop_port, "pop_stat", "-ERR"),
        (MailProtocol::Smtp, dovecot.submission_port, "", "535"),
    ];
    let _ = idp;
    for (protocol, port, after, code) in cases {
        let steps = check(protocol, &login(server(port, Security::Plain), token, ca));
        let failed = steps
            .iter()
            .find(|s| s.outcome == Outcome::Failed)
            .unwrap_or_else(|| panic!("{protocol:?} passed with a dead token: {steps:#?}"));
        assert!(failed.name.ends_with("_login"), "{steps:#?}");
        let got = failed.code.as_deref().unwrap_or_default();
        // Dovecot's continuation carries {"status":"invalid_token",...}: the code shows both.
        assert!(
            got.starts_with(code) && got.contains('('),
            "{protocol:?}: {got}"
        );
        assert!(
            failed
                .message
                .contains(&format!("refused the access token for {ALICE}")),
            "{}",
            failed.message
        );
        assert!(
            failed.message.contains("expired, was revoked"),
            "{}",
            failed.message
        );
        assert!(failed.fix.as_deref().unwrap().contains("sign in again"));
        if !after.is_empty() {
            let next = steps.iter().find(|s| s.name == after).unwrap();
            assert_eq!(next.outcome, Outcome::Skipped);
        }
    }
}

#[test]
#[ignore = "needs the test identity provider (node) and Dovecot: run scripts/test.sh"]
fn a_revoked_token_is_refused_in_a_continuation_and_explained() {
    let idp = Idp::start(&[]);
    let dovecot = Dovecot::start(&idp);
    let token = token(&idp);
    // It works first.
    let steps = check(
        MailProtocol::Imap,
        &login(
            server(dovecot.imap_port, Security::Plain),
            &token,
            &dovecot.ca_file(),
        ),
    );
    assert_eq!(steps[1].outcome, Outcome::Passed, "{steps:#?}");
    revoke(&idp, &token);
    assert_refused_in_continuation(&idp, &dovecot, &token, &dovecot.ca_file());
}

#[test]
#[ignore = "needs the test identity provider (node) and Dovecot: run scripts/test.sh"]
fn an_expired_token_is_refused_in_a_continuation_and_explained() {
    let idp = Idp::start(&[("IDP_ACCESS_TOKEN_TTL", "2")]);
    let dovecot = Dovecot::start(&idp);
    let token = token(&idp);
    std::thread::sleep(Duration::from_secs(3));
    assert_refused_in_continuation(&idp, &dovecot, &token, &dovecot.ca_file());
}

#[test]
#[ignore = "needs the test identity provider (node), Dovecot and msmtp: run scripts/test.sh"]
fn msmtp_sends_through_dovecot_submission_with_xoauth2() {
    let idp = Idp::start(&[]);
    let dovecot = Dovecot::start(&idp);
    let token_file = dovecot.scratch().join("token");
    std::fs::write(&token_file, token(&idp)).unwrap();
    let config = dovecot.scratch().join("msmtprc");
    // The token command: `mailconn token C --resource smtp` once mail programs can ask for one;
    // here the file holds a token from a sign-in.
    std::fs::write(
        &config,
        format!(
            "account default\nhost 127.0.0.1\nport {}\ntls off\nauth xoauth2\nuser {ALICE}\nfrom {ALICE}\npasswordeval \"cat {}\"\n",
            dovecot.submission_port,
            token_file.display()
        ),
    )
    .unwrap();
    let mut config_mode = std::fs::metadata(&config).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut config_mode, 0o600);
    std::fs::set_permissions(&config, config_mode).unwrap();
    let mut child = std::process::Command::new("msmtp")
        .arg("-C")
        .arg(&config)
        .arg("bob@contoso.test")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("msmtp is installed by scripts/setup.sh test");
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        format!(
            "From: {ALICE}\nTo: bob@contoso.test\nSubject: sent by msmtp with XOAUTH2\n\nHello.\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "msmtp: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        dovecot.log()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let relayed = dovecot.relayed();
        if relayed
            .iter()
            .any(|m| m.contains("Subject: sent by msmtp with XOAUTH2"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not relayed: {relayed:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // A revoked token: msmtp fails and says the server refused.
    revoke(&idp, std::fs::read_to_string(&token_file).unwrap().trim());
    let out = std::process::Command::new("msmtp")
        .arg("-C")
        .arg(&config)
        .arg("bob@contoso.test")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("authentication failed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- Exchange Online's direct answers (a stand-in: Exchange cannot run here) ----------------

fn exchange_login(port: u16, user: &str, token: &str) -> Login {
    let mut l = Login::new(
        server(port, Security::Plain),
        user,
        Sensitive::new(token.to_owned()),
    );
    l.io_timeout = Duration::from_secs(10);
    l
}

#[test]
#[ignore = "needs the test identity provider (node): run scripts/test.sh"]
fn exchange_refusals_are_explained_on_the_direct_style() {
    use mailconn_testkit::exchange::{Exchange, SmtpAuthOff};
    let idp = Idp::start(&[]);
    let exchange = Exchange::start(&idp);
    let token = token(&idp);
    let ports = [
        (MailProtocol::Imap, exchange.imap_port),
        (MailProtocol::Pop, exchange.pop_port),
        (MailProtocol::Smtp, exchange.smtp_port),
    ];
    for (protocol, port) in ports {
        let steps = check(protocol, &exchange_login(port, ALICE, &token));
        assert!(
            steps.iter().all(|s| s.outcome != Outcome::Failed),
            "{protocol:?}: {steps:#?}"
        );
    }

    // SMTP AUTH turned off: the token is fine; the admin's setting is named.
    for (off, words) in [
        (SmtpAuthOff::Tenant, "turned off for the whole organisation"),
        (SmtpAuthOff::Mailbox, "turned off for this mailbox"),
    ] {
        exchange.smtp_auth_off(Some(off));
        let steps = check(
            MailProtocol::Smtp,
            &exchange_login(exchange.smtp_port, ALICE, &token),
        );
        let login = steps.iter().find(|s| s.name == "smtp_login").unwrap();
        assert_eq!(login.outcome, Outcome::Failed);
        assert_eq!(login.code.as_deref(), Some("535 5.7.139"));
        assert!(login.message.contains(words), "{}", login.message);
        let fix = login.fix.as_deref().unwrap();
        assert!(
            fix.contains(&format!(
                "Set-CASMailbox -Identity {ALICE} -SmtpClientAuthenticationDisabled $false"
            )),
            "{fix}"
        );
        assert!(
            fix.contains("Set-TransportConfig -SmtpClientAuthenticationDisabled $false"),
            "{fix}"
        );
    }
    exchange.smtp_auth_off(None);

    // A shared mailbox: user= is the shared address, the token the delegate's.
    exchange.add_delegate("sales@contoso.test", ALICE);
    let steps = check(
        MailProtocol::Imap,
        &exchange_login(exchange.imap_port, "sales@contoso.test", &token),
    );
    assert_eq!(steps[1].outcome, Outcome::Passed, "{steps:#?}");
    // Addressed the wrong way (a mailbox the token's owner is no delegate of): refused at once,
    // and the explanation says how a shared mailbox is addressed.
    let steps = check(
        MailProtocol::Smtp,
        &exchange_login(exchange.smtp_port, "support@contoso.test", &token),
    );
    let login = steps.iter().find(|s| s.name == "smtp_login").unwrap();
    assert_eq!(login.code.as_deref(), Some("535 5.7.3"), "{steps:#?}");
    assert!(
        login.fix.as_deref().unwrap().contains("user=shared@"),
        "{login:?}"
    );

    // Revoked: IMAP `NO AUTHENTICATE failed.`, POP `-ERR`, SMTP `535 5.7.3`, without a continuation.
    revoke(&idp, &token);
    for (protocol, port) in ports {
        let steps = check(protocol, &exchange_login(port, ALICE, &token));
        let failed = steps.iter().find(|s| s.outcome == Outcome::Failed).unwrap();
        assert!(failed.name.ends_with("_login"), "{steps:#?}");
        let want = match protocol {
            MailProtocol::Imap => "NO",
            MailProtocol::Pop => "-ERR",
            MailProtocol::Smtp => "535 5.7.3",
        };
        assert_eq!(failed.code.as_deref(), Some(want), "{protocol:?}");
        assert!(
            failed.message.contains("expired or was revoked"),
            "{}",
            failed.message
        );
        if protocol == MailProtocol::Imap {
            assert!(failed.fix.as_deref().unwrap().contains(&format!(
                "Set-CASMailbox -Identity {ALICE} -ImapEnabled $true"
            )));
        }
    }
}

// ---- hostile or silent servers: every read is capped and timed ---------------------------

/// A server on loopback that greets with `greeting`, then answers every line with `answer`
/// (written once per received line), for the caps and timeouts.
fn hostile(greeting: &'static [u8], answer: &'static [u8]) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                use std::io::{BufRead, Write};
                let _ = stream.write_all(greeting);
                let reader = std::io::BufReader::new(stream.try_clone().unwrap());
                for _ in reader.lines() {
                    if stream.write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn quick(port: u16) -> Login {
    let mut l = Login::new(
        server(port, Security::Plain),
        ALICE,
        Sensitive::new("EwBtoken".into()),
    );
    l.io_timeout = Duration::from_secs(1);
    l.step_timeout = Duration::from_secs(3);
    l
}

#[test]
fn an_endless_line_is_cut_off_at_the_cap() {
    static HUGE: std::sync::LazyLock<&'static [u8]> =
        std::sync::LazyLock::new(|| Box::leak(vec![b'x'; 1 << 20].into_boxed_slice()));
    let port = hostile(b"* OK ready\r\n", &HUGE);
    let started = std::time::Instant::now();
    let steps = check(MailProtocol::Imap, &quick(port));
    assert_eq!(
        outcomes(&steps)[1],
        ("imap_login", Outcome::Failed),
        "{steps:#?}"
    );
    assert!(
        steps[1].message.contains("too long"),
        "{}",
        steps[1].message
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn endless_untagged_lines_stop_at_the_line_limit() {
    static MANY: std::sync::LazyLock<&'static [u8]> = std::sync::LazyLock::new(|| {
        Box::leak(
            "* CAPABILITY IMAP4rev1\r\n"
                .repeat(500)
                .into_bytes()
                .into_boxed_slice(),
        )
    });
    let port = hostile(b"* OK ready\r\n", &MANY);
    let steps = check(MailProtocol::Imap, &quick(port));
    assert_eq!(steps[1].outcome, Outcome::Failed, "{steps:#?}");
    assert!(
        steps[1].message.contains("too long"),
        "{}",
        steps[1].message
    );
}

#[test]
fn a_silent_server_times_out_on_each_protocol() {
    for protocol in [MailProtocol::Imap, MailProtocol::Pop, MailProtocol::Smtp] {
        let port = hostile(b"", b"");
        let started = std::time::Instant::now();
        let steps = check(protocol, &quick(port));
        assert_eq!(steps[0].outcome, Outcome::Failed, "{steps:#?}");
        assert!(
            steps[0].message.contains("did not answer in time"),
            "{}",
            steps[0].message
        );
        assert!(steps[1..].iter().all(|s| s.outcome == Outcome::Skipped));
        assert!(started.elapsed() < Duration::from_secs(3), "{protocol:?}");
    }
}

#[test]
fn nothing_listening_is_a_connect_failure_with_a_fix() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let steps = check(MailProtocol::Smtp, &quick(port));
    assert!(
        steps[0]
            .message
            .starts_with("Could not connect to 127.0.0.1:"),
        "{}",
        steps[0].message
    );
    assert!(steps[0].fix.as_deref().unwrap().contains("firewall"));
}

#[test]
fn a_submission_server_without_starttls_is_refused_before_any_token_is_sent() {
    let port = hostile(
        b"220 mail.example.test ESMTP\r\n",
        b"250-mail.example.test\r\n250 AUTH XOAUTH2\r\n",
    );
    let mut login = quick(port);
    login.server = mailconn_core::mail_servers::parse(
        MailProtocol::Smtp,
        &format!("starttls://127.0.0.1:{port}"),
    )
    .unwrap();
    let steps = check(MailProtocol::Smtp, &login);
    assert_eq!(
        outcomes(&steps),
        [
            ("smtp_connect", Outcome::Passed),
            ("smtp_tls", Outcome::Failed),
            ("smtp_login", Outcome::Skipped)
        ]
    );
    assert!(
        steps[1].message.contains("does not offer STARTTLS"),
        "{}",
        steps[1].message
    );
}
