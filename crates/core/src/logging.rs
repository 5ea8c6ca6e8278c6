//! Logging with `tracing`: a daily-rotated file in the data directory and stderr.
//!
//! Secrets cannot be logged by value: they are [`Sensitive`](crate::Sensitive), whose `Debug`
//! prints `[redacted]`. As a second line of defence every formatted line passes through
//! [`redact`], which blanks anything shaped like a token, a client secret or a credential
//! parameter before it reaches a file or the terminal: JWTs, bearer headers, credential fields
//! (also as Debug's `Some("...")`), Entra client secrets and Microsoft's opaque tokens (`EwB...`
//! access tokens and `M.C5...` codes and refresh tokens of personal accounts, `0.A...` refresh
//! tokens of work accounts). Colour codes are matched past: a line that needs redacting is written
//! without them. Files and a stderr that is not a terminal never get colour at all.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::{LazyLock, OnceLock};

use regex::Regex;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder as RollingBuilder, Rotation};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

use crate::error::{Error, ErrorCode, Result};

/// The environment variable holding a `tracing` filter, e.g. `MAILCONN_LOG=debug`.
pub const LOG_ENV: &str = "MAILCONN_LOG";

/// A week of daily files is enough to read back a problem report without filling the disk.
const KEPT_LOG_FILES: usize = 7;

const REDACTED: &str = "[redacted]";

/// ANSI escape sequences (colours, styles) as `tracing_subscriber` writes them.
static ANSI: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").unwrap());

static PATTERNS: LazyLock<[(Regex, &'static str); 7]> = LazyLock::new(|| {
    [
        // JSON Web Tokens (access and id tokens): header.payload.signature, base64url.
        (
            Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*").unwrap(),
            REDACTED,
        ),
        // Authorization headers.
        (Regex::new(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+").unwrap(), "Bearer [redacted]"),
        // Credential parameters in query strings, form bodies, JSON and Debug output, also as
        // Debug prints an `Option`: `secret=Some("...")`.
        (
            Regex::new(
                r#"(?i)\b(access_token|refresh_token|id_token|client_secret|code_verifier|device_code|code|password|secret|assertion)(\\?"?\s*[:=]\s*(?:Some\()?\\?"?)([^"\\&\s,;})]+)"#,
            )
            .unwrap(),
            "${1}${2}[redacted]",
        ),
        // Opaque access tokens of personal Microsoft accounts: base64 starting `EwA`/`EwB`...
        (
            Regex::new(r"\bEw[A-Za-z0-9+/]{40,}={0,2}").unwrap(),
            REDACTED,
        ),
        // Codes and refresh tokens of personal accounts: `M.C5xx_BAY.2.U.<opaque>`.
        (
            Regex::new(r"\bM\.C[0-9]{3}_[A-Za-z0-9]+\.[A-Za-z0-9!*$._~-]{8,}").unwrap(),
            REDACTED,
        ),
        // Refresh tokens of work and school accounts: `0.A<opaque>`.
        (
            Regex::new(r"\b0\.A[A-Za-z0-9_-]{20,}[A-Za-z0-9._*~-]*").unwrap(),
            REDACTED,
        ),
        // Entra client secret values look like `Abc8Q~` followed by 30+ characters.
        (Regex::new(r"\b[A-Za-z0-9_.-]{3,6}~[A-Za-z0-9_.~-]{20,}").unwrap(), REDACTED),
    ]
});

/// Blanks token-, secret- and credential-shaped parts of a text. Colour codes are removed first
/// when anything needs blanking (a colour code between a field and its value must not hide it);
/// text with nothing to blank comes back as it was.
pub fn redact(text: &str) -> Cow<'_, str> {
    if !ANSI.is_match(text) {
        return redact_plain(text);
    }
    let plain = ANSI.replace_all(text, "");
    match redact_plain(&plain) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(redacted) => Cow::Owned(redacted),
    }
}

/// Removes colour and style codes.
pub fn strip_ansi(text: &str) -> Cow<'_, str> {
    ANSI.replace_all(text, "")
}

fn redact_plain(text: &str) -> Cow<'_, str> {
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
    plain: bool,
}

impl<M> RedactingMakeWriter<M> {
    pub fn new(inner: M) -> Self {
        Self {
            inner,
            plain: false,
        }
    }

    /// Also removes every colour code (files, pipes).
    pub fn plain(inner: M) -> Self {
        Self { inner, plain: true }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.inner.make_writer(),
            plain: self.plain,
        }
    }
}

/// See [`RedactingMakeWriter`]. `tracing_subscriber::fmt` writes each event in one call.
#[derive(Debug)]
pub struct RedactingWriter<W> {
    inner: W,
    plain: bool,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let text = if self.plain {
            strip_ansi(&text).into_owned()
        } else {
            text.into_owned()
        };
        self.inner.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Lines the log file's writer queues before it drops new ones.
const LOG_QUEUE_LINES: usize = 4096;

/// Changes the log file's filter while the program runs (the log-level setting).
static FILE_FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();
/// The filter last set through [`set_file_filter`] (`None`: the one `init` chose).
static FILE_FILTER_TEXT: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Sets the log file's filter (`debug`, `info`, ...) without a restart. Does nothing while
/// `MAILCONN_LOG` is set (it chose the filter) or before [`init`] installed a log file; false then.
pub fn set_file_filter(filter: &str) -> Result<bool> {
    if std::env::var_os(LOG_ENV).is_some() {
        return Ok(false);
    }
    let Some(handle) = FILE_FILTER.get() else {
        return Ok(false);
    };
    let mut current = FILE_FILTER_TEXT.lock().expect("log filter poisoned");
    if current.as_deref() == Some(filter) {
        return Ok(true);
    }
    let parsed = EnvFilter::try_new(filter).map_err(|e| {
        Error::invalid(
            "log-level",
            format!("\"{filter}\" is not a log filter: {e}"),
        )
    })?;
    handle
        .reload(parsed)
        .map_err(|e| Error::internal(format!("the log filter could not be changed: {e}")))?;
    *current = Some(filter.to_owned());
    drop(current);
    tracing::info!(filter, "log level set");
    Ok(true)
}

/// Keeps the file writer alive; drop it last so buffered lines are flushed.
#[derive(Debug)]
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// Creates the log directory 0700 (atomically) and narrows older log files to 0600; new ones are
/// 0600 through the private umask set when the data directory is opened.
fn prepare_log_dir(dir: &Path) -> Result<()> {
    let failed = |e: std::io::Error| {
        Error::new(
            ErrorCode::DataDir,
            format!("Cannot create the log directory {}: {e}", dir.display()),
        )
    };
    crate::paths::private_umask();
    crate::paths::create_private_dir(dir).map_err(failed)?;
    for entry in std::fs::read_dir(dir).map_err(failed)?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            crate::paths::make_private(&entry.path()).map_err(failed)?;
        }
    }
    Ok(())
}

/// Whether stderr gets colour: only a terminal, and not with `NO_COLOR`.
fn stderr_colour(is_terminal: bool, no_color: bool) -> bool {
    is_terminal && !no_color
}

/// Installs the global subscriber: the rotated file under `logs_dir` (if given, at `info` unless
/// `MAILCONN_LOG` says otherwise; [`set_file_filter`] changes it later) and stderr at
/// `stderr_level`.
pub fn init(logs_dir: Option<&Path>, stderr_level: &str) -> Result<LogGuard> {
    let file_filter =
        || EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr_filter =
        EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new(stderr_level));
    // Colour only on a terminal (and not with NO_COLOR); a pipe or a file gets plain text.
    let colour = stderr_colour(
        io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").is_some(),
    );
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_writer(if colour {
            RedactingMakeWriter::new(io::stderr)
        } else {
            RedactingMakeWriter::plain(io::stderr)
        })
        .with_ansi(colour)
        .with_target(false)
        .with_filter(stderr_filter);

    let (file_layer, guard) = match logs_dir {
        Some(dir) => {
            prepare_log_dir(dir)?;
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
            // The writer's queue is allocated (and touched) in full up front: the default of
            // 128,000 lines is 4 MiB resident in every process; a few thousand lines are plenty
            // for a desktop app's bursts (beyond them, lines are dropped, never waited for).
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(LOG_QUEUE_LINES)
                .finish(appender);
            let (filter, handle) = reload::Layer::new(file_filter());
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(RedactingMakeWriter::plain(writer))
                .with_ansi(false)
                .with_filter(filter);
            (Some((layer, handle)), Some(guard))
        }
        None => (None, None),
    };

    let (file_layer, handle) = file_layer.unzip();
    // A second init (tests, embedding) keeps the first subscriber; that is not an error.
    // The file's layer comes first so its reloadable filter sits directly on the registry.
    let installed = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init()
        .is_ok();
    if installed && let Some(handle) = handle {
        let _ = FILE_FILTER.set(handle);
    }
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

    fn formatted(ansi: bool, plain: bool, log: impl FnOnce()) -> String {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = buf.clone();
        let inner = move || SinkWriter(sink.clone());
        let make = if plain {
            RedactingMakeWriter::plain(inner)
        } else {
            RedactingMakeWriter::new(inner)
        };
        let subscriber = tracing_subscriber::fmt()
            .with_writer(make)
            .with_ansi(ansi)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(buf.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn stderr_has_colour_only_on_a_terminal() {
        assert!(stderr_colour(true, false));
        assert!(!stderr_colour(false, false), "a pipe or a file");
        assert!(!stderr_colour(true, true), "NO_COLOR");
    }

    #[test]
    fn plain_writers_carry_no_colour_even_when_asked_for_it() {
        // Files and a stderr that is not a terminal use the plain writer.
        let out = formatted(true, true, || {
            tracing::warn!(connection = "c1", "refresh failed");
        });
        assert!(out.contains("refresh failed"), "{out}");
        assert!(!out.contains('\x1b'), "{out:?}");
        // The terminal writer keeps colour when nothing needs redacting.
        let out = formatted(true, false, || {
            tracing::warn!(connection = "c1", "refresh failed");
        });
        assert!(out.contains('\x1b'), "{out:?}");
    }

    #[test]
    fn colour_codes_do_not_hide_a_field_from_redaction() {
        let out = formatted(true, false, || {
            tracing::info!(refresh_token = "plain-rt-value", "sent");
        });
        assert!(!out.contains("plain-rt-value"), "{out:?}");
        assert!(out.contains("refresh_token=\"[redacted]"), "{out:?}");
    }

    #[test]
    fn option_debug_values_are_redacted() {
        let value: Option<&str> = Some("opaque-secret-value");
        let out = formatted(false, true, || tracing::info!(secret = ?value, "stored"));
        assert!(!out.contains("opaque-secret-value"), "{out}");
        assert!(out.contains("secret=Some(\"[redacted]"), "{out}");
        let text = r#"Tokens { refresh_token: Some("rt-value-1"), code: Some("c-value-2") }"#;
        let out = redact(text);
        assert!(
            !out.contains("rt-value-1") && !out.contains("c-value-2"),
            "{out}"
        );
    }

    #[test]
    fn opaque_personal_account_access_tokens_are_redacted() {
        let token = "EwBwA8l6BAAUbDba3x2OMJElkF7gJ4z/VbCPEz0AAVr+2xjbdINxQ5D7p0m0pYbIjS8XIw4MQ=";
        let line = format!("graph said hello to {token} today");
        let out = redact(&line);
        assert!(!out.contains("EwBwA8l6"), "{out}");
        assert!(out.contains("[redacted]"), "{out}");
        assert_eq!(redact("Ewe, a word"), "Ewe, a word");
    }

    #[test]
    fn personal_account_codes_and_refresh_tokens_are_redacted() {
        let token = "M.C532_SN1.0.U.-Cr3Bk2lqGxW9!Yl1sZ0p*8FhLQ$eXmpl3";
        let line = format!("stored {token} for later");
        let out = redact(&line);
        assert!(!out.contains("Cr3Bk2lq"), "{out}");
        assert!(out.contains("stored [redacted] for later"), "{out}");
    }

    #[test]
    fn work_account_refresh_tokens_are_redacted() {
        let token =
            "0.AXkAx8Q3bVtT2kGx0v4hPq9wLmQ1_ZaEj.AgABAAEAAAD--DLA3VO7QrddgJg7WevrAgDs_wUA9P-secret";
        let line = format!("rotating {token}");
        let out = redact(&line);
        assert!(!out.contains("AXkAx8Q3"), "{out}");
        assert!(!out.contains("P-secret"), "{out}");
        assert_eq!(redact("version 0.A1 ok"), "version 0.A1 ok");
    }

    #[cfg(unix)]
    #[test]
    fn log_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let old = dir.join("mailconn.2026-01-01.log");
        std::fs::write(&old, b"old").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        prepare_log_dir(&dir).unwrap();
        assert_eq!(mode(&old), 0o600);
        let appender = RollingBuilder::new()
            .rotation(Rotation::DAILY)
            .filename_prefix("mailconn")
            .filename_suffix("log")
            .build(&dir)
            .unwrap();
        drop(appender);
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            assert_eq!(mode(&entry.path()), 0o600, "{}", entry.path().display());
        }
        let fresh = tmp.path().join("a/b/logs");
        prepare_log_dir(&fresh).unwrap();
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        assert_eq!(mode(&fresh), 0o700);
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
