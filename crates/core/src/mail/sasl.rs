//! SASL XOAUTH2 for the checks: the initial response (the one `mailconn xoauth2` prints, from
//! `crate::sasl`), and the error a server may send in a continuation before it refuses.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::Sensitive;

/// base64 of `user={user}\x01auth=Bearer {token}\x01\x01` (Microsoft's "Authenticate an IMAP,
/// POP or SMTP connection using OAuth").
pub fn xoauth2(user: &str, token: &Sensitive<String>) -> Sensitive<String> {
    crate::sasl::encode(&crate::sasl::xoauth2(user, token))
}

/// The JSON a server sends in a `+` / `334` continuation when it refuses a token (Google's
/// and Dovecot's style): `{"status": "invalid_token" | "401", "schemes": "bearer", "scope": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ContinuationError {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl ContinuationError {
    /// Reads a continuation's payload; `None` when it is not base64 JSON (the server asked
    /// for something else).
    pub fn parse(payload: &str) -> Option<Self> {
        let bytes = STANDARD.decode(payload.trim()).ok()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let status = match value.get("status") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Some(Self {
            status,
            scope: value
                .get("scope")
                .and_then(|s| s.as_str())
                .map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_response_is_microsofts_format() {
        let b64 = xoauth2("alice@contoso.test", &Sensitive::new("EwBtoken".into()));
        let raw = STANDARD.decode(b64.expose()).unwrap();
        assert_eq!(
            raw,
            b"user=alice@contoso.test\x01auth=Bearer EwBtoken\x01\x01"
        );
    }

    #[test]
    fn continuation_errors_are_read_in_both_status_forms() {
        let e = STANDARD.encode(r#"{"status":"invalid_token","schemes":"bearer","scope":"x"}"#);
        assert_eq!(
            ContinuationError::parse(&e).unwrap().status.as_deref(),
            Some("invalid_token")
        );
        let e = STANDARD.encode(r#"{"status":401,"schemes":"bearer"}"#);
        assert_eq!(
            ContinuationError::parse(&e).unwrap().status.as_deref(),
            Some("401")
        );
        assert_eq!(ContinuationError::parse(""), None);
        assert_eq!(ContinuationError::parse("not base64!"), None);
    }
}
