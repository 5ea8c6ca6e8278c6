//! The loopback redirect receiver of a browser sign-in.
//!
//! It listens on 127.0.0.1 only (never all interfaces), on a random free port unless the
//! registered redirect URI names one, and accepts exactly one valid callback on the exact path.
//! Each request is checked in this order: path (else 404), size, `state` (constant-time; a wrong
//! one is refused and the wait goes on), then `error`, then `code`. After one result it stops
//! listening, so a replayed callback finds nobody. The caller's timeout and cancel end it too.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::aadsts::MicrosoftError;
use crate::error::{Error, ErrorCode, Result};

/// A callback URL is a path plus `code`, `state` and a few parameters: a few kilobytes at most.
/// Anything longer is not a real callback.
pub const MAX_REQUEST_URI: usize = 8 * 1024;

/// What arrived at the redirect URI.
#[derive(Debug)]
pub enum Callback {
    /// The authorization code (short-lived, single-use; redeemed at once).
    Code(crate::Sensitive<String>),
    /// The identity provider sent the user back with an error.
    Error(MicrosoftError),
}

struct Shared {
    path: String,
    state: String,
    sender: Mutex<Option<oneshot::Sender<Callback>>>,
}

/// A bound listener waiting for one callback.
#[derive(Debug)]
pub struct Loopback {
    port: u16,
    path: String,
    receiver: oneshot::Receiver<Callback>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Loopback {
    /// Binds 127.0.0.1 on `port` (0 = any free port) and serves `path` until one callback
    /// carrying `state` arrives.
    pub async fn bind(port: u16, path: &str, state: &str) -> Result<Self> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            Error::new(ErrorCode::Internal, format!("Could not listen on 127.0.0.1:{port} for the sign-in redirect: {e}"))
                .with_fix(if port == 0 {
                    "Check that local network connections are allowed on this computer."
                } else {
                    "Another program uses that port: close it, or register a redirect URI without a port."
                })
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::internal(e.to_string()))?
            .port();
        let (sender, receiver) = oneshot::channel();
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        };
        let shared = Arc::new(Shared {
            path: path.clone(),
            state: state.to_owned(),
            sender: Mutex::new(Some(sender)),
        });
        let app = Router::new().fallback(handle).with_state(shared);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "loopback listener failed");
            }
        });
        tracing::debug!(port, path = %path, "loopback listener ready");
        Ok(Self {
            port,
            path,
            receiver,
            shutdown,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Waits for the callback, the timeout, or the cancel token; the listener stops in every case.
    pub async fn wait(self, timeout: Duration, cancel: &CancellationToken) -> Result<Callback> {
        let Self {
            receiver, shutdown, ..
        } = self;
        let _stop = shutdown.drop_guard();
        tokio::select! {
            result = receiver => result.map_err(|_| Error::internal("the sign-in listener stopped unexpectedly")),
            () = tokio::time::sleep(timeout) => Err(Error::new(
                ErrorCode::Timeout,
                format!("No sign-in came back within {} minutes.", timeout.as_secs().div_ceil(60)),
            ).with_fix("Start the sign-in again and finish it in the browser; if the browser was closed, open the link again.")),
            () = cancel.cancelled() => Err(Error::new(ErrorCode::Cancelled, "The sign-in was cancelled.")),
        }
    }
}

/// What one request to the listener amounts to, decided from its URI alone.
#[derive(Debug)]
pub enum Request {
    /// Another path: 404.
    NotFound,
    /// Longer than any real callback: 414.
    TooLong,
    /// A missing or wrong `state`: refused, and the wait goes on.
    WrongState,
    /// The identity provider sent an error.
    Error(MicrosoftError),
    /// The authorization code.
    Code(crate::Sensitive<String>),
    /// The right `state` but neither a code nor an error.
    NoCode,
}

/// Reads a request to the listener expecting `path` and `state`, in the listener's order: path,
/// size, `state` (constant-time), then `error`, then `code`. Pure, so it can be tested and fuzzed
/// on its own.
pub fn read_request(uri: &Uri, path: &str, state: &str) -> Request {
    if uri.path() != path {
        return Request::NotFound;
    }
    if uri.to_string().len() > MAX_REQUEST_URI {
        return Request::TooLong;
    }
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let state_ok = params
        .get("state")
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(state.as_bytes())));
    if !state_ok {
        return Request::WrongState;
    }
    if let Some(error) = params.get("error") {
        return Request::Error(
            MicrosoftError {
                error: error.clone(),
                error_description: params.get("error_description").cloned(),
                error_codes: Vec::new(),
                trace_id: params.get("trace_id").cloned(),
                correlation_id: params.get("correlation_id").cloned(),
                ..MicrosoftError::default()
            }
            .with_ids_from_description(),
        );
    }
    match params.get("code").filter(|c| !c.is_empty()) {
        Some(code) => Request::Code(crate::Sensitive::new(code.clone())),
        None => Request::NoCode,
    }
}

async fn handle(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let request = match read_request(&uri, &shared.path, &shared.state) {
        Request::NotFound => return (StatusCode::NOT_FOUND, "Not found").into_response(),
        Request::TooLong => {
            return (StatusCode::URI_TOO_LONG, "Request too large").into_response();
        }
        Request::WrongState => {
            tracing::warn!("a redirect with a wrong or missing state was refused");
            return page(
                StatusCode::BAD_REQUEST,
                "This sign-in link is not the one Mail Connections is waiting for",
                "Go back to Mail Connections and start the sign-in again if needed.",
            );
        }
        request => request,
    };
    let Some(sender) = shared
        .sender
        .lock()
        .expect("loopback mutex poisoned")
        .take()
    else {
        return page(
            StatusCode::GONE,
            "This sign-in was already completed",
            "You can close this tab.",
        );
    };
    match request {
        Request::Error(ms) => {
            let explained = ms.to_error();
            let _ = sender.send(Callback::Error(ms));
            page(
                StatusCode::OK,
                "Sign-in did not complete",
                &format!(
                    "{} Return to Mail Connections for what to do next.",
                    explained.message()
                ),
            )
        }
        Request::Code(code) => {
            let _ = sender.send(Callback::Code(code));
            page(
                StatusCode::OK,
                "You are signed in",
                "You can close this tab and return to Mail Connections.",
            )
        }
        _ => {
            let _ = sender.send(Callback::Error(MicrosoftError {
                error: "invalid_request".into(),
                error_description: Some("The redirect carried neither a code nor an error.".into()),
                ..MicrosoftError::default()
            }));
            page(
                StatusCode::BAD_REQUEST,
                "Sign-in did not complete",
                "The redirect carried no code. Return to Mail Connections and try again.",
            )
        }
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mail Connections</title>\
         <style>body{{font:16px system-ui,sans-serif;margin:15vh auto;max-width:32em;color:#1f2937}}h1{{font-size:1.4em}}</style>\
         </head><body><h1>{}</h1><p>{}</p></body></html>",
        escape(title),
        escape(text)
    );
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(html),
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(port: u16, path_and_query: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}{path_and_query}"))
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn accepts_one_code_with_the_right_state_on_the_right_path() {
        let lb = Loopback::bind(0, "/callback", "s-123").await.unwrap();
        let port = lb.port();
        let cancel = CancellationToken::new();
        let waiter = tokio::spawn(async move { lb.wait(Duration::from_secs(10), &cancel).await });

        assert_eq!(get(port, "/other?code=c&state=s-123").await.status(), 404);
        let wrong = get(port, "/callback?code=c&state=nope").await;
        assert_eq!(wrong.status(), 400);
        assert!(
            wrong
                .text()
                .await
                .unwrap()
                .contains("not the one Mail Connections is waiting for")
        );
        let long = format!("/callback?state=s-123&code={}", "x".repeat(MAX_REQUEST_URI));
        assert_eq!(get(port, &long).await.status(), 414);

        let ok = get(port, "/callback?code=the-code&state=s-123").await;
        assert_eq!(ok.status(), 200);
        assert!(
            ok.text()
                .await
                .unwrap()
                .contains("You can close this tab and return to Mail Connections")
        );
        match waiter.await.unwrap().unwrap() {
            Callback::Code(c) => assert_eq!(c.expose(), "the-code"),
            Callback::Error(e) => panic!("unexpected {e:?}"),
        }
        // Single use: the listener is gone.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let replay = reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{port}/callback?code=the-code&state=s-123"
            ))
            .send()
            .await;
        assert!(
            replay.is_err(),
            "a replayed callback must find nobody listening"
        );
    }

    #[tokio::test]
    async fn error_redirects_carry_the_aadsts_code() {
        let lb = Loopback::bind(0, "/", "st").await.unwrap();
        let port = lb.port();
        let cancel = CancellationToken::new();
        let waiter = tokio::spawn(async move { lb.wait(Duration::from_secs(10), &cancel).await });
        let resp = get(port, "/?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent&state=st").await;
        assert!(resp.text().await.unwrap().contains("declined"));
        match waiter.await.unwrap().unwrap() {
            Callback::Error(e) => {
                assert_eq!(e.aadsts(), Some(65004));
                assert_eq!(e.to_error().code(), ErrorCode::NeedsConsent);
            }
            Callback::Code(_) => panic!("expected an error"),
        }
    }

    #[tokio::test]
    async fn timeout_and_cancel_stop_listening() {
        let lb = Loopback::bind(0, "/", "st").await.unwrap();
        let port = lb.port();
        let err = lb
            .wait(Duration::from_millis(50), &CancellationToken::new())
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Timeout);
        assert!(err.message().contains("No sign-in came back"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            reqwest::Client::new()
                .get(format!("http://127.0.0.1:{port}/"))
                .send()
                .await
                .is_err()
        );

        let lb = Loopback::bind(0, "/", "st").await.unwrap();
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = lb.wait(Duration::from_secs(10), &cancel).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Cancelled);
    }

    #[tokio::test]
    async fn listens_on_loopback_only() {
        let lb = Loopback::bind(0, "/", "st").await.unwrap();
        let port = lb.port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        // A listener on all interfaces would also answer 127.0.0.2; one on 127.0.0.1 does not.
        assert!(std::net::TcpStream::connect(("127.0.0.2", port)).is_err());
        drop(lb);
    }
}
