//! Microsoft Graph: every call the app makes goes through here, and every failure is one
//! [`Failure`] (what kind of problem, and the error to show). [`users`] looks up mailboxes and
//! the signed-in user; [`applications`] reads and changes an app registration's client secrets.
//!
//! Graph answers errors as `{"error": {"code", "message", "innerError": {"request-id",
//! "client-request-id", "date"}}}`. We branch on the HTTP status and `code`, never on `message`,
//! and keep the request IDs for support. `429` and `503`/`504` are retried after `Retry-After`
//! (or a short backoff when it is absent); everything else is answered at once.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use url::Url;

pub mod applications;
pub mod checks;
pub mod create_app;
pub mod users;

pub use users::GraphUser;

use crate::Sensitive;
use crate::error::{Error, ErrorCode, ErrorDetail};

/// How often one call is tried in all: five throttled answers in a row, each waited out, mean the
/// mailbox is busy enough to report and move on.
const MAX_ATTEMPTS: u32 = 6;
/// A 503/504 without `Retry-After` is tried this often in all (waits of about 1 and 2 s): an
/// outage longer than that is reported at once, and the caller's schedule retries later, so a
/// person waiting on one call is answered within seconds.
const UNGUIDED_ATTEMPTS: u32 = 3;
/// A `Retry-After` longer than this is not waited out inside a bulk add; the row says to retry
/// later instead. Graph's usual answers are a few seconds to a minute.
const MAX_WAIT: Duration = Duration::from_secs(300);
/// Backoff when Graph throttles without saying how long (1, 2, 4, 8, 16 s, plus jitter).
const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Up to this much random delay is added to a backoff, so parallel lookups do not retry in step.
const JITTER_MS: u64 = 250;

/// Graph's error body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GraphError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "innerError", alias = "innererror")]
    pub inner_error: Option<InnerError>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct InnerError {
    #[serde(default, rename = "request-id")]
    pub request_id: Option<String>,
    #[serde(default, rename = "client-request-id")]
    pub client_request_id: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    error: GraphError,
}

impl GraphError {
    /// Reads Graph's error body; anything else yields an empty error with no code.
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice::<Envelope>(body)
            .map(|e| e.error)
            .unwrap_or_default()
    }
}

/// What went wrong with a Graph call, in the terms the caller acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// No user or shared mailbox has this address (404).
    NotFound,
    /// The account exists but has no Exchange Online mailbox.
    NoMailbox,
    /// Exchange keeps the app out of this mailbox (application access policy, RBAC scope).
    AccessDenied,
    /// The app may not read the directory (no `User.Read.All`).
    DirectoryDenied,
    /// Graph refused the access token itself (401).
    Unauthorized,
    /// Still throttled after waiting as told.
    Throttled,
    /// Graph or the network is down or too slow.
    Unavailable,
    Cancelled,
    /// Anything else Graph refused.
    Other,
}

/// A failed Graph call: what kind of problem, the HTTP status when Graph answered, and the
/// error to show.
#[derive(Debug)]
pub struct Failure {
    pub problem: Problem,
    pub status: Option<StatusCode>,
    pub error: Error,
}

impl Failure {
    pub fn new(problem: Problem, error: Error) -> Self {
        Self {
            problem,
            status: None,
            error,
        }
    }
}

/// Turns a Graph error answer into a [`Failure`] with words a person can act on.
pub fn explain(status: StatusCode, body: &GraphError, client_request_id: &str) -> Failure {
    let code = body.code.as_str();
    let (problem, error_code, message, fix) = match (status.as_u16(), code) {
        (_, "MailboxNotEnabledForRESTAPI" | "ErrorMailboxNotEnabledForRESTAPI") => (
            Problem::NoMailbox,
            ErrorCode::NotFound,
            "This account has no Exchange Online mailbox (or it is on-premises).",
            "Give the account an Exchange Online licence, or use the address of a shared mailbox; new mailboxes can take a few minutes to appear.",
        ),
        (404, _) => (
            Problem::NotFound,
            ErrorCode::NotFound,
            "No user or shared mailbox with this address exists in the organisation.",
            "Check the spelling and use the mailbox's primary email address; a mailbox created a moment ago can take a few minutes to appear.",
        ),
        (403, "Authorization_RequestDenied") => (
            Problem::DirectoryDenied,
            ErrorCode::NeedsConsent,
            "The app may not look up mailboxes in the directory.",
            "Add the application permission User.Read.All (Microsoft Graph) to the app registration and grant admin consent, then try again.",
        ),
        (403, _) => (
            Problem::AccessDenied,
            ErrorCode::NeedsConsent,
            "Exchange keeps the app out of this mailbox.",
            "An Exchange administrator can let the app in through its application access policy or RBAC for Applications scope (Test-ApplicationAccessPolicy shows the result); then add the mailbox again.",
        ),
        (401, _) => (
            Problem::Unauthorized,
            ErrorCode::NeedsConsent,
            "Microsoft Graph refused the app's access token.",
            "Check that the app's cloud and Graph address match the tenant, and that an administrator has consented; then try again.",
        ),
        (429, _) => (
            Problem::Throttled,
            ErrorCode::Network,
            "Microsoft Graph is throttling the app for this mailbox.",
            "Wait a few minutes and add the mailbox again.",
        ),
        (500..=599, _) => (
            Problem::Unavailable,
            ErrorCode::Network,
            "Microsoft Graph is not available right now.",
            "Try again in a few minutes.",
        ),
        _ => (
            Problem::Other,
            ErrorCode::IdentityProvider,
            "",
            "Quote the request ID below if you ask Microsoft support.",
        ),
    };
    let message = if message.is_empty() {
        let said = body.message.lines().next().unwrap_or_default().trim();
        if said.is_empty() {
            format!("Microsoft Graph answered HTTP {}.", status.as_u16())
        } else {
            format!("Microsoft Graph answered: {said}")
        }
    } else {
        message.to_owned()
    };
    let inner = body.inner_error.clone().unwrap_or_default();
    let error = Error::new(error_code, message).with_detail(ErrorDetail {
        graph_error: (!code.is_empty()).then(|| code.to_owned()),
        request_id: inner.request_id,
        client_request_id: inner
            .client_request_id
            .or_else(|| Some(client_request_id.to_owned())),
        timestamp: inner.date,
        fix: Some(fix.to_owned()),
        ..ErrorDetail::default()
    });
    Failure {
        problem,
        status: Some(status),
        error,
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    // The server's number: clamped, so no value can overflow the arithmetic that uses it.
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(crate::http::clamp_retry_after(Duration::from_secs(seconds)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(crate::http::clamp_retry_after(
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO),
    ))
}

fn backoff(attempt: u32) -> Duration {
    let jitter = u64::try_from(uuid::Uuid::new_v4().as_u128() % u128::from(JITTER_MS))
        .expect("below JITTER_MS");
    BACKOFF_BASE * 2u32.pow(attempt.saturating_sub(1).min(4)) + Duration::from_millis(jitter)
}

/// The content type of an answer that is not JSON (Graph always answers JSON), if it says one.
fn not_json(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let kind = headers.get(reqwest::header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = kind
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    (!essence.is_empty() && essence != "application/json" && !essence.ends_with("+json"))
        .then_some(essence)
}

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 503 | 504)
}

fn cancelled() -> Failure {
    Failure::new(
        Problem::Cancelled,
        Error::new(ErrorCode::Cancelled, "Cancelled before Graph answered."),
    )
}

/// Waits, unless cancelled first.
async fn pause(wait: Duration, cancel: &CancellationToken) -> std::result::Result<(), Failure> {
    tokio::select! {
        () = tokio::time::sleep(wait) => Ok(()),
        () = cancel.cancelled() => Err(cancelled()),
    }
}

/// One GET with an access token, retried while Graph throttles or is briefly unavailable.
pub async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &Url,
    token: &Sensitive<String>,
    cancel: &CancellationToken,
) -> std::result::Result<T, Failure> {
    call(http, url, token, None, cancel).await
}

/// One POST of a JSON body; an answer without a body reads as `null`. Retried only while Graph
/// throttles (`429`: it did not act), never after a failure that may have acted.
pub async fn post_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &Url,
    token: &Sensitive<String>,
    body: &serde_json::Value,
    cancel: &CancellationToken,
) -> std::result::Result<T, Failure> {
    call(http, url, token, Some(body), cancel).await
}

async fn call<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &Url,
    token: &Sensitive<String>,
    body: Option<&serde_json::Value>,
    cancel: &CancellationToken,
) -> std::result::Result<T, Failure> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        if cancel.is_cancelled() {
            return Err(cancelled());
        }
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let request = match body {
            None => http.get(url.clone()),
            Some(json) => http.post(url.clone()).json(json),
        };
        let send = request
            .bearer_auth(token.expose())
            .header("client-request-id", &client_request_id)
            .header(reqwest::header::ACCEPT, "application/json")
            .send();
        let response = tokio::select! {
            r = send => r,
            () = cancel.cancelled() => return Err(cancelled()),
        };
        let response = match response {
            Ok(r) => r,
            // One more try covers a dropped keep-alive connection; a real outage shows at once.
            Err(e) if attempt == 1 && (body.is_none() || e.is_connect()) => {
                pause(backoff(1), cancel).await?;
                continue;
            }
            Err(e) => {
                return Err(Failure::new(
                    Problem::Unavailable,
                    crate::http::network_error("Microsoft Graph", &e),
                ));
            }
        };
        let status = response.status();
        if status.is_success() {
            if let Some(kind) = not_json(response.headers()) {
                return Err(Failure::new(
                    Problem::Unavailable,
                    Error::new(
                        ErrorCode::Network,
                        format!("Microsoft Graph answered with a page that is not Graph's ({kind}): it may be behind a captive portal or a proxy."),
                    )
                    .with_fix("Check the network (sign in to it if it asks) and the app's Graph address, then try again."),
                ));
            }
            let bytes = match crate::http::read_capped(response).await {
                Ok(bytes) => bytes,
                Err(crate::http::BodyError::TooLarge) => {
                    return Err(Failure::new(
                        Problem::Other,
                        crate::http::too_large("Microsoft Graph"),
                    ));
                }
                Err(crate::http::BodyError::Transport(e)) => {
                    return Err(Failure::new(
                        Problem::Unavailable,
                        crate::http::network_error("Microsoft Graph", &e),
                    ));
                }
            };
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice::<T>(bytes).map_err(|e| {
                Failure::new(
                    Problem::Other,
                    Error::new(
                        ErrorCode::IdentityProvider,
                        format!("Microsoft Graph's answer could not be read: {e}"),
                    )
                    .with_fix("Check the app's Graph address."),
                )
            });
        }
        let may_retry = body.is_none() || status == StatusCode::TOO_MANY_REQUESTS;
        let guided = retry_after(response.headers());
        let limit = if guided.is_none() && status != StatusCode::TOO_MANY_REQUESTS {
            UNGUIDED_ATTEMPTS
        } else {
            MAX_ATTEMPTS
        };
        if may_retry && retryable(status) && attempt < limit {
            let wait = guided.unwrap_or_else(|| backoff(attempt));
            if wait <= MAX_WAIT {
                tracing::info!(
                    status = status.as_u16(),
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    attempt,
                    "Graph asked to wait"
                );
                pause(wait, cancel).await?;
                continue;
            }
        }
        // An error body too large (or cut off) reads as none: the status still explains it.
        let body = crate::http::read_capped(response).await.unwrap_or_default();
        let failure = explain(status, &GraphError::parse(&body), &client_request_id);
        tracing::info!(status = status.as_u16(), graph_error = ?failure.error.detail().and_then(|d| d.graph_error.clone()), request_id = ?failure.error.detail().and_then(|d| d.request_id.clone()), "Graph call failed");
        return Err(failure);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> GraphError {
        GraphError::parse(
            serde_json::json!({"error": {"code": code, "message": "Access is denied. Check credentials and try again.",
                "innerError": {"request-id": "req-1", "client-request-id": "cli-1", "date": "2026-05-01T10:00:00"}}})
                .to_string()
                .as_bytes(),
        )
    }

    #[test]
    fn graph_errors_become_plain_words_with_request_ids() {
        let f = explain(StatusCode::FORBIDDEN, &body("ErrorAccessDenied"), "mine");
        assert_eq!(f.problem, Problem::AccessDenied);
        assert_eq!(f.error.code(), ErrorCode::NeedsConsent);
        let d = f.error.detail().unwrap();
        assert_eq!(d.graph_error.as_deref(), Some("ErrorAccessDenied"));
        assert_eq!(d.request_id.as_deref(), Some("req-1"));
        assert_eq!(d.client_request_id.as_deref(), Some("cli-1"));
        assert_eq!(d.timestamp.as_deref(), Some("2026-05-01T10:00:00"));
        assert!(
            d.fix
                .as_deref()
                .unwrap()
                .contains("application access policy")
        );

        let f = explain(
            StatusCode::NOT_FOUND,
            &body("Request_ResourceNotFound"),
            "mine",
        );
        assert_eq!(f.problem, Problem::NotFound);
        assert!(f.error.message().contains("No user or shared mailbox"));

        let f = explain(
            StatusCode::NOT_FOUND,
            &body("MailboxNotEnabledForRESTAPI"),
            "x",
        );
        assert_eq!(f.problem, Problem::NoMailbox);

        let f = explain(
            StatusCode::FORBIDDEN,
            &body("Authorization_RequestDenied"),
            "x",
        );
        assert_eq!(f.problem, Problem::DirectoryDenied);
        assert!(
            f.error
                .detail()
                .unwrap()
                .fix
                .as_deref()
                .unwrap()
                .contains("User.Read.All")
        );

        let f = explain(StatusCode::BAD_REQUEST, &body("BadRequest"), "x");
        assert_eq!(f.problem, Problem::Other);
        assert_eq!(
            f.error.message(),
            "Microsoft Graph answered: Access is denied. Check credentials and try again."
        );

        let f = explain(
            StatusCode::BAD_GATEWAY,
            &GraphError::parse(b"<html>"),
            "sent-id",
        );
        assert_eq!(f.problem, Problem::Unavailable);
        assert_eq!(
            f.error.detail().unwrap().client_request_id.as_deref(),
            Some("sent-id"),
            "without a body the ID we sent is kept"
        );
    }

    #[test]
    fn only_json_answers_are_read() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(
            not_json(&h),
            None,
            "no content type: read, and judged by its body"
        );
        for ok in [
            "application/json",
            "application/json;odata.metadata=minimal;charset=utf-8",
            "application/problem+json",
        ] {
            h.insert(reqwest::header::CONTENT_TYPE, ok.parse().unwrap());
            assert_eq!(not_json(&h), None, "{ok}");
        }
        h.insert(
            reqwest::header::CONTENT_TYPE,
            "text/html; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(not_json(&h).as_deref(), Some("text/html"));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = (chrono::Utc::now() + chrono::TimeDelta::seconds(30)).to_rfc2822();
        h.insert(reqwest::header::RETRY_AFTER, later.parse().unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn a_huge_retry_after_is_clamped_and_cannot_overflow_a_date() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::RETRY_AFTER,
            u64::MAX.to_string().parse().unwrap(),
        );
        let wait = retry_after(&h).unwrap();
        assert_eq!(wait, crate::http::MAX_RETRY_AFTER);
        let _ = chrono::Utc::now() + chrono::TimeDelta::from_std(wait).unwrap();
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Fri, 31 Dec 9999 23:59:59 +0000".parse().unwrap(),
        );
        assert_eq!(retry_after(&h).unwrap(), crate::http::MAX_RETRY_AFTER);
    }

    #[tokio::test]
    async fn a_huge_graph_answer_is_refused_unread() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[")
                .await;
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..1024 {
                if socket.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        });
        let url = Url::parse(&format!("http://127.0.0.1:{port}/v1.0/me")).unwrap();
        let failure = get_json::<serde_json::Value>(
            &crate::http::client(),
            &url,
            &Sensitive::new("t".into()),
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert_eq!(
            failure.error.message(),
            "Microsoft Graph sent an answer larger than 1024 KiB; it was not read."
        );
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(1) >= Duration::from_secs(1) && backoff(1) < Duration::from_millis(1250));
        assert!(backoff(3) >= Duration::from_secs(4));
        assert!(backoff(30) < Duration::from_secs(17));
    }
}
