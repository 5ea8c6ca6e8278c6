//! Who signed in: read from the `id_token` (received straight from the token endpoint over TLS, so
//! its signature need not be checked, `OpenID` Connect Core 3.1.3.7), checked for audience, nonce
//! and expiry. The stable account key is `tid` + `oid`.

use jsonwebtoken::{DecodingKey, Validation, decode};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Sensitive;
use crate::error::{Error, ErrorCode, Result};
use crate::registration::CONSUMERS_TENANT_ID;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    /// Outlook.com, Hotmail, Live, MSN.
    Personal,
    /// Microsoft 365 work or school.
    Work,
}

/// The signed-in account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub tenant_id: String,
    pub object_id: String,
    pub address: String,
    pub display_name: Option<String>,
    pub account_type: AccountType,
}

impl Identity {
    /// `tid.oid`: the same person in the same tenant, whatever their address becomes.
    pub fn account_key(&self) -> String {
        format!("{}.{}", self.tenant_id, self.object_id)
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    tid: String,
    oid: Option<String>,
    sub: String,
    preferred_username: Option<String>,
    email: Option<String>,
    name: Option<String>,
    nonce: Option<String>,
}

/// Reads and checks the `id_token`.
/// Who signed in, from a token response's `id_token` (sign-ins always request `openid`).
pub fn of_tokens(
    tokens: &crate::oauth::Tokens,
    client_id: &str,
    nonce: Option<&str>,
) -> Result<Identity> {
    let id_token = tokens.id_token.as_ref().ok_or_else(|| {
        Error::new(
            ErrorCode::IdentityProvider,
            "The sign-in returned no id_token, so the account is unknown.",
        )
        .with_fix("Make sure the openid scope is allowed for the app.")
    })?;
    from_id_token(id_token, client_id, nonce)
}

/// `nonce` is `None` for flows that send none (device code).
pub fn from_id_token(
    id_token: &Sensitive<String>,
    client_id: &str,
    nonce: Option<&str>,
) -> Result<Identity> {
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.insecure_disable_signature_validation();
    validation.set_audience(&[client_id]);
    validation.validate_exp = true;
    validation.leeway = 300;
    validation.algorithms = vec![
        jsonwebtoken::Algorithm::RS256,
        jsonwebtoken::Algorithm::ES256,
        jsonwebtoken::Algorithm::PS256,
    ];
    let data = decode::<Claims>(
        id_token.expose(),
        &DecodingKey::from_secret(&[]),
        &validation,
    )
    .map_err(|e| {
        Error::new(
            ErrorCode::IdentityProvider,
            format!("The sign-in's id_token was not valid: {e}"),
        )
        .with_fix("Start the sign-in again.")
    })?;
    let c = data.claims;
    if nonce.is_some() && c.nonce.as_deref() != nonce {
        return Err(Error::new(
            ErrorCode::IdentityProvider,
            "The sign-in's id_token belongs to another sign-in (nonce mismatch).",
        )
        .with_fix("Start the sign-in again."));
    }
    let address = c.preferred_username.or(c.email).ok_or_else(|| {
        Error::new(
            ErrorCode::IdentityProvider,
            "The sign-in did not say which account signed in.",
        )
        .with_fix("Make sure the app requests the profile and email scopes.")
    })?;
    Ok(Identity {
        account_type: if c.tid == CONSUMERS_TENANT_ID {
            AccountType::Personal
        } else {
            AccountType::Work
        },
        object_id: c.oid.unwrap_or(c.sub),
        tenant_id: c.tid,
        address,
        display_name: c.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn token(claims: &serde_json::Value) -> Sensitive<String> {
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        Sensitive::new(format!(
            "{}.{}.c2ln",
            b64(&serde_json::json!({"alg": "RS256", "typ": "JWT"})),
            b64(claims)
        ))
    }

    fn claims(tid: &str) -> serde_json::Value {
        serde_json::json!({
            "aud": "client-1", "iss": "https://login.example/v2.0", "exp": chrono::Utc::now().timestamp() + 600,
            "tid": tid, "oid": "oid-1", "sub": "sub-1", "preferred_username": "carol@outlook.test",
            "name": "Carol", "nonce": "n-1",
        })
    }

    #[test]
    fn personal_and_work_accounts() {
        let id = from_id_token(
            &token(&claims(CONSUMERS_TENANT_ID)),
            "client-1",
            Some("n-1"),
        )
        .unwrap();
        assert_eq!(id.account_type, AccountType::Personal);
        assert_eq!(id.address, "carol@outlook.test");
        assert_eq!(id.account_key(), format!("{CONSUMERS_TENANT_ID}.oid-1"));
        let id = from_id_token(
            &token(&claims("aaaaaaaa-0000-4000-8000-000000000001")),
            "client-1",
            Some("n-1"),
        )
        .unwrap();
        assert_eq!(id.account_type, AccountType::Work);
    }

    #[test]
    fn wrong_nonce_audience_or_expiry_is_refused() {
        let t = token(&claims("t"));
        assert!(
            from_id_token(&t, "client-1", Some("other"))
                .unwrap_err()
                .message()
                .contains("nonce")
        );
        assert!(from_id_token(&t, "client-2", Some("n-1")).is_err());
        let mut old = claims("t");
        old["exp"] = serde_json::json!(chrono::Utc::now().timestamp() - 3600);
        assert!(from_id_token(&token(&old), "client-1", Some("n-1")).is_err());
    }
}
