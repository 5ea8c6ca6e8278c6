//! SASL initial responses that carry an OAuth access token to a mail server: XOAUTH2 (what
//! Exchange Online and Outlook.com document for IMAP, POP and SMTP) and OAUTHBEARER (RFC 7628,
//! which Dovecot and others also take). Both come raw or base64-encoded (what IMAP's
//! `AUTHENTICATE` and SMTP's `AUTH` send after the mechanism name).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Sensitive;

/// The `\x01` (Ctrl-A) separator both mechanisms use between their fields.
const KVSEP: char = '\u{1}';

/// XOAUTH2: `user={address}^Aauth=Bearer {token}^A^A`.
pub fn xoauth2(user: &str, token: &Sensitive<String>) -> Sensitive<String> {
    Sensitive::new(format!(
        "user={user}{KVSEP}auth=Bearer {}{KVSEP}{KVSEP}",
        token.expose()
    ))
}

/// RFC 7628 §3.1: `n,a={authzid},^Ahost={host}^Aport={port}^Aauth=Bearer {token}^A^A`. The
/// GS2 header is `n` (no channel binding) and the authorization identity, escaped as RFC 5801's
/// `saslname` (`,` as `=2C`, `=` as `=3D`); `host` and `port` are the server the client
/// connected to, left out when not known.
pub fn oauthbearer(
    user: &str,
    host: Option<&str>,
    port: Option<u16>,
    token: &Sensitive<String>,
) -> Sensitive<String> {
    let authzid = user.replace('=', "=3D").replace(',', "=2C");
    let host = host.map_or_else(String::new, |h| format!("host={h}{KVSEP}"));
    let port = port.map_or_else(String::new, |p| format!("port={p}{KVSEP}"));
    Sensitive::new(format!(
        "n,a={authzid},{KVSEP}{host}{port}auth=Bearer {}{KVSEP}{KVSEP}",
        token.expose()
    ))
}

/// Base64 (standard alphabet, padded), as the protocols send it.
pub fn encode(raw: &Sensitive<String>) -> Sensitive<String> {
    Sensitive::new(STANDARD.encode(raw.expose().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(s: &str) -> Sensitive<String> {
        Sensitive::new(s.to_owned())
    }

    #[test]
    fn xoauth2_matches_the_published_example() {
        // Google's XOAUTH2 protocol page (which Microsoft's IMAP/POP/SMTP OAuth page follows).
        let raw = xoauth2(
            "someuser@example.com",
            &token("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
        );
        assert_eq!(
            raw.expose(),
            "user=someuser@example.com\u{1}auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\u{1}\u{1}"
        );
        assert_eq!(
            encode(&raw).expose(),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
    }

    #[test]
    fn oauthbearer_matches_rfc_7628_section_4_1() {
        let raw = oauthbearer(
            "user@example.com",
            Some("server.example.com"),
            Some(143),
            &token("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="),
        );
        assert_eq!(
            encode(&raw).expose(),
            "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
        );
    }

    #[test]
    fn oauthbearer_leaves_out_what_is_unknown_and_escapes_the_authzid() {
        let raw = oauthbearer("a=b,c@example.com", None, None, &token("t"));
        assert_eq!(
            raw.expose(),
            "n,a=a=3Db=2Cc@example.com,\u{1}auth=Bearer t\u{1}\u{1}"
        );
        let raw = oauthbearer("u@example.com", None, Some(993), &token("t"));
        assert_eq!(
            raw.expose(),
            "n,a=u@example.com,\u{1}port=993\u{1}auth=Bearer t\u{1}\u{1}"
        );
    }
}
