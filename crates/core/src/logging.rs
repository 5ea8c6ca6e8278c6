//! Logging with `tracing`: a daily-rotated file in the data directory and stderr.
//!
//! Secrets cannot be logged by value: they are [`Sensitive`](crate::Sensitive), whose `Debug`
//! prints `[redacted]`. As a second line of defence every formatted line passes through
//! [`redact`], which blanks anything shaped like a token, a client secret or a credential
//! parameter before it reaches a file or the terminal.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder as RollingBuilder, Rotation};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::error::{Error, ErrorCode, Result};

/// The environment variable holding a `tracing` filter, e.g. `MAILCONN_LOG=debug`.
pub const LOG_ENV: &str = "MAILCONN_LOG";

/// A week of daily files is enough to read back a problem report without filling the disk.
const KEPT_LOG_FILES: usize = 7;

const REDACTED: &str = "[redacted]";

static PATTERNS: LazyLock<[(Regex, &'static str); 4]> = LazyLock::new(|| {
    [
        // JSON Web Tokens (access and id tokens): header.payload.signature, base64url.
        (
            Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*").unwrap(),
            REDACTED,
        ),
        // Authorization headers.
        (Regex::new(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+").unwrap(), "Bearer [redacted]"),
        // Credential parameters in query strings, form bodies, JSON and Debug output.
        (
            Regex::new(
                r#"(?i)\b(access_token|refresh_token|id_token|client_secret|code_verifier|device_code|code|password|secret|assertion)(\\?"?\s*[:=]\s*\\?"?)([^"\\&\s,;}]+)"#,
            )
            .unwrap(),
            "${1}${2}[redacted]",
        ),
        // Entra client secret values look like `Abc8Q~` followed by 30+ characters.
        (Regex::new(r"\b[A-Za-z0-9_.-]{3,6}~[A-Za-z0-9_.~-]{20,}").unwrap(), REDACTED),
    ]
});

/// Blanks token-, secret- and credential-shaped parts of a text.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for (re, replacement) in PATTERNS.iter() {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, *replacement).into_owned());
        }
    }
    out
}

/// A writer that redacts each formatted event before passing it on.
#[derive(Debug, Clone)]
pub struct RedactingMakeWriter<M> {
    inner: M,
}

impl<M> RedactingMakeWriter<M> {
    pub fn new(inner: M) -> Self {
        Self { inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.inner.make_writer(),
        }
    }
}

/// See [`RedactingMakeWriter`]. `tracing_subscriber::fmt` writes each event in one call.
#[derive(Debug)]
pub struct RedactingWriter<W> {
    inner: W,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Keeps the file writer alive; drop it last so buffered lines are flushed.
#[derive(Debug)]
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// Installs the global subscriber: the rotated file under `logs_dir` (if given, at `info` unless
/// `MAILCONN_LOG` says otherwise) and stderr at `stderr_level`.
pub fn init(logs_dir: Option<&Path>, stderr_level: &str) -> Result<LogGuard> {
    let file_filter =
        || EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr_filter =
        EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new(stderr_level));
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_writer(RedactingMakeWriter::new(io::stderr))
        .with_target(false)
        .with_filter(stderr_filter);

    let (file_layer, guard) = match logs_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::new(
                    ErrorCode::DataDir,
                    format!("Cannot create the log directory {}: {e}", dir.display()),
                )
            })?;
            let appender = RollingBuilder::new()
                .rotation(Rotation::DAILY)
                .filename_prefix("mailconn")
                .filename_suffix("log")
                .max_log_files(KEPT_LOG_FILES)
                .build(dir)
                .map_err(|e| {
                    Error::new(
                        ErrorCode::DataDir,
                        format!("Cannot write logs in {}: {e}", dir.display()),
                    )
                })?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(RedactingMakeWriter::new(writer))
                .with_ansi(false)
                .with_filter(file_filter());
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };

    // A second init (tests, embedding) keeps the first subscriber; that is not an error.
    let _ = tracing_subscriber::registry()
        .with(stderr_layer)
        .with(file_layer)
        .try_init();
    Ok(LogGuard { _file: guard })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sensitive;

    #[test]
    fn tokens_and_secrets_are_blanked() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl";
        let cases = [
            (format!("got token {jwt} ok"), jwt),
            (
                "Authorization: Bearer abc.def-123".to_owned(),
                "abc.def-123",
            ),
            (
                "grant_type=refresh_token&refresh_token=0.AXk-secret-rt&x=1".to_owned(),
                "AXk-secret-rt",
            ),
            (
                r#"{"access_token":"opaque-token-value","token_type":"Bearer"}"#.to_owned(),
                "opaque-token-value",
            ),
            (
                "client_secret=Abc8Q~abcdefghijklmnopqrstuvwxyz0123456".to_owned(),
                "abcdefghijklmnop",
            ),
            (
                "pasted Abc8Q~abcdefghijklmnopqrstuvwxyz0123456 here".to_owned(),
                "abcdefghijklmnop",
            ),
            (
                "callback ?code=M.C507_BAY.2.U.secret-code&state=s1".to_owned(),
                "secret-code",
            ),
        ];
        for (input, secret) in cases {
            let out = redact(&input);
            assert!(!out.contains(secret), "{input} -> {out}");
            assert!(out.contains("[redacted]"), "{input} -> {out}");
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for text in [
            "refreshed connection 6f1c in 120 ms",
            "AADSTS7000215: Invalid client secret provided. error_codes=[7000215]",
            "redirect_uri=http://localhost:53682/callback",
        ] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn the_writer_redacts_what_tracing_formats() {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = buf.clone();
        let make = RedactingMakeWriter::new(move || SinkWriter(sink.clone()));
        let subscriber = tracing_subscriber::fmt()
            .with_writer(make)
            .with_ansi(false)
            .finish();
        let secret = Sensitive::from("Abc8Q~abcdefghijklmnopqrstuvwxyz0123456");
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(?secret, "stored");
            tracing::info!(body = "refresh_token=plain-rt-value", "sent");
        });
        let out = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        assert!(out.contains("secret=[redacted]"), "{out}");
        assert!(!out.contains("abcdefghijklmnop"), "{out}");
        assert!(!out.contains("plain-rt-value"), "{out}");
    }

    struct SinkWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for SinkWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
