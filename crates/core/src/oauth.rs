//! The `oauth2` crate set up for Microsoft: token responses with an `id_token` and what they yield
//! ([`Tokens`]), the one client-credentials request ([`AppToken`]), error bodies with
//! AADSTS codes, and the request failures those produce turned into user-facing errors.

use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    EndpointNotSet, ExtraTokenFields, HttpClientError, RequestTokenError, StandardRevocableToken,
    StandardTokenResponse,
};
use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse as _, TokenUrl};
use serde::{Deserialize, Serialize};

use crate::Sensitive;
use crate::aadsts::MicrosoftError;
use crate::cloud::Cloud;
use crate::error::{Error, ErrorCode, Result};

/// Fields Microsoft adds to a token response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MicrosoftExtra {
    /// Present when `openid` was requested. A JWT about the user: kept out of Debug and Serialize.
    #[serde(default, skip_serializing)]
    pub id_token: Option<Sensitive<String>>,
}

impl ExtraTokenFields for MicrosoftExtra {}

pub type TokenResponse = StandardTokenResponse<MicrosoftExtra, BasicTokenType>;

/// An `oauth2` client speaking Microsoft's dialect; endpoint states as in `oauth2::Client`.
pub type Client<Auth = EndpointNotSet, Device = EndpointNotSet, Token = EndpointNotSet> =
    oauth2::Client<
        MicrosoftError,
        TokenResponse,
        BasicTokenIntrospectionResponse,
        StandardRevocableToken,
        BasicRevocationErrorResponse,
        Auth,
        Device,
        EndpointNotSet,
        EndpointNotSet,
        Token,
    >;

pub type TokenError = RequestTokenError<HttpClientError<reqwest::Error>, MicrosoftError>;

/// Explains a failed token request. `who` names the service, e.g. "The identity provider".
pub fn token_error(who: &str, e: &TokenError) -> Error {
    match e {
        RequestTokenError::ServerResponse(ms) => ms.to_error(),
        RequestTokenError::Request(inner) => crate::http::network_error(who, inner),
        RequestTokenError::Parse(_, _) => Error::new(
            ErrorCode::Network,
            format!("{who} answered with something that is not a token response (it may be down or behind a captive portal)."),
        )
        .with_fix("Check the authority URL of the cloud and try again later."),
        // oauth2 says "Other" for an answer of the wrong content type (a proxy's or captive
        // portal's page) or an empty error body: the service is not answering as itself, which
        // passes, so it is a network problem (retried), not a reason to sign in again.
        RequestTokenError::Other(text) => Error::new(
            ErrorCode::Network,
            format!("{who} answered with something that is not a token response ({text}); it may be down or behind a captive portal."),
        )
        .with_fix("Check the authority URL of the cloud and try again later."),
    }
}

/// What a successful sign-in or refresh yields. Secrets stay wrapped.
#[derive(Debug)]
pub struct Tokens {
    pub access_token: Sensitive<String>,
    pub refresh_token: Option<Sensitive<String>>,
    pub expires_at: DateTime<Utc>,
    /// The scopes Microsoft actually granted (the response's `scope`).
    pub granted: Vec<String>,
    pub id_token: Option<Sensitive<String>>,
}

impl Tokens {
    pub fn from_response(
        response: &TokenResponse,
        requested: &[String],
        now: DateTime<Utc>,
    ) -> Self {
        let lifetime = response
            .expires_in()
            .unwrap_or(std::time::Duration::from_secs(3600));
        let granted = match response.scopes() {
            Some(scopes) => scopes.iter().map(|s| s.to_string()).collect(),
            // RFC 6749: no `scope` in the response means the requested scopes were granted.
            None => requested.to_vec(),
        };
        Self {
            access_token: Sensitive::new(response.access_token().secret().clone()),
            refresh_token: response
                .refresh_token()
                .map(|r| Sensitive::new(r.secret().clone())),
            // `expires_in` is the server's number: clamped, so it cannot overflow the date.
            expires_at: crate::http::expiry(now, lifetime),
            granted,
            id_token: response.extra_fields().id_token.clone(),
        }
    }
}

/// Renew at most this long before expiry: Microsoft's app tokens live 60-90 minutes, and five
/// minutes covers clock skew and a long bulk add that started with the token.
const RENEW_MARGIN: TimeDelta = TimeDelta::minutes(5);
/// Short-lived tokens (proxies, test providers) are renewed when a quarter of their life is left,
/// so a margin longer than the lifetime cannot make every call fetch a new one.
const RENEW_FRACTION: i32 = 4;
/// Microsoft's default access-token lifetime, assumed when a response omits `expires_in`.
const DEFAULT_LIFETIME: TimeDelta = TimeDelta::hours(1);

/// An app-only access token for Microsoft Graph.
#[derive(Debug, Clone)]
pub struct AppToken {
    pub access_token: Sensitive<String>,
    pub expires_at: DateTime<Utc>,
    /// The application permissions it carries (its `roles` claim), e.g. `Mail.ReadWrite`.
    /// Empty when they cannot be read: see `roles_known`.
    pub roles: Vec<String>,
    /// Whether the token could be read at all. Microsoft tells clients not to depend on the
    /// format: an opaque token says nothing of its permissions, and only Graph's answers do.
    pub roles_known: bool,
    /// The tenant that issued it (`tid` claim).
    pub tenant_id: Option<String>,
    /// From this moment the cache fetches a new token instead of handing out this one.
    pub renew_at: DateTime<Utc>,
}

impl AppToken {
    pub(crate) fn new(access_token: String, issued: DateTime<Utc>, lifetime: TimeDelta) -> Self {
        let claims = read_claims(&access_token);
        let expires_at = issued + lifetime;
        Self {
            access_token: Sensitive::new(access_token),
            expires_at,
            roles: claims.as_ref().map(|c| c.roles.clone()).unwrap_or_default(),
            roles_known: claims.is_some(),
            tenant_id: claims.and_then(|c| c.tid),
            renew_at: renew_at(issued, expires_at),
        }
    }

    /// Whether the cache may still hand it out at `now`.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        now < self.renew_at
    }

    /// Whether it holds a role (Microsoft's names compare case-insensitively).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }
}

/// When to renew a token valid from `issued` until `expires_at`.
pub(crate) fn renew_at(issued: DateTime<Utc>, expires_at: DateTime<Utc>) -> DateTime<Utc> {
    let lifetime = (expires_at - issued).max(TimeDelta::zero());
    expires_at - RENEW_MARGIN.min(lifetime / RENEW_FRACTION)
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    roles: Vec<String>,
    tid: Option<String>,
}

/// The claims of an app-only token. It came straight from the token endpoint over TLS and is only
/// read (never trusted for access decisions: Graph checks it), so its signature is not verified.
fn read_claims(token: &str) -> Option<Claims> {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.insecure_disable_signature_validation();
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    match jsonwebtoken::decode::<Claims>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(&[]),
        &validation,
    ) {
        Ok(data) => Some(data.claims),
        Err(e) => {
            tracing::warn!(error = %e, "the app-only access token is not a readable JWT; its permissions are unknown");
            None
        }
    }
}

/// One client-credentials request for a Graph token (`{graph}/.default`): application access,
/// the registration probe and secret rotation all ask through it. The caller checks the tenant.
pub async fn client_credentials(
    cloud: &Cloud,
    tenant: &str,
    client_id: &str,
    secret: &Sensitive<String>,
    http: &reqwest::Client,
) -> Result<AppToken> {
    let token_url =
        TokenUrl::new(cloud.token_url(tenant)).map_err(|e| Error::internal(e.to_string()))?;
    let client = Client::new(ClientId::new(client_id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.expose().clone()))
        .set_auth_type(oauth2::AuthType::RequestBody)
        .set_token_uri(token_url);
    let issued = Utc::now();
    let response = client
        .exchange_client_credentials()
        .add_scope(Scope::new(cloud.graph_default_scope()))
        .request_async(&crate::http::capped(http))
        .await
        .map_err(|e| app_only(token_error("The identity provider", &e)))?;
    let lifetime = response
        .expires_in()
        .and_then(|d| TimeDelta::from_std(crate::http::clamp_lifetime(d)).ok())
        .unwrap_or(DEFAULT_LIFETIME);
    tracing::debug!(client_id, tenant, "app-only token issued");
    Ok(AppToken::new(
        response.access_token().secret().clone(),
        issued,
        lifetime,
    ))
}

/// Consent for application permissions is an administrator's, for the whole tenant; nobody signs
/// in, so the catalogue's "sign in again and accept" does not apply.
fn app_only(e: Error) -> Error {
    if e.code() == ErrorCode::NeedsConsent {
        e.with_fix("An administrator of the tenant must grant admin consent to the app's application permissions: send them the admin consent link, then check again.")
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_instead_of_a_token_response_is_a_network_problem_not_a_sign_in() {
        let e: TokenError = RequestTokenError::Other(
            "unexpected response Content-Type: \"text/html; charset=utf-8\", should be `application/json`".into(),
        );
        let error = token_error("The identity provider", &e);
        assert_eq!(error.code(), ErrorCode::Network);
        assert!(
            error.message().contains("not a token response")
                && error.message().contains("text/html"),
            "{}",
            error.message()
        );
    }
}
