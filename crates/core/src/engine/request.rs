//! The refresh-token request, through the `oauth2` crate, keeping what the HTTP response said
//! besides the body: the status and `Retry-After`, which decide how long to wait before a retry.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::{ClientId, ClientSecret, RefreshToken, Scope, TokenUrl};

use super::classify::{Failure, classify};
use crate::Sensitive;
use crate::cloud::Cloud;
use crate::error::Error;
use crate::oauth::Tokens;
use crate::oauth::{Client, token_error};

/// Who asks, for what.
#[derive(Debug)]
pub struct RefreshRequest<'a> {
    pub cloud: &'a Cloud,
    pub tenant: &'a str,
    pub client_id: &'a str,
    pub secret: Option<&'a Sensitive<String>>,
    pub refresh_token: &'a Sensitive<String>,
    pub scopes: &'a [String],
}

#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    status: Option<u16>,
    retry_after: Option<Duration>,
}

/// `Retry-After` in seconds (Microsoft's form); an HTTP date is read as "a minute".
fn retry_after(headers: &oauth2::http::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(oauth2::http::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    Some(
        value
            .trim()
            .parse::<u64>()
            .map_or(Duration::from_secs(60), Duration::from_secs),
    )
}

pub async fn refresh(
    r: &RefreshRequest<'_>,
    http: &reqwest::Client,
    now: DateTime<Utc>,
) -> Result<Tokens, Failure> {
    let internal = |e: url::ParseError| Failure::Permanent {
        state: crate::connection::StateKind::NeedsSignIn,
        error: Error::internal(format!("bad token endpoint URL: {e}")),
    };
    let mut client = Client::new(ClientId::new(r.client_id.to_owned()))
        .set_auth_type(oauth2::AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(r.cloud.token_url(r.tenant)).map_err(internal)?);
    if let Some(secret) = r.secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().clone()));
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let recorder = {
        let seen = seen.clone();
        move |request: oauth2::HttpRequest| {
            let (http, seen) = (http.clone(), seen.clone());
            async move {
                let response = crate::http::oauth_call(&http, request).await?;
                *seen.lock().expect("seen poisoned") = Seen {
                    status: Some(response.status().as_u16()),
                    retry_after: retry_after(response.headers())
                        .map(crate::http::clamp_retry_after),
                };
                Ok::<_, oauth2::HttpClientError<reqwest::Error>>(response)
            }
        }
    };
    let result = client
        .exchange_refresh_token(&RefreshToken::new(r.refresh_token.expose().clone()))
        .add_scopes(r.scopes.iter().cloned().map(Scope::new))
        .request_async(&recorder)
        .await;
    match result {
        Ok(response) => Ok(Tokens::from_response(&response, r.scopes, now)),
        Err(e) => {
            let seen = *seen.lock().expect("seen poisoned");
            Err(classify(
                token_error("The identity provider", &e),
                seen.status,
                seen.retry_after,
            ))
        }
    }
}
