//! Device code sign-in for machines without a browser (public clients): show a code and a URL,
//! poll at the interval Microsoft gives (the `oauth2` crate handles `authorization_pending` and
//! `slow_down`), stop on decline, expiry or cancel.

use chrono::{DateTime, Utc};
use oauth2::{
    ClientId, DeviceAuthorizationUrl, DeviceCodeErrorResponseType, EndpointNotSet, EndpointSet,
    RequestTokenError, Scope, StandardDeviceAuthorizationResponse, TokenUrl,
};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::cloud::Cloud;
use crate::error::{Error, ErrorCode, Result};
use crate::oauth::Tokens;
use crate::oauth::{Client, token_error};

/// What the user needs to finish a device sign-in elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_uri: String,
    #[ts(type = "string")]
    pub expires_at: DateTime<Utc>,
    /// Microsoft's own instruction text.
    pub message: Option<String>,
}

type DeviceClient = Client<EndpointNotSet, EndpointSet, EndpointSet>;

/// A device sign-in waiting for the user.
#[derive(Debug)]
pub struct Pending {
    pub code: DeviceCode,
    details: StandardDeviceAuthorizationResponse,
    /// The code's life as Microsoft gave it, clamped.
    lifetime: std::time::Duration,
    client: DeviceClient,
    scopes: Vec<String>,
}

pub async fn begin(
    cloud: &Cloud,
    tenant: &str,
    client_id: &str,
    scopes: &[String],
    http: &reqwest::Client,
) -> Result<Pending> {
    let invalid_url = |e: url::ParseError| Error::internal(format!("bad endpoint URL: {e}"));
    let client = Client::new(ClientId::new(client_id.to_owned()))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(cloud.device_code_url(tenant)).map_err(invalid_url)?,
        )
        .set_token_uri(TokenUrl::new(cloud.token_url(tenant)).map_err(invalid_url)?)
        .set_auth_type(oauth2::AuthType::RequestBody);
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes.iter().cloned().map(Scope::new))
        .request_async(&crate::http::capped(http))
        .await
        .map_err(|e| token_error("The identity provider", &e))?;
    let lifetime = crate::http::clamp_device_code_lifetime(details.expires_in());
    let code = DeviceCode {
        user_code: details.user_code().secret().clone(),
        verification_uri: details.verification_uri().to_string(),
        expires_at: Utc::now()
            + chrono::Duration::from_std(lifetime)
                .unwrap_or_else(|_| chrono::Duration::minutes(15)),
        message: None,
    };
    Ok(Pending {
        code,
        details,
        lifetime,
        client,
        scopes: scopes.to_vec(),
    })
}

impl Pending {
    /// Polls until the user signs in, declines, the code expires, or `cancel` fires.
    pub async fn complete(
        self,
        http: &reqwest::Client,
        cancel: &CancellationToken,
    ) -> Result<Tokens> {
        let http = crate::http::capped(http);
        // The server's interval (and slow_down's increases) and the code's life are clamped, so
        // neither a zero nor a huge number can spin the poll or overflow its deadline.
        let poll = self
            .client
            .exchange_device_access_token(&self.details)
            .set_max_backoff_interval(crate::http::MAX_POLL_INTERVAL)
            .request_async(
                &http,
                |interval| tokio::time::sleep(crate::http::clamp_poll_interval(interval)),
                Some(self.lifetime),
            );
        let response = tokio::select! {
            r = poll => r,
            () = cancel.cancelled() => return Err(Error::new(ErrorCode::Cancelled, "The sign-in was cancelled.")),
        };
        match response {
            Ok(r) => Ok(Tokens::from_response(&r, &self.scopes, Utc::now())),
            Err(RequestTokenError::ServerResponse(e)) => Err(match e.error() {
                DeviceCodeErrorResponseType::AccessDenied => Error::new(
                    ErrorCode::NeedsConsent,
                    "The sign-in was declined on the other device.",
                )
                .with_fix("Start again and approve the sign-in."),
                DeviceCodeErrorResponseType::ExpiredToken => Error::new(
                    ErrorCode::Timeout,
                    "The code expired before anyone signed in with it.",
                )
                .with_fix("Start again and enter the new code within 15 minutes."),
                DeviceCodeErrorResponseType::Basic(
                    oauth2::basic::BasicErrorResponseType::Extension(name),
                ) if name == "authorization_declined" => Error::new(
                    ErrorCode::NeedsConsent,
                    "The sign-in was declined on the other device.",
                )
                .with_fix("Start again and approve the sign-in."),
                DeviceCodeErrorResponseType::Basic(
                    oauth2::basic::BasicErrorResponseType::Extension(name),
                ) if name == "bad_verification_code" => Error::new(
                    ErrorCode::IdentityProvider,
                    "Microsoft did not recognise the device code.",
                )
                .with_fix("Start the device sign-in again."),
                DeviceCodeErrorResponseType::Basic(_)
                | DeviceCodeErrorResponseType::AuthorizationPending
                | DeviceCodeErrorResponseType::SlowDown => Error::new(
                    ErrorCode::IdentityProvider,
                    format!(
                        "The device sign-in failed: {}",
                        e.error_description()
                            .map_or_else(|| e.error().to_string(), Clone::clone)
                    ),
                ),
            }),
            Err(RequestTokenError::Request(e)) => {
                Err(crate::http::network_error("The identity provider", &e))
            }
            Err(other) => Err(Error::new(
                ErrorCode::IdentityProvider,
                format!("The device sign-in failed: {other}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A stand-in that answers every request with `body` as JSON.
    async fn answering(body: serde_json::Value) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let body = body.to_string();
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    let _ = socket.read(&mut buf).await;
                    let _ = socket
                        .write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                });
            }
        });
        port
    }

    /// About 317,000 years: a `Duration` chrono accepts, but a date it cannot reach.
    const HUGE: u64 = 10_000_000_000_000;

    #[tokio::test]
    async fn a_huge_device_code_lifetime_is_clamped_instead_of_overflowing() {
        let port = answering(serde_json::json!({
            "device_code": "dc", "user_code": "ABC-DEF", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": HUGE, "interval": HUGE,
        }))
        .await;
        let base = format!("http://127.0.0.1:{port}");
        let cloud = Cloud::custom(&base, &base).unwrap();
        let pending = begin(
            &cloud,
            "common",
            "c1",
            &["openid".into()],
            &crate::http::client(),
        )
        .await
        .unwrap();
        let left = pending.code.expires_at - Utc::now();
        assert!(left <= chrono::TimeDelta::hours(1), "{left}");
        assert!(left > chrono::TimeDelta::minutes(59), "{left}");
        assert_eq!(pending.lifetime, crate::http::MAX_DEVICE_CODE_LIFETIME);
    }

    #[test]
    fn a_huge_token_lifetime_is_clamped_instead_of_overflowing() {
        let response: crate::oauth::TokenResponse = serde_json::from_value(serde_json::json!({
            "access_token": "at", "token_type": "Bearer", "expires_in": HUGE,
        }))
        .unwrap();
        let now = Utc::now();
        let tokens = Tokens::from_response(&response, &[], now);
        assert_eq!(tokens.expires_at - now, chrono::TimeDelta::hours(48));
    }
}
