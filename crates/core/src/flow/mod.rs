//! Sign-in and token flows: authorization code with PKCE over a loopback redirect, device code,
//! and the identity read from the `id_token`. Client credentials live with application access.

pub mod auth_code;
pub mod deep_link;
pub mod device_code;
pub mod identity;
pub mod loopback;

use chrono::{DateTime, Utc};
use oauth2::TokenResponse as _;

use crate::Sensitive;
use crate::oauth::TokenResponse;

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

/// Microsoft's default access-token lifetime, assumed when a response omits `expires_in`.
const DEFAULT_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

impl Tokens {
    pub fn from_response(
        response: &TokenResponse,
        requested: &[String],
        now: DateTime<Utc>,
    ) -> Self {
        let lifetime = response.expires_in().unwrap_or(DEFAULT_LIFETIME);
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

/// Requested scopes that were not granted. Microsoft answers Graph scopes in their short form
/// (`Mail.Read`) and may add or omit the resource prefix, so both forms are compared.
pub fn missing_scopes(requested: &[String], granted: &[String]) -> Vec<String> {
    let short = |s: &str| s.rsplit('/').next().unwrap_or(s).to_ascii_lowercase();
    let have: std::collections::HashSet<String> = granted.iter().map(|s| short(s)).collect();
    requested
        .iter()
        .filter(|r| !matches!(r.as_str(), "openid" | "profile" | "email"))
        .filter(|r| !have.contains(&short(r)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_scopes_compare_short_forms() {
        let requested: Vec<String> = [
            "openid",
            "offline_access",
            "User.Read",
            "Mail.Read",
            "https://outlook.office.com/SMTP.Send",
        ]
        .map(String::from)
        .to_vec();
        let granted: Vec<String> = [
            "https://graph.microsoft.com/User.Read",
            "Mail.Read",
            "SMTP.Send",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(missing_scopes(&requested, &granted), ["offline_access"]);
    }
}
