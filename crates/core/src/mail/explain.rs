//! What a mail server's refusal of a login means, in plain words, and who changes what.
//!
//! Exchange Online answers a refused XOAUTH2 login directly: IMAP `NO AUTHENTICATE failed.`, POP
//! `-ERR Authentication failure...`, SMTP `535 5.7.3 Authentication unsuccessful`, or, when SMTP
//! AUTH is turned off for the organisation or the mailbox, `535 5.7.139 Authentication
//! unsuccessful, SmtpClientAuthentication is disabled for the Tenant|Mailbox`. Other servers
//! (Dovecot, Gmail) first send a continuation with a base64 JSON error, then refuse; both
//! styles end here. Sources are in docs/MICROSOFT.md.

use super::sasl::ContinuationError;
use crate::mail_servers::MailProtocol;

/// A refused login, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub fix: String,
    /// The server's code: `535 5.7.139`, `NO`, `-ERR`, with the continuation's status.
    pub code: String,
}

/// The shared-mailbox rule, said once for every "token refused" explanation.
const SHARED: &str = "For a shared mailbox, sign in as a person with Full Access to it and log in with the shared mailbox's address as the user (user=shared@..., with the delegate's token), not the delegate's own address.";

/// Explains a refusal. `answer` is the server's final line (`535 5.7.3 ...`, `A1 NO ...`,
/// `-ERR ...`); `continuation` the JSON error if the server sent one first; `user` the address
/// the login named.
pub fn refusal(
    protocol: MailProtocol,
    answer: &str,
    continuation: Option<&ContinuationError>,
    user: &str,
) -> Refusal {
    let text = answer.trim();
    let code = server_code(protocol, text, continuation);
    if protocol == MailProtocol::Smtp && text.contains("5.7.139") {
        let scope = if text.to_ascii_lowercase().contains("for the mailbox") {
            "for this mailbox"
        } else if text.to_ascii_lowercase().contains("for the tenant") {
            "for the whole organisation"
        } else {
            "for the organisation or this mailbox"
        };
        return Refusal {
            message: format!(
                "Exchange Online has SMTP AUTH (authenticated SMTP submission) turned off {scope}, so mail programs cannot send as {user}; the token itself is fine."
            ),
            fix: format!(
                "An Exchange administrator turns it on for the mailbox: `Set-CASMailbox -Identity {user} -SmtpClientAuthenticationDisabled $false` (or Microsoft 365 admin center > Users > the user > Mail > Manage email apps > Authenticated SMTP); or for the organisation: `Set-TransportConfig -SmtpClientAuthenticationDisabled $false` (Exchange admin center > Settings > Mail flow > untick \"Turn off SMTP AUTH protocol for your organization\"). The mailbox's setting wins over the organisation's; with security defaults on in Entra ID, SMTP AUTH stays off. Or send through Microsoft Graph instead."
            ),
            code,
        };
    }
    if let Some(c) = continuation {
        let status = c.status.as_deref().unwrap_or("refused");
        return Refusal {
            message: format!(
                "The mail server refused the access token for {user} ({status}): it has expired, was revoked (for example by a password change or \"revoke sessions\"), or was not issued for this mailbox."
            ),
            fix: format!(
                "Verify again (a fresh token is fetched first); if it still fails, sign in again (reconnect). {SHARED}"
            ),
            code,
        };
    }
    let turned_off = match protocol {
        MailProtocol::Imap => {
            " Exchange also answers this when IMAP is turned off for the mailbox: an administrator runs `Set-CASMailbox -Identity ADDRESS -ImapEnabled $true`."
        }
        MailProtocol::Pop => {
            " Exchange also answers this when POP is turned off for the mailbox: an administrator runs `Set-CASMailbox -Identity ADDRESS -PopEnabled $true`."
        }
        MailProtocol::Smtp => "",
    };
    Refusal {
        message: format!(
            "The mail server refused the login for {user}: the access token has expired or was revoked, is not for this mailbox or for the Outlook resource (IMAP, POP and SMTP need a token for https://outlook.office.com), or the address does not belong to the account that signed in."
        ),
        fix: format!(
            "Verify again (a fresh token is fetched first); if it still fails, sign in again with the mail-programs permissions. {SHARED}{}",
            turned_off.replace("ADDRESS", user)
        ),
        code,
    }
}

/// `535 5.7.3`, `NO`, `-ERR` (+ the continuation's status), as the step's code.
fn server_code(
    protocol: MailProtocol,
    text: &str,
    continuation: Option<&ContinuationError>,
) -> String {
    let mut code = match protocol {
        MailProtocol::Smtp => {
            let mut parts = text.split_whitespace();
            let basic = parts.next().unwrap_or_default().trim_end_matches('-');
            match parts.next() {
                Some(enhanced)
                    if enhanced.split('.').count() == 3 && enhanced.starts_with(['4', '5']) =>
                {
                    format!("{basic} {enhanced}")
                }
                _ => basic.to_owned(),
            }
        }
        MailProtocol::Imap => text
            .split_whitespace()
            .nth(1)
            .unwrap_or("NO")
            .to_ascii_uppercase(),
        MailProtocol::Pop => "-ERR".to_owned(),
    };
    if let Some(status) = continuation.and_then(|c| c.status.as_deref()) {
        code = format!("{code} ({status})");
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "alice@contoso.test";

    #[test]
    fn smtp_auth_turned_off_says_what_the_admin_changes() {
        let r = refusal(
            MailProtocol::Smtp,
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
            None,
            ALICE,
        );
        assert_eq!(r.code, "535 5.7.139");
        assert!(
            r.message.contains("turned off for the whole organisation"),
            "{}",
            r.message
        );
        assert!(
            r.fix
                .contains("Set-TransportConfig -SmtpClientAuthenticationDisabled $false")
        );
        assert!(r.fix.contains(&format!(
            "Set-CASMailbox -Identity {ALICE} -SmtpClientAuthenticationDisabled $false"
        )));
        let r = refusal(
            MailProtocol::Smtp,
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.",
            None,
            ALICE,
        );
        assert!(
            r.message.contains("turned off for this mailbox"),
            "{}",
            r.message
        );
    }

    #[test]
    fn a_direct_refusal_names_token_address_and_shared_mailbox_rule() {
        let r = refusal(
            MailProtocol::Smtp,
            "535 5.7.3 Authentication unsuccessful [XX.prod]",
            None,
            ALICE,
        );
        assert_eq!(r.code, "535 5.7.3");
        assert!(r.message.contains("expired or was revoked"));
        assert!(r.fix.contains("user=shared@"));
        let r = refusal(
            MailProtocol::Imap,
            "A1 NO AUTHENTICATE failed.",
            None,
            ALICE,
        );
        assert_eq!(r.code, "NO");
        assert!(r.fix.contains(&format!(
            "Set-CASMailbox -Identity {ALICE} -ImapEnabled $true"
        )));
        let r = refusal(
            MailProtocol::Pop,
            "-ERR Authentication failure: unknown user name or bad password.",
            None,
            ALICE,
        );
        assert_eq!(r.code, "-ERR");
        assert!(r.fix.contains("-PopEnabled $true"));
    }

    #[test]
    fn a_continuation_error_is_explained_with_its_status() {
        let c = ContinuationError {
            status: Some("invalid_token".into()),
            scope: None,
        };
        let r = refusal(
            MailProtocol::Smtp,
            "535 5.7.8 Authentication failed",
            Some(&c),
            ALICE,
        );
        assert_eq!(r.code, "535 5.7.8 (invalid_token)");
        assert!(
            r.message
                .contains("refused the access token for alice@contoso.test (invalid_token)")
        );
        assert!(r.fix.contains("sign in again"));
    }
}
