//! The local leg's stream: plain or TLS (after `STARTTLS` or from the start), read line by line
//! before the login with a cap on the line and a timeout, and written with a timeout.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::TlsAcceptor;

use crate::mail::conn::Stream;

/// Why the local side stopped.
#[derive(Debug)]
pub enum Stop {
    /// The client closed, went silent too long, or broke the connection.
    Gone,
    /// A line over the limit.
    TooLong,
}

/// The client's connection before the login.
pub struct Local {
    pub reader: BufReader<Box<dyn Stream>>,
    pub tls: bool,
    idle: Duration,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local")
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Local {
    pub fn new(stream: Box<dyn Stream>, tls: bool, idle: Duration) -> Self {
        Self {
            reader: BufReader::new(stream),
            tls,
            idle,
        }
    }

    /// One line without its CRLF; `Stop::TooLong` past `max` bytes.
    pub async fn line(&mut self, max: usize) -> Result<String, Stop> {
        let mut buf = Vec::new();
        let read = async {
            let mut limited = (&mut self.reader).take(max as u64 + 1);
            limited.read_until(b'\n', &mut buf).await
        };
        match tokio::time::timeout(self.idle, read).await {
            Ok(Ok(0) | Err(_)) | Err(_) => return Err(Stop::Gone),
            Ok(Ok(_)) => {}
        }
        if buf.last() != Some(&b'\n') {
            return Err(if buf.len() > max {
                Stop::TooLong
            } else {
                Stop::Gone
            });
        }
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Exactly `n` bytes (an IMAP literal).
    pub async fn bytes(&mut self, n: usize) -> Result<Vec<u8>, Stop> {
        let mut buf = vec![0; n];
        match tokio::time::timeout(self.idle, self.reader.read_exact(&mut buf)).await {
            Ok(Ok(_)) => Ok(buf),
            _ => Err(Stop::Gone),
        }
    }

    pub async fn send(&mut self, text: &str) -> Result<(), Stop> {
        let w = async {
            let s = self.reader.get_mut();
            s.write_all(text.as_bytes()).await?;
            s.flush().await
        };
        match tokio::time::timeout(self.idle, w).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Stop::Gone),
        }
    }

    /// Switches to TLS after the client's `STARTTLS` was answered. Bytes the client sent before
    /// the handshake (command injection) are refused.
    pub async fn start_tls(&mut self, acceptor: &TlsAcceptor) -> Result<(), Stop> {
        if !self.reader.buffer().is_empty() {
            return Err(Stop::Gone);
        }
        let plain = std::mem::replace(
            &mut self.reader,
            BufReader::new(Box::new(crate::mail::conn::empty_stream())),
        )
        .into_inner();
        let tls = tokio::time::timeout(self.idle, acceptor.accept(plain))
            .await
            .map_err(|_| Stop::Gone)?
            .map_err(|_| Stop::Gone)?;
        self.reader = BufReader::new(Box::new(tls));
        self.tls = true;
        Ok(())
    }
}

/// TLS from the first byte.
pub async fn accept_tls<S>(
    acceptor: &TlsAcceptor,
    stream: S,
    within: Duration,
) -> Option<Box<dyn Stream>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let tls = tokio::time::timeout(within, acceptor.accept(stream))
        .await
        .ok()?
        .ok()?;
    Some(Box::new(tls))
}

/// The acceptor for the bridge's certificate.
pub fn acceptor(config: &Arc<rustls::ServerConfig>) -> TlsAcceptor {
    TlsAcceptor::from(config.clone())
}
