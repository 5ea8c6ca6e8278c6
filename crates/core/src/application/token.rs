//! App-only access tokens: OAuth client credentials with `scope={graph}/.default` against the
//! registration's own tenant. Microsoft issues no refresh token in this flow, so the only stored
//! credential is the client secret (keychain); tokens live in memory only.
//!
//! [`AppTokenCache`] keeps one token per registration, hands it out until shortly before it
//! expires, and lets only one request per registration reach the identity provider at a time
//! (single flight): fifty mailboxes looked up at once share one token request. It leaves out
//! scheduling; the refresh engine calls [`AppTokenCache::token`] when it needs a token.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse as _, TokenUrl};
use serde::Deserialize;

use crate::Sensitive;
use crate::cloud::Cloud;
use crate::error::{Error, ErrorCode, Result};
use crate::keychain::Keychain;
use crate::keychain::SecretKey;
use crate::oauth::{Client, token_error};
use crate::registration::{ClientKind, Registration, TenantKind, classify_tenant};

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
    pub roles: Vec<String>,
    /// The tenant that issued it (`tid` claim).
    pub tenant_id: Option<String>,
    /// From this moment the cache fetches a new token instead of handing out this one.
    pub renew_at: DateTime<Utc>,
}

impl AppToken {
    fn new(access_token: String, issued: DateTime<Utc>, lifetime: TimeDelta) -> Self {
        let claims = read_claims(&access_token);
        let expires_at = issued + lifetime;
        Self {
            access_token: Sensitive::new(access_token),
            expires_at,
            roles: claims.as_ref().map(|c| c.roles.clone()).unwrap_or_default(),
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
fn renew_at(issued: DateTime<Utc>, expires_at: DateTime<Utc>) -> DateTime<Utc> {
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

/// Client credentials need one organisation: `common`, `organizations` and `consumers` stand for
/// many (Microsoft would answer AADSTS9001023), so they are refused before any request.
pub fn require_specific_tenant(tenant: &str) -> Result<()> {
    match classify_tenant(tenant) {
        Some(kind) if kind.is_generic() => {
            let why = if kind == TenantKind::Consumers {
                "personal Microsoft accounts have no organisation whose mailboxes an app could reach"
            } else {
                "it stands for many organisations, and the app must act inside exactly one"
            };
            Err(Error::invalid(
                "tenant",
                format!("Application access cannot use the tenant '{tenant}': {why}."),
            )
            .with_fix("Edit the app and enter your Directory (tenant) ID (a GUID from the app's Overview page) or your organisation's domain."))
        }
        Some(_) => Ok(()),
        None => Err(Error::invalid(
            "tenant",
            format!("'{tenant}' is not a tenant ID or domain."),
        )
        .with_fix(
            "Edit the app and enter your Directory (tenant) ID or your organisation's domain.",
        )),
    }
}

/// What a registration needs before it can ask for an app-only token.
pub fn require_app_credentials(registration: &Registration) -> Result<()> {
    require_specific_tenant(&registration.tenant)?;
    if registration.kind == ClientKind::Public {
        return Err(Error::invalid(
            "kind",
            format!("\"{}\" is a desktop (public) app, which has no client secret, and application access needs one.", registration.name),
        )
        .with_fix("Register a Web (confidential) app with a client secret for application access."));
    }
    Ok(())
}

/// One client-credentials request for a Graph token. Also the credentials step of "test the
/// registration".
pub async fn request(
    cloud: &Cloud,
    tenant: &str,
    client_id: &str,
    secret: &Sensitive<String>,
    http: &reqwest::Client,
) -> Result<AppToken> {
    require_specific_tenant(tenant)?;
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
        .request_async(http)
        .await
        .map_err(|e| app_only(token_error("The identity provider", &e)))?;
    let lifetime = response
        .expires_in()
        .and_then(|d| TimeDelta::from_std(d).ok())
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

/// What a cached token was issued for; an edited registration (new secret, tenant, cloud) no
/// longer matches and gets a new token.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    client_id: String,
    tenant: String,
    token_url: String,
    updated_at: DateTime<Utc>,
}

impl Fingerprint {
    fn of(registration: &Registration, cloud: &Cloud) -> Self {
        Self {
            client_id: registration.client_id.clone(),
            tenant: registration.tenant.clone(),
            token_url: cloud.token_url(&registration.tenant),
            updated_at: registration.updated_at,
        }
    }
}

#[derive(Debug)]
struct Entry {
    token: AppToken,
    fingerprint: Fingerprint,
}

type Slot = Arc<tokio::sync::Mutex<Option<Entry>>>;

/// App-only tokens by registration id, in memory. Share one per process (the app's state, the
/// CLI's run); cheap to keep, never persisted.
#[derive(Debug, Default)]
pub struct AppTokenCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl AppTokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self, registration_id: &str) -> Slot {
        self.slots
            .lock()
            .expect("token cache poisoned")
            .entry(registration_id.to_owned())
            .or_default()
            .clone()
    }

    /// A token for the registration: the cached one while it is fresh, else a new one. Callers
    /// for one registration queue behind a request in flight and then share its token. Errors are
    /// not cached: the next call asks again.
    pub async fn token(
        &self,
        registration: &Registration,
        secrets: &dyn Keychain,
        http: &reqwest::Client,
    ) -> Result<AppToken> {
        require_app_credentials(registration)?;
        let cloud = registration.cloud()?;
        let fingerprint = Fingerprint::of(registration, &cloud);
        let slot = self.slot(&registration.id);
        let mut held = slot.lock().await;
        if let Some(entry) = held.as_ref()
            && entry.fingerprint == fingerprint
            && entry.token.is_fresh(Utc::now())
        {
            return Ok(entry.token.clone());
        }
        *held = None;
        let secret = secrets
            .get(&SecretKey::client_secret(&registration.id))?
            .ok_or_else(|| {
                Error::invalid(
                    "secret",
                    format!("No client secret is stored for \"{}\".", registration.name),
                )
                .with_fix("Edit the app and paste the secret's Value.")
            })?;
        let token = request(
            &cloud,
            &registration.tenant,
            &registration.client_id,
            &secret,
            http,
        )
        .await?;
        *held = Some(Entry {
            token: token.clone(),
            fingerprint,
        });
        Ok(token)
    }

    /// Forgets the registration's token (its secret was rotated, an admin just consented): the
    /// next [`token`](Self::token) call asks the identity provider.
    pub fn invalidate(&self, registration_id: &str) {
        self.slots
            .lock()
            .expect("token cache poisoned")
            .remove(registration_id);
    }

    /// Forgets the token only if it is still `stale` (Graph refused it). Several callers that saw
    /// the same refusal cause one new request, not one each.
    pub async fn invalidate_if(&self, registration_id: &str, stale: &Sensitive<String>) {
        let slot = self.slot(registration_id);
        let mut held = slot.lock().await;
        if held
            .as_ref()
            .is_some_and(|e| e.token.access_token == *stale)
        {
            *held = None;
        }
    }

    /// The cached token's expiry, without asking for one (for status displays).
    pub fn cached_expiry(&self, registration_id: &str) -> Option<DateTime<Utc>> {
        let slot = self
            .slots
            .lock()
            .expect("token cache poisoned")
            .get(registration_id)
            .cloned()?;
        let held = slot.try_lock().ok()?;
        held.as_ref().map(|e| e.token.expires_at)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::application::testing::{Fake, setup};
    use crate::keychain::MemoryKeychain;

    #[test]
    fn renewal_margin_is_five_minutes_or_a_quarter_of_the_lifetime() {
        let now = Utc::now();
        let hour = now + TimeDelta::hours(1);
        assert_eq!(renew_at(now, hour), hour - TimeDelta::minutes(5));
        let short = now + TimeDelta::seconds(8);
        assert_eq!(renew_at(now, short), short - TimeDelta::seconds(2));
        assert_eq!(renew_at(now, now), now);
    }

    #[test]
    fn roles_and_tenant_are_read_from_the_token() {
        let jwt = crate::application::testing::jwt(&serde_json::json!({
            "roles": ["Mail.ReadWrite", "User.Read.All"], "tid": "t-1", "exp": 1,
        }));
        let token = AppToken::new(jwt, Utc::now(), TimeDelta::hours(1));
        assert_eq!(token.roles, ["Mail.ReadWrite", "User.Read.All"]);
        assert!(token.has_role("mail.readwrite"));
        assert_eq!(token.tenant_id.as_deref(), Some("t-1"));
        let opaque = AppToken::new("not-a-jwt".into(), Utc::now(), TimeDelta::hours(1));
        assert!(opaque.roles.is_empty());
        assert_eq!(format!("{opaque:?}").matches("not-a-jwt").count(), 0);
    }

    #[test]
    fn generic_tenants_are_refused_with_the_reason() {
        for tenant in ["common", "organizations", "consumers"] {
            let e = require_specific_tenant(tenant).unwrap_err();
            assert_eq!(e.code(), ErrorCode::Validation);
            assert_eq!(e.field(), Some("tenant"));
            assert!(e.message().contains(&format!("'{tenant}'")), "{e}");
            assert!(
                e.detail()
                    .unwrap()
                    .fix
                    .as_deref()
                    .unwrap()
                    .contains("tenant")
            );
        }
        require_specific_tenant("contoso.onmicrosoft.com").unwrap();
        require_specific_tenant("aaaaaaaa-0000-4000-8000-000000000001").unwrap();
    }

    #[tokio::test]
    async fn one_request_serves_concurrent_callers_until_renewal() {
        let idp = Fake::start(3600).await;
        let (_store, secrets, reg) = setup(&idp.base);
        let (cache, http) = (AppTokenCache::new(), crate::http::client());
        let calls = (0..8).map(|_| cache.token(&reg, &secrets, &http));
        let tokens = futures_util::future::join_all(calls).await;
        assert!(tokens.iter().all(Result::is_ok));
        assert_eq!(
            idp.shared.token_hits.load(Ordering::SeqCst),
            1,
            "single flight"
        );
        let first = tokens[0].as_ref().unwrap();
        assert!(first.has_role("Mail.Send"));
        assert!(first.expires_at > Utc::now() + TimeDelta::minutes(59));

        cache.token(&reg, &secrets, &http).await.unwrap();
        assert_eq!(
            idp.shared.token_hits.load(Ordering::SeqCst),
            1,
            "reused while fresh"
        );

        cache
            .invalidate_if(&reg.id, &Sensitive::from("some other token"))
            .await;
        cache.token(&reg, &secrets, &http).await.unwrap();
        assert_eq!(
            idp.shared.token_hits.load(Ordering::SeqCst),
            1,
            "another token's refusal changes nothing"
        );

        cache.invalidate_if(&reg.id, &first.access_token).await;
        cache.token(&reg, &secrets, &http).await.unwrap();
        assert_eq!(idp.shared.token_hits.load(Ordering::SeqCst), 2);

        let mut edited = reg.clone();
        edited.updated_at += TimeDelta::seconds(1);
        cache.token(&edited, &secrets, &http).await.unwrap();
        assert_eq!(
            idp.shared.token_hits.load(Ordering::SeqCst),
            3,
            "an edited registration gets a new token"
        );
    }

    #[tokio::test]
    async fn a_token_near_expiry_is_renewed() {
        let idp = Fake::start(2).await;
        let (_store, secrets, reg) = setup(&idp.base);
        let (cache, http) = (AppTokenCache::new(), crate::http::client());
        let first = cache.token(&reg, &secrets, &http).await.unwrap();
        assert_eq!(
            first.renew_at,
            first.expires_at - TimeDelta::milliseconds(500)
        );
        tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
        cache.token(&reg, &secrets, &http).await.unwrap();
        assert_eq!(idp.shared.token_hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn errors_are_not_cached_and_a_missing_secret_is_explained() {
        let idp = Fake::start(3600).await;
        let (_store, secrets, reg) = setup(&idp.base);
        let (cache, http) = (AppTokenCache::new(), crate::http::client());
        let empty = MemoryKeychain::new();
        let e = cache.token(&reg, &empty, &http).await.unwrap_err();
        assert_eq!(e.field(), Some("secret"));
        assert_eq!(idp.shared.token_hits.load(Ordering::SeqCst), 0);

        idp.shared.fail.store(1, Ordering::SeqCst);
        let e = cache.token(&reg, &secrets, &http).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NeedsConsent, "{e}");
        assert!(
            e.detail()
                .unwrap()
                .fix
                .as_deref()
                .unwrap()
                .contains("admin consent link")
        );
        idp.shared.fail.store(0, Ordering::SeqCst);
        cache.token(&reg, &secrets, &http).await.unwrap();
        assert_eq!(idp.shared.token_hits.load(Ordering::SeqCst), 2);
    }
}
