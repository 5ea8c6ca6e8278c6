//! Sign-in and token flows: authorization code with PKCE over a loopback redirect, device code,
//! and the identity read from the `id_token`. What a token response yields ([`crate::oauth::Tokens`])
//! and client credentials are the OAuth module's.

pub mod auth_code;
pub mod deep_link;
pub mod device_code;
pub mod identity;
pub mod loopback;

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
