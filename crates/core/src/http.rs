//! The one HTTP client configuration: rustls, redirects off (token requests must never follow a
//! redirect), and timeouts on every call. Every answer body from the identity provider or Graph
//! is read through [`read_capped`] (at most [`MAX_BODY`]); `oauth2` requests go through
//! [`capped`]. Numbers a server chooses (`Retry-After`, `expires_in`, `interval`) pass through
//! the `clamp_*` functions before any date arithmetic.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::{Error, ErrorCode};

/// Long enough for a slow proxy's TLS handshake, short enough that "down" shows quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Microsoft's token endpoint answers in well under a second; 30 s covers a bad day.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client for identity-provider and Graph calls. Clone it; clones share connections.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("mailconn/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client configuration is valid")
}

/// The most of an answer body that is read: token responses, error bodies and Graph pages are a
/// few kilobytes, so anything larger is refused unread rather than held in memory.
pub const MAX_BODY: usize = 1024 * 1024;

/// The longest wait a server can ask for (`Retry-After`); anything longer reads as this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The longest token lifetime believed (`expires_in`); Microsoft's are 1 to 28 hours.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(48 * 3600);
/// The longest device code life believed (`expires_in`); Microsoft's is 15 minutes.
pub const MAX_DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(3600);
/// Device-code polling stays between these (`interval`, including `slow_down`'s increases).
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(1);
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// A server's `Retry-After`, at most [`MAX_RETRY_AFTER`].
pub fn clamp_retry_after(wait: Duration) -> Duration {
    wait.min(MAX_RETRY_AFTER)
}

/// A token's `expires_in`, at most [`MAX_TOKEN_LIFETIME`].
pub fn clamp_lifetime(lifetime: Duration) -> Duration {
    lifetime.min(MAX_TOKEN_LIFETIME)
}

/// A device code's `expires_in`, at most [`MAX_DEVICE_CODE_LIFETIME`].
pub fn clamp_device_code_lifetime(lifetime: Duration) -> Duration {
    lifetime.min(MAX_DEVICE_CODE_LIFETIME)
}

/// A device-code polling `interval`, within [`MIN_POLL_INTERVAL`]..=[`MAX_POLL_INTERVAL`].
pub fn clamp_poll_interval(interval: Duration) -> Duration {
    interval.clamp(MIN_POLL_INTERVAL, MAX_POLL_INTERVAL)
}

/// `now + lifetime` that cannot overflow: the lifetime is clamped with [`clamp_lifetime`].
pub fn expiry(
    now: chrono::DateTime<chrono::Utc>,
    lifetime: Duration,
) -> chrono::DateTime<chrono::Utc> {
    let lifetime = chrono::TimeDelta::from_std(clamp_lifetime(lifetime))
        .unwrap_or_else(|_| chrono::TimeDelta::hours(1));
    now.checked_add_signed(lifetime).unwrap_or(now)
}

/// An answer body over [`MAX_BODY`].
#[derive(Debug, Clone, Copy)]
pub struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the answer is larger than {} KiB", MAX_BODY / 1024)
    }
}

impl std::error::Error for TooLarge {}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads a response body, at most [`MAX_BODY`] bytes: a longer one (by `Content-Length` or as it
/// arrives) is refused without reading the rest.
pub async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    read_capped_to(&mut response, MAX_BODY).await
}

async fn read_capped_to(
    response: &mut reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

type OauthFuture = Pin<
    Box<
        dyn Future<Output = Result<oauth2::HttpResponse, oauth2::HttpClientError<reqwest::Error>>>
            + Send
            + Sync,
    >,
>;

/// `oauth2`'s HTTP client over `http` with the body read through [`read_capped`]: pass
/// `&capped(http)` to `request_async` instead of the bare client.
pub fn capped(http: &reqwest::Client) -> impl Fn(oauth2::HttpRequest) -> OauthFuture + use<> {
    let http = http.clone();
    move |request| {
        let http = http.clone();
        Box::pin(async move { oauth_call(&http, request).await })
    }
}

/// One `oauth2` request through `http`, the body read through [`read_capped`].
pub async fn oauth_call(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, oauth2::HttpClientError<reqwest::Error>> {
    use oauth2::HttpClientError;
    let response = http
        .execute(request.try_into().map_err(Box::new)?)
        .await
        .map_err(Box::new)?;
    let mut builder = oauth2::http::Response::builder()
        .status(response.status())
        .version(response.version());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = match read_capped(response).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return Err(HttpClientError::Io(std::io::Error::other(TooLarge)));
        }
        Err(BodyError::Transport(e)) => return Err(HttpClientError::Reqwest(Box::new(e))),
    };
    builder.body(body).map_err(HttpClientError::Http)
}

/// Whether an error, or one it wraps, is [`TooLarge`].
fn is_too_large(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<TooLarge>()
            || err
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .is_some_and(<dyn std::error::Error + Send + Sync>::is::<TooLarge>)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The error for an answer over [`MAX_BODY`].
pub fn too_large(what: &str) -> Error {
    Error::new(
        ErrorCode::Network,
        format!("{what} sent an answer larger than {} KiB; it was not read.", MAX_BODY / 1024),
    )
    .with_fix("Check the cloud's addresses: a proxy or a wrong URL may be answering instead of Microsoft.")
}

/// A transport failure (no answer at all, or one too large to read), explained.
pub fn network_error(what: &str, e: &(dyn std::error::Error + 'static)) -> Error {
    if is_too_large(e) {
        return too_large(what);
    }
    let timeout = is_timeout(e);
    let message = if timeout {
        format!("{what} did not answer in time.")
    } else {
        format!("{what} could not be reached.")
    };
    Error::new(if timeout { ErrorCode::Timeout } else { ErrorCode::Network }, message)
        .with_fix("Check the network connection and the cloud's addresses; if the service is down, try again later.")
        .with_source(SourceText(chain(e)))
}

fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<reqwest::Error>()
            && r.is_timeout()
        {
            return true;
        }
        cur = err.source();
    }
    false
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        parts.push(err.to_string());
        cur = err.source();
    }
    parts.join(": ")
}

#[derive(Debug)]
struct SourceText(String);

impl std::fmt::Display for SourceText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceText {}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A local server that answers every request with `head` and then `body_len` bytes of `x`
    /// (streamed, so a reader that stops early never receives all of it).
    async fn server(head: String, body_len: usize) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let head = head.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let chunk = vec![b'x'; 64 * 1024];
                    let mut left = body_len;
                    while left > 0 {
                        let n = left.min(chunk.len());
                        if socket.write_all(&chunk[..n]).await.is_err() {
                            return;
                        }
                        left -= n;
                    }
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn huge_bodies_are_refused_with_or_without_a_length() {
        let huge = 64 * 1024 * 1024;
        let with_length = server(
            format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {huge}\r\nconnection: close\r\n\r\n"),
            huge,
        )
        .await;
        let chunked_like = server(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                .to_owned(),
            huge,
        )
        .await;
        let http = client();
        for port in [with_length, chunked_like] {
            let response = http
                .get(format!("http://127.0.0.1:{port}/"))
                .send()
                .await
                .unwrap();
            assert!(matches!(
                read_capped(response).await,
                Err(BodyError::TooLarge)
            ));
        }
        let small = server(
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\n".to_owned(),
            5,
        )
        .await;
        let response = http
            .get(format!("http://127.0.0.1:{small}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(read_capped(response).await.unwrap(), b"xxxxx");
    }

    #[tokio::test]
    async fn oauth2_requests_through_the_adapter_refuse_a_huge_token_answer() {
        use oauth2::{ClientId, ClientSecret, Scope, TokenUrl};
        let huge = 64 * 1024 * 1024;
        let port = server(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                .to_owned(),
            huge,
        )
        .await;
        let client = crate::oauth::Client::new(ClientId::new("c".into()))
            .set_client_secret(ClientSecret::new("s".into()))
            .set_auth_type(oauth2::AuthType::RequestBody)
            .set_token_uri(TokenUrl::new(format!("http://127.0.0.1:{port}/token")).unwrap());
        let e = client
            .exchange_client_credentials()
            .add_scope(Scope::new("x".into()))
            .request_async(&capped(&client_for_test()))
            .await
            .unwrap_err();
        let error = crate::oauth::token_error("The identity provider", &e);
        assert_eq!(error.code(), ErrorCode::Network);
        assert_eq!(
            error.message(),
            "The identity provider sent an answer larger than 1024 KiB; it was not read."
        );
    }

    fn client_for_test() -> reqwest::Client {
        client()
    }

    #[test]
    fn server_numbers_are_clamped_before_date_arithmetic() {
        let now = chrono::Utc::now();
        let far = expiry(now, Duration::from_secs(u64::MAX));
        assert_eq!(far - now, chrono::TimeDelta::hours(48));
        assert_eq!(
            expiry(now, Duration::from_secs(3599)) - now,
            chrono::TimeDelta::seconds(3599)
        );
        assert_eq!(
            clamp_retry_after(Duration::from_secs(u64::MAX)),
            MAX_RETRY_AFTER
        );
        assert_eq!(
            clamp_retry_after(Duration::from_secs(7)),
            Duration::from_secs(7)
        );
        assert_eq!(clamp_poll_interval(Duration::ZERO), MIN_POLL_INTERVAL);
        assert_eq!(
            clamp_poll_interval(Duration::from_secs(u64::MAX)),
            MAX_POLL_INTERVAL
        );
        assert_eq!(
            clamp_device_code_lifetime(Duration::from_secs(u64::MAX)),
            MAX_DEVICE_CODE_LIFETIME
        );
        // Every clamped value can be added to now without overflowing.
        let _ = now + chrono::TimeDelta::from_std(clamp_retry_after(Duration::MAX)).unwrap();
    }
}
