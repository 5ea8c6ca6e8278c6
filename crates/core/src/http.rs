//! The one HTTP client configuration: rustls, redirects off (token requests must never follow a
//! redirect), and timeouts on every call.

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

/// A transport failure (no answer at all), explained.
pub fn network_error(what: &str, e: &(dyn std::error::Error + 'static)) -> Error {
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
