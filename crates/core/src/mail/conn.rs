//! One connection to a mail server: TCP, TLS (from the start or after STARTTLS), and reading
//! the server's lines with a cap on every line, on the number of lines of one answer and a
//! timeout on every read and write.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::Sensitive;
use crate::mail_servers::{MailServer, Security};

/// The longest line a server may send (RFC 5321 allows 512 for replies; IMAP capability and
/// Exchange's explanations stay far below this).
pub const MAX_LINE: usize = 8 * 1024;
/// The most lines one answer may have (EHLO's list, IMAP's untagged lines before the tag).
pub const MAX_LINES: usize = 200;

/// Why talking to the server stopped.
#[derive(Debug)]
pub enum Broken {
    /// TCP connect failed (refused, unreachable, no such host).
    Connect(std::io::Error),
    Tls(String),
    /// No answer within the step's time.
    Timeout,
    /// The server closed the connection.
    Closed,
    /// A line longer than [`MAX_LINE`], or an answer of more than [`MAX_LINES`] lines.
    TooLong,
    Io(std::io::Error),
    /// The server answered something this protocol does not allow here.
    Unexpected(String),
}

impl Broken {
    /// Plain words for a person.
    pub fn describe(&self, server: &MailServer) -> String {
        let at = format!("{}:{}", server.host, server.port);
        match self {
            Broken::Connect(e) => format!("Could not connect to {at}: {e}."),
            Broken::Tls(e) => format!("The TLS handshake with {at} failed: {e}."),
            Broken::Timeout => format!("{at} did not answer in time."),
            Broken::Closed => format!("{at} closed the connection."),
            Broken::TooLong => format!("{at} sent an answer that is too long; stopped reading."),
            Broken::Io(e) => format!("The connection to {at} broke: {e}."),
            Broken::Unexpected(line) => format!("{at} answered unexpectedly: {line}"),
        }
    }

    pub fn fix(&self) -> Option<String> {
        match self {
            Broken::Connect(_) | Broken::Timeout => Some(
                "Check the network, a firewall or proxy, and the server's name and port.".into(),
            ),
            Broken::Tls(_) => Some(
                "Check the server's name: the certificate must be for it. A proxy that inspects TLS needs its certificate trusted.".into(),
            ),
            _ => None,
        }
    }
}

/// A byte stream to or from a mail program or server: TCP, or TLS over it.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A stream with nothing in it, for the moment a real one is moved into a TLS handshake.
pub fn empty_stream() -> impl Stream {
    empty::Empty
}

/// A connection, plain or TLS.
pub struct Conn {
    reader: BufReader<Box<dyn Stream>>,
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    host: String,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("host", &self.host)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Connects, with TLS first when the server's security says so.
    pub async fn open(
        server: &MailServer,
        tls: Arc<rustls::ClientConfig>,
        timeout: Duration,
    ) -> Result<Self, Broken> {
        let tcp = tokio::time::timeout(
            timeout,
            TcpStream::connect((server.host.as_str(), server.port)),
        )
        .await
        .map_err(|_| Broken::Timeout)?
        .map_err(Broken::Connect)?;
        let _ = tcp.set_nodelay(true);
        let mut conn = Self {
            reader: BufReader::new(Box::new(tcp)),
            timeout,
            tls,
            host: server.host.clone(),
        };
        if server.security == Security::Tls {
            conn.start_tls().await?;
        }
        Ok(conn)
    }

    /// Wraps the connection in TLS (after `STARTTLS` was accepted, or at once). Anything the
    /// server sent before the handshake would be unprotected, so it is refused.
    pub async fn start_tls(&mut self) -> Result<(), Broken> {
        if !self.reader.buffer().is_empty() {
            return Err(Broken::Unexpected(
                "data before the TLS handshake (refused, it could be injected)".into(),
            ));
        }
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| Broken::Tls(format!("bad server name: {e}")))?;
        let placeholder: Box<dyn Stream> = Box::new(empty::Empty);
        let io = std::mem::replace(&mut self.reader, BufReader::new(placeholder)).into_inner();
        let stream = tokio::time::timeout(
            self.timeout,
            TlsConnector::from(self.tls.clone()).connect(name, io),
        )
        .await
        .map_err(|_| Broken::Timeout)?
        .map_err(|e| Broken::Tls(e.to_string()))?;
        self.reader = BufReader::new(Box::new(stream));
        Ok(())
    }

    /// The stream and whatever the server sent that was not read yet (the bridge relays from
    /// here on).
    pub fn into_inner(self) -> BufReader<Box<dyn Stream>> {
        self.reader
    }

    /// One line without its CRLF. Longer than [`MAX_LINE`]: [`Broken::TooLong`].
    pub async fn line(&mut self) -> Result<String, Broken> {
        let mut buf = Vec::new();
        let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX);
        let mut limited = (&mut self.reader).take(limit);
        let n = tokio::time::timeout(self.timeout, limited.read_until(b'\n', &mut buf))
            .await
            .map_err(|_| Broken::Timeout)?
            .map_err(Broken::Io)?;
        if n == 0 {
            return Err(Broken::Closed);
        }
        if !buf.ends_with(b"\n") {
            return Err(if buf.len() >= MAX_LINE {
                Broken::TooLong
            } else {
                Broken::Closed
            });
        }
        let text = String::from_utf8_lossy(&buf);
        Ok(text.trim_end_matches(['\r', '\n']).to_owned())
    }

    /// Sends one line (CRLF added).
    pub async fn send(&mut self, line: &str) -> Result<(), Broken> {
        self.write(line.as_bytes()).await
    }

    /// Sends a secret line (a SASL response); the text never reaches a log.
    pub async fn send_secret(&mut self, line: &Sensitive<String>) -> Result<(), Broken> {
        self.write(line.expose().as_bytes()).await
    }

    async fn write(&mut self, line: &[u8]) -> Result<(), Broken> {
        let mut data = Vec::with_capacity(line.len() + 2);
        data.extend_from_slice(line);
        data.extend_from_slice(b"\r\n");
        let io = self.reader.get_mut();
        let write = async {
            io.write_all(&data).await?;
            io.flush().await
        };
        tokio::time::timeout(self.timeout, write)
            .await
            .map_err(|_| Broken::Timeout)?
            .map_err(Broken::Io)
    }
}

/// The TLS settings for mail servers: the same web PKI roots as the app's HTTP client. Debug
/// builds also trust the PEM certificates in `MAILCONN_TEST_CA_FILE` (tests with a local CA);
/// release builds ignore it.
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = std::env::var_os(TEST_CA_ENV).filter(|_| cfg!(debug_assertions)) {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        if let Ok(certs) = CertificateDer::pem_file_iter(&path) {
            for cert in certs.flatten() {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Debug builds only: a PEM file of extra trusted CA certificates for mail servers.
pub const TEST_CA_ENV: &str = "MAILCONN_TEST_CA_FILE";

mod empty {
    //! A stand-in stream for the moment the real one is moved into the TLS handshake.
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    #[derive(Debug)]
    pub struct Empty;

    impl AsyncRead for Empty {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Empty {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(Err(std::io::ErrorKind::NotConnected.into()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
}
