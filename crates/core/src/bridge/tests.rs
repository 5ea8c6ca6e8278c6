//! The local side of each protocol, driven over an in-memory pipe: what a client is offered and
//! told before its login, and the credentials that reach the gate. (The whole bridge against a
//! real Dovecot and real mail programs: `crates/cli/tests/bridge.rs`.)

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio_rustls::TlsAcceptor;

use super::gate::Refusal;
use super::io::{Local, Stop};
use super::session::{Creds, Front};
use super::{imap, pop, smtp};

fn certificate() -> (
    Arc<rustls::ServerConfig>,
    rustls::pki_types::CertificateDer<'static>,
) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = cert.der().clone();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![der.clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (Arc::new(config), der)
}

struct Client<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    async fn send(&mut self, text: &str) {
        self.io.get_mut().write_all(text.as_bytes()).await.unwrap();
        self.io.get_mut().flush().await.unwrap();
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(5), self.io.read_line(&mut line))
            .await
            .expect("an answer in time")
            .unwrap();
        line.trim_end().to_owned()
    }
}

struct Setup {
    front: Front,
    local: Local,
    client: Client<DuplexStream>,
    cert: rustls::pki_types::CertificateDer<'static>,
}

fn setup(peer: &str, allow_plain: bool) -> Setup {
    let (config, cert) = certificate();
    let (a, b) = tokio::io::duplex(64 * 1024);
    Setup {
        front: Front {
            peer: peer.parse().unwrap(),
            allow_plain,
            acceptor: TlsAcceptor::from(config),
            session: None,
        },
        local: Local::new(Box::new(a), false, Duration::from_secs(5)),
        client: Client {
            io: BufReader::new(b),
        },
        cert,
    }
}

async fn tls_client(
    plain: DuplexStream,
    cert: rustls::pki_types::CertificateDer<'static>,
) -> Client<tokio_rustls::client::TlsStream<DuplexStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, plain)
        .await
        .unwrap();
    Client {
        io: BufReader::new(tls),
    }
}

fn b64(text: &str) -> String {
    STANDARD.encode(text.as_bytes())
}

#[tokio::test]
async fn imap_offers_plain_login_on_loopback_and_reads_a_literal_password() {
    let Setup {
        front,
        mut local,
        mut client,
        ..
    } = setup("127.0.0.1", true);
    let server = tokio::spawn(async move {
        imap::greet(&front, &mut local).await.unwrap();
        imap::next_login(&front, &mut local).await
    });
    let greeting = client.line().await;
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1"),
        "{greeting}"
    );
    assert!(
        greeting.contains("AUTH=PLAIN") && greeting.contains("STARTTLS"),
        "{greeting}"
    );
    client.send("a0 NOOP\r\n").await;
    assert_eq!(client.line().await, "a0 OK NOOP completed");
    client.send("a1 SELECT INBOX\r\n").await;
    assert!(client.line().await.starts_with("a1 BAD Log in first"));
    client.send("a2 LOGIN \"ada@contoso.test\" {9}\r\n").await;
    assert!(
        client.line().await.starts_with("+ "),
        "a synchronising literal is invited"
    );
    client.send("pa\"ss wd!\r\n").await;
    let creds: Creds = server.await.unwrap().unwrap();
    assert_eq!(creds.user, "ada@contoso.test");
    assert_eq!(creds.password.expose(), "pa\"ss wd!");
    assert_eq!(creds.tag, "a2");
}

#[tokio::test]
async fn imap_from_the_network_requires_starttls_before_a_login() {
    let Setup {
        front,
        mut local,
        client,
        cert,
    } = setup("192.168.1.30", true);
    let mut client = client;
    let server = tokio::spawn(async move {
        imap::greet(&front, &mut local).await.unwrap();
        imap::next_login(&front, &mut local).await
    });
    let greeting = client.line().await;
    assert!(
        greeting.contains("LOGINDISABLED") && !greeting.contains("AUTH=PLAIN"),
        "{greeting}"
    );
    client.send("a1 LOGIN ada@contoso.test secret\r\n").await;
    assert!(client.line().await.starts_with("a1 NO [PRIVACYREQUIRED]"));
    client.send("a2 STARTTLS\r\n").await;
    assert!(client.line().await.starts_with("a2 OK"));
    let mut tls = tls_client(client.io.into_inner(), cert).await;
    tls.send("a3 CAPABILITY\r\n").await;
    let caps = tls.line().await;
    assert!(
        caps.contains("AUTH=PLAIN") && !caps.contains("STARTTLS"),
        "{caps}"
    );
    assert!(tls.line().await.starts_with("a3 OK"));
    tls.send(&format!(
        "a4 AUTHENTICATE PLAIN {}\r\n",
        b64("\0ada@contoso.test\0secret")
    ))
    .await;
    let creds = server.await.unwrap().unwrap();
    assert_eq!(
        (creds.user.as_str(), creds.password.expose().as_str()),
        ("ada@contoso.test", "secret")
    );
}

#[tokio::test]
async fn imap_plain_login_can_be_switched_off_on_loopback_too() {
    let Setup {
        front,
        mut local,
        mut client,
        ..
    } = setup("127.0.0.1", false);
    tokio::spawn(async move {
        imap::greet(&front, &mut local).await.unwrap();
        let _ = imap::next_login(&front, &mut local).await;
    });
    assert!(client.line().await.contains("LOGINDISABLED"));
    client
        .send(&format!(
            "t AUTHENTICATE PLAIN {}\r\n",
            b64("\0a@b.test\0x")
        ))
        .await;
    assert!(client.line().await.starts_with("t NO [PRIVACYREQUIRED]"));
}

#[tokio::test]
async fn imap_authenticate_asks_for_its_response_and_can_be_cancelled() {
    let Setup {
        front,
        mut local,
        mut client,
        ..
    } = setup("127.0.0.1", true);
    let server = tokio::spawn(async move { imap::next_login(&front, &mut local).await });
    client.send("x AUTHENTICATE PLAIN\r\n").await;
    assert_eq!(client.line().await, "+");
    client.send("*\r\n").await;
    assert_eq!(
        client.line().await,
        "x BAD Authentication cancelled or invalid"
    );
    client.send("y AUTHENTICATE CRAM-MD5\r\n").await;
    assert!(
        client
            .line()
            .await
            .starts_with("y NO Unsupported mechanism")
    );
    client.send("z AUTHENTICATE LOGIN\r\n").await;
    assert_eq!(client.line().await, "+ VXNlcm5hbWU6");
    client
        .send(&format!("{}\r\n", b64("ada@contoso.test")))
        .await;
    assert_eq!(client.line().await, "+ UGFzc3dvcmQ6");
    client.send(&format!("{}\r\n", b64("pw"))).await;
    let creds = server.await.unwrap().unwrap();
    assert_eq!(
        (creds.tag.as_str(), creds.password.expose().as_str()),
        ("z", "pw")
    );
}

#[tokio::test]
async fn a_line_over_the_limit_before_the_login_ends_the_session() {
    let Setup {
        front,
        mut local,
        mut client,
        ..
    } = setup("127.0.0.1", true);
    let server = tokio::spawn(async move { imap::next_login(&front, &mut local).await });
    let long = format!(
        "a LOGIN {} x\r\n",
        "u".repeat(super::limits::MAX_LOGIN_LINE)
    );
    client.send(&long).await;
    assert!(matches!(server.await.unwrap(), Err(Stop::TooLong)));
}

#[tokio::test]
async fn starttls_with_a_command_pipelined_behind_it_is_refused() {
    let Setup {
        front,
        mut local,
        mut client,
        ..
    } = setup("127.0.0.1", true);
    let server =
        tokio::spawn(async move { smtp::next_login(&front, &mut local, &mut String::new()).await });
    client.send("STARTTLS\r\nAUTH PLAIN AGFAYgA=\r\n").await;
    assert!(client.line().await.starts_with("220"));
    assert!(matches!(server.await.unwrap(), Err(Stop::Gone)));
}

#[tokio::test]
async fn pop_takes_user_and_pass_or_auth_plain() {
    let Setup {
        front,
        mut local,
        mut client,
        ..
    } = setup("127.0.0.1", true);
    let server = tokio::spawn(async move {
        pop::greet(&front, &mut local).await.unwrap();
        let first = pop::next_login(&front, &mut local).await;
        let second = pop::next_login(&front, &mut local).await;
        (first, second)
    });
    assert!(client.line().await.starts_with("+OK"));
    client.send("CAPA\r\n").await;
    let mut capa = Vec::new();
    loop {
        let l = client.line().await;
        if l == "." {
            break;
        }
        capa.push(l);
    }
    assert!(
        capa.contains(&"USER".into())
            && capa.contains(&"SASL PLAIN LOGIN".into())
            && capa.contains(&"STLS".into()),
        "{capa:?}"
    );
    client.send("PASS early\r\n").await;
    assert_eq!(client.line().await, "-ERR Send USER first");
    client.send("STAT\r\n").await;
    assert_eq!(client.line().await, "-ERR Log in first");
    client.send("USER ada@contoso.test\r\n").await;
    assert!(client.line().await.starts_with("+OK"));
    client.send("PASS one two\r\n").await;
    client
        .send(&format!(
            "AUTH PLAIN {}\r\n",
            b64("\0bob@contoso.test\0three")
        ))
        .await;
    let (first, second) = server.await.unwrap();
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(
        (first.user.as_str(), first.password.expose().as_str()),
        ("ada@contoso.test", "one two")
    );
    assert_eq!(
        (second.user.as_str(), second.password.expose().as_str()),
        ("bob@contoso.test", "three")
    );
}

#[tokio::test]
async fn smtp_refuses_mail_before_the_login_and_takes_auth_login() {
    let Setup {
        front,
        mut local,
        mut client,
        ..
    } = setup("127.0.0.1", true);
    let server = tokio::spawn(async move {
        smtp::greet(&front, &mut local).await.unwrap();
        let mut helo = String::new();
        let creds = smtp::next_login(&front, &mut local, &mut helo).await;
        (creds, helo)
    });
    assert!(client.line().await.starts_with("220 "));
    client.send("EHLO scanner.office.lan\r\n").await;
    let mut ehlo = Vec::new();
    loop {
        let l = client.line().await;
        let last = l.as_bytes()[3] == b' ';
        ehlo.push(l);
        if last {
            break;
        }
    }
    assert!(
        ehlo.iter().any(|l| l.ends_with("AUTH PLAIN LOGIN")),
        "{ehlo:?}"
    );
    assert!(ehlo.iter().any(|l| l.ends_with("STARTTLS")), "{ehlo:?}");
    client.send("MAIL FROM:<a@b.test>\r\n").await;
    assert_eq!(client.line().await, "530 5.7.0 Authentication required");
    client.send("AUTH LOGIN\r\n").await;
    assert_eq!(client.line().await, "334 VXNlcm5hbWU6");
    client
        .send(&format!("{}\r\n", b64("ada@contoso.test")))
        .await;
    assert_eq!(client.line().await, "334 UGFzc3dvcmQ6");
    client.send(&format!("{}\r\n", b64("pw"))).await;
    let (creds, helo) = server.await.unwrap();
    assert_eq!(creds.unwrap().user, "ada@contoso.test");
    assert_eq!(helo, "scanner.office.lan");
}

#[test]
fn refusals_are_in_each_protocols_words() {
    let unavailable = Refusal::Unavailable {
        reason: "ada@contoso.test needs to sign in again.\nRun mailconn reconnect".into(),
    };
    assert_eq!(
        imap::refusal(&unavailable, "a1"),
        "a1 NO [UNAVAILABLE] ada@contoso.test needs to sign in again. Run mailconn reconnect\r\n"
    );
    assert!(smtp::refusal(&unavailable).starts_with("454 4.7.0 ada@contoso.test"));
    assert!(pop::refusal(&unavailable).starts_with("-ERR [SYS/TEMP] ada@contoso.test"));
    assert_eq!(
        imap::refusal(&Refusal::Credentials, "t"),
        "t NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
    );
    assert_eq!(
        smtp::refusal(&Refusal::Credentials),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    assert_eq!(
        pop::refusal(&Refusal::Credentials),
        "-ERR [AUTH] Invalid credentials\r\n"
    );
    assert!(imap::refusal(&Refusal::TooMany { limit: 3 }, "t").starts_with("t NO [LIMIT]"));
}

/// What a client may send before its login, made of the protocols' own words gone wrong.
fn pre_login_input() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    const PIECES: &[&str] = &[
        "a1 ",
        "LOGIN ",
        "AUTHENTICATE ",
        "PLAIN",
        "LOGIN",
        " ",
        "\"",
        "\\",
        "{",
        "}",
        "{5}",
        "{3+}",
        "{99999}",
        "\r\n",
        "\n",
        "*",
        "=",
        "AGFAYgBj",
        "USER ",
        "PASS ",
        "AUTH ",
        "CAPA",
        "STLS",
        "EHLO ",
        "HELO ",
        "MAIL FROM:<a@b>",
        "NOOP",
        "CAPABILITY",
        "ID",
        "+",
        "\0",
    ];
    let piece = prop_oneof![
        6 => proptest::sample::select(PIECES).prop_map(str::to_owned),
        1 => any::<String>().prop_map(|s| s.chars().take(8).collect::<String>()),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat().into_bytes())
}

#[test]
fn any_input_before_the_login_ends_in_credentials_or_a_stop_without_a_panic() {
    use proptest::test_runner::{Config, TestRunner};
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runner
        .run(&pre_login_input(), |input| {
            for protocol in 0..3 {
                let input = input.clone();
                let done = rt.block_on(async move {
                    let Setup {
                        front,
                        mut local,
                        client,
                        ..
                    } = setup("127.0.0.1", true);
                    let mut io = client.io.into_inner();
                    // The client sends everything, then closes; whatever it said, the session
                    // ends: with credentials, or stopped (closed, too long, too many commands).
                    let writer = tokio::spawn(async move {
                        let _ = io.write_all(&input).await;
                        let _ = io.shutdown().await;
                        let mut sink = Vec::new();
                        let _ = tokio::io::AsyncReadExt::read_to_end(&mut io, &mut sink).await;
                    });
                    let served = tokio::time::timeout(Duration::from_secs(10), async {
                        match protocol {
                            0 => imap::next_login(&front, &mut local).await.map(|_| ()),
                            1 => pop::next_login(&front, &mut local).await.map(|_| ()),
                            _ => smtp::next_login(&front, &mut local, &mut String::new())
                                .await
                                .map(|_| ()),
                        }
                    })
                    .await;
                    drop(local);
                    let _ = writer.await;
                    served.is_ok()
                });
                proptest::prop_assert!(done, "protocol {protocol} did not end");
            }
            Ok(())
        })
        .unwrap();
}
