//! The loopback redirect receiver of a browser sign-in.
//!
//! It listens on loopback addresses only (never all interfaces): 127.0.0.1 when the registered
//! redirect URI says `127.0.0.1`; 127.0.0.1 and `[::1]` on the same port when it says `localhost`
//! (a browser may try either), and it fails closed when either of them is taken. The port is a
//! random free one unless the registered redirect URI names one. It accepts exactly one valid
//! callback on the exact path.
//!
//! Each request is checked in this order: the headers must arrive within a few seconds, the
//! method must be GET (else 405), the `Host` must be the redirect's or an address listened on,
//! with the port (else 400: a page of another site rebound to 127.0.0.1 cannot talk to it), then
//! path (else 404), size, `state`
//! (constant-time; a wrong one is refused and the wait goes on), then `error`, then `code`. A
//! code is answered with a 303 to the same path without it, so the code leaves the browser's
//! address bar and history; that page is served once and then the listener closes (also after a
//! short grace period if the browser never asks). Pages carry a strict CSP. The caller's timeout
//! and cancel end it, and so does dropping it: an abandoned sign-in frees its port.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::aadsts::MicrosoftError;
use crate::error::{Error, ErrorCode, Result};

/// A callback URL is a path plus `code`, `state` and a few parameters: a few kilobytes at most.
/// Anything longer is not a real callback.
pub const MAX_REQUEST_URI: usize = 8 * 1024;

/// The request line and headers must arrive within this; a client that stalls is dropped.
#[cfg(not(test))]
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
#[cfg(test)]
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(300);

/// After the code arrived, the page without it is served for at most this long.
const DONE_GRACE: Duration = Duration::from_secs(10);

/// hyper's smallest read buffer; a request whose headers do not fit is refused.
const MAX_HEAD: usize = 16 * 1024;

/// The page allows nothing but its own inline style.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// What arrived at the redirect URI.
#[derive(Debug)]
pub enum Callback {
    /// The authorization code (short-lived, single-use; redeemed at once).
    Code(crate::Sensitive<String>),
    /// The identity provider sent the user back with an error.
    Error(MicrosoftError),
}

/// The host of the registered redirect URI, sent back exactly as registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopbackHost {
    /// `localhost`: 127.0.0.1 and `[::1]` are both held.
    Localhost,
    /// `127.0.0.1`.
    Ipv4,
    /// `[::1]`.
    Ipv6,
}

impl LoopbackHost {
    /// The host as it appears in the redirect URI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Localhost => "localhost",
            Self::Ipv4 => "127.0.0.1",
            Self::Ipv6 => "[::1]",
        }
    }
}

struct Shared {
    path: String,
    state: String,
    /// The `Host` headers accepted: the redirect's, and the addresses listened on (a rebound
    /// page of another site sends its own name).
    hosts: Vec<String>,
    sender: Mutex<Option<oneshot::Sender<Callback>>>,
    /// Fired when the code was taken (the page without it may still be asked for).
    taken: CancellationToken,
    /// Fired when that page was served.
    done: CancellationToken,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A bound listener waiting for one callback. Dropping it stops listening (unless a code
/// already arrived, when the page without it is still served for a few seconds).
#[derive(Debug)]
pub struct Loopback {
    port: u16,
    path: String,
    host: LoopbackHost,
    receiver: Option<oneshot::Receiver<Callback>>,
    abandon: CancellationToken,
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.abandon.cancel();
    }
}

fn bind_error(addr: SocketAddr, port: u16, e: &std::io::Error) -> Error {
    Error::new(
        ErrorCode::Internal,
        format!("Could not listen on {addr} for the sign-in redirect: {e}"),
    )
    .with_fix(if port == 0 {
        "Check that local network connections are allowed on this computer."
    } else {
        "Another program uses that port: close it, or register a redirect URI without a port."
    })
}

/// Binds every address `host` needs on one port. With port 0 the IPv4 side picks the port and
/// the IPv6 side must get the same one; if another program holds it there, a few other ports are
/// tried before giving up.
async fn bind_all(host: LoopbackHost, port: u16) -> Result<(u16, Vec<TcpListener>)> {
    let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let attempts = if port == 0 { 5 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        let first_ip = if host == LoopbackHost::Ipv6 { v6 } else { v4 };
        let first = SocketAddr::new(first_ip, port);
        let listener = TcpListener::bind(first)
            .await
            .map_err(|e| bind_error(first, port, &e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::internal(e.to_string()))?
            .port();
        if host != LoopbackHost::Localhost {
            return Ok((bound, vec![listener]));
        }
        let second = SocketAddr::new(v6, bound);
        match TcpListener::bind(second).await {
            Ok(l6) => return Ok((bound, vec![listener, l6])),
            // No IPv6 on this machine: nobody else can hold [::1] either.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::Unsupported
                ) || e.raw_os_error() == Some(97) =>
            {
                tracing::debug!(error = %e, "no IPv6 loopback; listening on 127.0.0.1 only");
                return Ok((bound, vec![listener]));
            }
            Err(e) => {
                let err = Error::new(
                    ErrorCode::Internal,
                    format!(
                        "Could not listen on {second} for the sign-in redirect: {e}. The browser may go to [::1] for localhost, so the sign-in does not start while another program holds it."
                    ),
                )
                .with_fix(if port == 0 {
                    "Try again; if it keeps failing, register http://127.0.0.1 as the redirect URI and use it."
                } else {
                    "Another program uses that port on [::1]: close it, or register a redirect URI without a port (or with 127.0.0.1)."
                });
                last = Some(err);
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::internal("no loopback address could be bound")))
}

impl Loopback {
    /// Binds 127.0.0.1 on `port` (0 = any free port) and serves `path` until one callback
    /// carrying `state` arrives.
    pub async fn bind(port: u16, path: &str, state: &str) -> Result<Self> {
        Self::bind_host(LoopbackHost::Ipv4, port, path, state).await
    }

    /// Binds what `host` needs (see [`LoopbackHost`]) on `port` and serves `path` until one
    /// callback carrying `state` arrives.
    pub async fn bind_host(host: LoopbackHost, port: u16, path: &str, state: &str) -> Result<Self> {
        let (port, listeners) = bind_all(host, port).await?;
        let (sender, receiver) = oneshot::channel();
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        };
        let shared = Arc::new(Shared {
            path: path.clone(),
            state: state.to_owned(),
            hosts: accepted_hosts(host, port),
            sender: Mutex::new(Some(sender)),
            taken: CancellationToken::new(),
            done: CancellationToken::new(),
        });
        let abandon = CancellationToken::new();
        let closed = CancellationToken::new();
        for listener in listeners {
            tokio::spawn(serve(listener, shared.clone(), closed.clone()));
        }
        tokio::spawn(close_when_over(shared, abandon.clone(), closed));
        tracing::debug!(port, path = %path, host = host.as_str(), "loopback listener ready");
        Ok(Self {
            port,
            path,
            host,
            receiver: Some(receiver),
            abandon,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn host(&self) -> LoopbackHost {
        self.host
    }

    /// Waits for the callback, the timeout, or the cancel token; the listener stops in every case.
    pub async fn wait(mut self, timeout: Duration, cancel: &CancellationToken) -> Result<Callback> {
        let receiver = self.receiver.take().expect("wait is called once");
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

fn accepted_hosts(host: LoopbackHost, port: u16) -> Vec<String> {
    let names: &[&str] = match host {
        LoopbackHost::Localhost => &["localhost", "127.0.0.1", "[::1]"],
        LoopbackHost::Ipv4 => &["127.0.0.1"],
        LoopbackHost::Ipv6 => &["[::1]"],
    };
    names.iter().map(|n| format!("{n}:{port}")).collect()
}

/// Closes the listeners when the sign-in is abandoned (before a code), or once the page without
/// the code was served (or its grace period ran out).
async fn close_when_over(
    shared: Arc<Shared>,
    abandon: CancellationToken,
    closed: CancellationToken,
) {
    tokio::select! {
        () = abandon.cancelled() => {}
        () = shared.taken.cancelled() => {}
    }
    if shared.taken.is_cancelled() {
        tokio::select! {
            () = shared.done.cancelled() => {}
            () = tokio::time::sleep(DONE_GRACE) => {}
        }
    }
    closed.cancel();
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, closed: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = closed.cancelled() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "loopback listener failed");
                return;
            }
        };
        let (shared, closed) = (shared.clone(), closed.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&shared, &request)) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                r = connection => if let Err(e) = r { tracing::debug!(error = %e, "loopback connection ended"); },
                () = closed.cancelled() => {}
            }
        });
    }
}

/// What a callback request to the listener amounts to, decided from its URI alone.
#[derive(Debug)]
pub enum CallbackRequest {
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

/// Reads a callback to the listener expecting `path` and `state`, in the listener's order: path,
/// size, `state` (constant time), then `error`, then `code`. Pure, so it is tested and fuzzed on
/// its own; the listener answers from it.
pub fn read_request(uri: &hyper::Uri, path: &str, state: &str) -> CallbackRequest {
    if uri.path() != path {
        return CallbackRequest::NotFound;
    }
    if uri.to_string().len() > MAX_REQUEST_URI {
        return CallbackRequest::TooLong;
    }
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let state_ok = params
        .get("state")
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(state.as_bytes())));
    if !state_ok {
        return CallbackRequest::WrongState;
    }
    if let Some(error) = params.get("error") {
        return CallbackRequest::Error(
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
        Some(code) => CallbackRequest::Code(crate::Sensitive::new(code.clone())),
        None => CallbackRequest::NoCode,
    }
}

fn handle(shared: &Shared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Only GET is accepted");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    let host_ok = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| shared.hosts.iter().any(|ok| h.eq_ignore_ascii_case(ok)));
    if !host_ok {
        tracing::warn!("a redirect for another host was refused");
        return plain(StatusCode::BAD_REQUEST, "Wrong host");
    }
    let uri = request.uri();
    if shared.taken.is_cancelled()
        && uri.path() == shared.path
        && uri.query().unwrap_or_default().is_empty()
    {
        // The browser following the 303: the page, once, without the code in its address.
        shared.done.cancel();
        return page(
            StatusCode::OK,
            "You are signed in",
            "You can close this tab and return to Mail Connections.",
        );
    }
    let callback = match read_request(uri, &shared.path, &shared.state) {
        CallbackRequest::NotFound => return plain(StatusCode::NOT_FOUND, "Not found"),
        CallbackRequest::TooLong => return plain(StatusCode::URI_TOO_LONG, "Request too large"),
        CallbackRequest::WrongState => {
            tracing::warn!("a redirect with a wrong or missing state was refused");
            return page(
                StatusCode::BAD_REQUEST,
                "This sign-in link is not the one Mail Connections is waiting for",
                "Go back to Mail Connections and start the sign-in again if needed.",
            );
        }
        callback => callback,
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
    match callback {
        CallbackRequest::Error(ms) => {
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
        CallbackRequest::Code(code) => {
            // Marked taken before the code is handed over: the sign-in may finish and drop the
            // listener at once, and the browser still has the page without the code to fetch.
            shared.taken.cancel();
            let _ = sender.send(Callback::Code(code));
            // 303 to the path alone: the code leaves the address bar and the history.
            let mut response = page(StatusCode::SEE_OTHER, "You are signed in", "Continue.");
            if let Ok(location) = HeaderValue::from_str(&shared.path) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
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

fn with_headers(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    with_headers(status, "text/plain; charset=utf-8", text.to_owned())
}

fn page(status: StatusCode, title: &str, text: &str) -> Response<Full<Bytes>> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mail Connections</title>\
         <style>body{{font:16px system-ui,sans-serif;margin:15vh auto;max-width:32em;color:#1f2937}}h1{{font-size:1.4em}}</style>\
         </head><body><h1>{}</h1><p>{}</p></body></html>",
        escape(title),
        escape(text)
    );
    with_headers(status, "text/html; charset=utf-8", html)
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

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sends raw bytes and reads the whole answer (the server closes after one).
    async fn raw(addr: &str, request: &str) -> String {
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    fn request(method: &str, target: &str, host: &str) -> String {
        format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    }

    #[tokio::test]
    async fn only_get_with_the_redirect_host_is_answered() {
        let lb = Loopback::bind(0, "/cb", "st").await.unwrap();
        let port = lb.port();
        let addr = format!("127.0.0.1:{port}");
        let host = format!("127.0.0.1:{port}");
        let refused = raw(&addr, &request("POST", "/cb?code=c&state=st", &host)).await;
        assert!(refused.starts_with("HTTP/1.1 405"), "{refused}");
        assert!(
            refused.to_ascii_lowercase().contains("allow: get"),
            "{refused}"
        );
        for other in [
            "evil.example:80",
            "localhost",
            &format!("localhost:{port}"),
            &format!("evil.example:{port}"),
        ] {
            let answer = raw(&addr, &request("GET", "/cb?code=c&state=st", other)).await;
            assert!(answer.starts_with("HTTP/1.1 400"), "{other}: {answer}");
            assert!(answer.contains("Wrong host"), "{answer}");
        }
        let no_host = raw(
            &addr,
            "GET /cb?code=c&state=st HTTP/1.1\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(no_host.starts_with("HTTP/1.1 400"), "{no_host}");
        // None of them reached the sign-in: the right request still does.
        let cancel = CancellationToken::new();
        let waiter = tokio::spawn(async move { lb.wait(Duration::from_secs(5), &cancel).await });
        let ok = raw(&addr, &request("GET", "/cb?code=the-code&state=st", &host)).await;
        assert!(ok.starts_with("HTTP/1.1 303"), "{ok}");
        assert!(matches!(waiter.await.unwrap().unwrap(), Callback::Code(_)));
    }

    #[tokio::test]
    async fn a_stalled_client_is_dropped_after_the_header_timeout() {
        let lb = Loopback::bind(0, "/", "st").await.unwrap();
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", lb.port()))
            .await
            .unwrap();
        socket
            .write_all(b"GET /?state=st&code=c HTTP/1.1\r\nHost: 127")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "the server must close a stalled connection");
        assert!(started.elapsed() >= HEADER_READ_TIMEOUT / 2);
        assert!(started.elapsed() < Duration::from_secs(4));
        // The sign-in is still waiting.
        let port = lb.port();
        let cancel = CancellationToken::new();
        let waiter = tokio::spawn(async move { lb.wait(Duration::from_secs(5), &cancel).await });
        let ok = raw(
            &format!("127.0.0.1:{port}"),
            &request("GET", "/?state=st&code=c", &format!("127.0.0.1:{port}")),
        )
        .await;
        assert!(ok.starts_with("HTTP/1.1 303"), "{ok}");
        assert!(waiter.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn the_code_leaves_the_address_with_a_303_and_pages_carry_a_csp() {
        let lb = Loopback::bind(0, "/callback", "st").await.unwrap();
        let port = lb.port();
        let (addr, host) = (format!("127.0.0.1:{port}"), format!("127.0.0.1:{port}"));
        let cancel = CancellationToken::new();
        let waiter = tokio::spawn(async move { lb.wait(Duration::from_secs(5), &cancel).await });
        let wrong = raw(&addr, &request("GET", "/callback?state=nope&code=c", &host)).await;
        assert!(
            wrong.contains("content-security-policy: default-src 'none'"),
            "{wrong}"
        );
        let answer = raw(
            &addr,
            &request("GET", "/callback?state=st&code=secret-code", &host),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
        assert!(answer.contains("location: /callback\r\n"), "{answer}");
        assert!(!answer.contains("secret-code"), "{answer}");
        assert!(answer.contains("cache-control: no-store"), "{answer}");
        match waiter.await.unwrap().unwrap() {
            Callback::Code(c) => assert_eq!(c.expose(), "secret-code"),
            Callback::Error(e) => panic!("{e:?}"),
        }
        // The browser follows the 303: it gets the page once, with a CSP, then nobody listens.
        let done = raw(&addr, &request("GET", "/callback", &host)).await;
        assert!(done.starts_with("HTTP/1.1 200"), "{done}");
        assert!(done.contains("You can close this tab"), "{done}");
        assert!(
            done.contains("content-security-policy: default-src 'none'"),
            "{done}"
        );
        assert!(done.contains("x-frame-options: DENY"), "{done}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
    }

    #[tokio::test]
    async fn dropping_an_unfinished_listener_frees_its_port() {
        let lb = Loopback::bind(0, "/", "st").await.unwrap();
        let port = lb.port();
        drop(lb);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
        );
        // The same fixed port can be held again at once.
        let again = Loopback::bind(port, "/", "st2").await.unwrap();
        assert_eq!(again.port(), port);
    }

    fn has_ipv6() -> bool {
        std::net::TcpListener::bind("[::1]:0").is_ok()
    }

    #[tokio::test]
    async fn localhost_holds_both_loopback_addresses_on_one_port() {
        let lb = Loopback::bind_host(LoopbackHost::Localhost, 0, "/", "st")
            .await
            .unwrap();
        let port = lb.port();
        let host = format!("localhost:{port}");
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        if has_ipv6() {
            assert!(std::net::TcpStream::connect(("::1", port)).is_ok());
            // The Host check is the redirect's: localhost, whichever address the browser used.
            let answer = raw(
                &format!("[::1]:{port}"),
                &request("GET", "/?state=x", &host),
            )
            .await;
            assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
            assert!(
                answer.contains("not the one Mail Connections is waiting for"),
                "{answer}"
            );
        }
        for other in [
            format!("localhost:{}", port.wrapping_add(1)),
            format!("evil.example:{port}"),
        ] {
            let wrong = raw(
                &format!("127.0.0.1:{port}"),
                &request("GET", "/?state=x", &other),
            )
            .await;
            assert!(wrong.contains("Wrong host"), "{wrong}");
        }
        assert!(std::net::TcpStream::connect(("127.0.0.2", port)).is_err());
    }

    #[tokio::test]
    async fn localhost_fails_closed_when_another_program_holds_either_side() {
        if !has_ipv6() {
            return;
        }
        let other = std::net::TcpListener::bind("[::1]:0").unwrap();
        let port = other.local_addr().unwrap().port();
        let err = Loopback::bind_host(LoopbackHost::Localhost, port, "/", "st")
            .await
            .unwrap_err();
        assert!(err.message().contains("[::1]"), "{}", err.message());
        assert!(
            err.message()
                .contains("does not start while another program holds it")
        );
        // The IPv4 side it had bound is released again.
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());

        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = other.local_addr().unwrap().port();
        let err = Loopback::bind_host(LoopbackHost::Localhost, port, "/", "st")
            .await
            .unwrap_err();
        assert!(err.message().contains("127.0.0.1"), "{}", err.message());
        assert!(
            err.detail()
                .unwrap()
                .fix
                .as_deref()
                .unwrap()
                .contains("Another program uses that port")
        );
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
