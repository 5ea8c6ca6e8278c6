//! App-only access tokens: OAuth client credentials with `scope={graph}/.default` against the
//! registration's own tenant. Microsoft issues no refresh token in this flow, so the only stored
//! credential is the client secret (keychain); tokens live in memory only.
//!
//! [`AppTokenCache`] keeps one token per registration, hands it out until shortly before it
//! expires, and lets only one request per registration reach the identity provider at a time
//! (single flight): fifty mailboxes looked up at once share one token request. It leaves out
//! scheduling; the refresh engine calls [`AppTokenCache::token`] when it needs a token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::Sensitive;
use crate::cloud::Cloud;
use crate::error::{Error, Result};
use crate::keychain::Keychain;
use crate::keychain::SecretKey;
pub use crate::oauth::AppToken;
use crate::registration::probe::app_token_request;
pub use crate::registration::require_specific_tenant;
use crate::registration::{ClientKind, Registration};

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
        let token = app_token_request(
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

    use chrono::TimeDelta;

    use super::*;
    use crate::ErrorCode;
    use crate::application::testing::{Fake, setup};
    use crate::keychain::MemoryKeychain;
    use crate::oauth::renew_at;

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
