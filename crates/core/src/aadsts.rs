//! Microsoft's error answers turned into plain words and a fix.
//!
//! The token endpoint answers `{error, error_description, error_codes, trace_id, correlation_id,
//! timestamp}`. We branch on `error_codes` (then `error`), never on the description text, and
//! always keep trace and correlation IDs for support.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::error::Remedy;
use crate::error::{Error, ErrorCode, ErrorDetail};

/// What kind of problem an AADSTS code is, which decides what the app does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Setup mistake in the registration or the input (redirect URI, tenant, secret, client type).
    Setup,
    /// The user must sign in again.
    SignIn,
    /// An administrator or the user must consent.
    Consent,
    /// The client secret is expired or wrong: rotate it.
    Secret,
    /// Blocked by policy; only an administrator can help.
    Policy,
    /// A bug or a stale sign-in attempt: start again.
    Restart,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub code: u32,
    pub class: ErrorClass,
    pub remedy: Remedy,
    pub meaning: &'static str,
    pub fix: &'static str,
}

const fn e(
    code: u32,
    class: ErrorClass,
    remedy: Remedy,
    meaning: &'static str,
    fix: &'static str,
) -> Entry {
    Entry {
        code,
        class,
        remedy,
        meaning,
        fix,
    }
}

use ErrorClass::{Consent, Policy, Restart, Secret, Setup, SignIn};
use Remedy::{
    AdminConsent, ChangeTenant, ContactAdmin, FixRedirectUri, FixRegistration, Retry, RotateSecret,
    SignInAgain,
};

/// The codes the app explains. Unknown codes still show Microsoft's own description.
pub const CATALOGUE: &[Entry] = &[
    e(
        50011,
        Setup,
        FixRedirectUri,
        "The redirect URI sent does not match any registered for the app.",
        "In the app's Authentication page, register exactly the redirect URI Mail Connections shows (same platform, path and case).",
    ),
    e(
        500113,
        Setup,
        FixRedirectUri,
        "The app has no redirect URI registered.",
        "Add the platform and the redirect URI Mail Connections shows in the app's Authentication page.",
    ),
    e(
        65001,
        Consent,
        AdminConsent,
        "Nobody has consented to the permissions the app asks for.",
        "Sign in again and accept, or have an administrator open the admin consent link.",
    ),
    e(
        65004,
        Consent,
        Retry,
        "The user declined to give the app the permissions it asked for.",
        "Sign in again and accept the permissions.",
    ),
    e(
        90094,
        Consent,
        AdminConsent,
        "An administrator must approve these permissions for your organisation.",
        "Send the admin consent link to an administrator of your organisation, then try again.",
    ),
    e(
        7000229,
        Consent,
        AdminConsent,
        "The app has no service principal in this tenant: an administrator has not consented yet.",
        "Have an administrator open the admin consent link for this tenant, then try again.",
    ),
    e(
        50020,
        Setup,
        ChangeTenant,
        "The account does not belong to the tenant the app signs in to.",
        "Use tenant 'common' (or the account's own tenant), or invite the account as a guest.",
    ),
    e(
        50194,
        Setup,
        ChangeTenant,
        "The app is registered for one organisation only, but was used with 'common'.",
        "Use your Directory (tenant) ID instead of 'common', or make the app multitenant.",
    ),
    e(
        9002332,
        Setup,
        ChangeTenant,
        "The app does not allow personal Microsoft accounts.",
        "In the app's Authentication page, change the supported account types to include personal accounts, or sign in with a work account.",
    ),
    e(
        9001023,
        Setup,
        ChangeTenant,
        "Application access needs a specific tenant, not 'common', 'organizations' or 'consumers'.",
        "Use your Directory (tenant) ID (a GUID) or your domain.",
    ),
    e(
        700016,
        Setup,
        FixRegistration,
        "No app with this client ID exists in this tenant.",
        "Check the Application (client) ID and the tenant on the app's Overview page, and the cloud.",
    ),
    e(
        90002,
        Setup,
        ChangeTenant,
        "The tenant was not found.",
        "Check the Directory (tenant) ID or domain, and that you chose the right cloud.",
    ),
    e(
        7000215,
        Secret,
        RotateSecret,
        "The client secret is not valid.",
        "Paste the secret's Value (shown once when you create it), not its Secret ID.",
    ),
    e(
        7000222,
        Secret,
        RotateSecret,
        "The client secret has expired.",
        "Create a new client secret in the portal and rotate it in Mail Connections.",
    ),
    e(
        7000218,
        Setup,
        FixRegistration,
        "The app is registered as a Web app, which needs a client secret, but none was sent.",
        "Add the client secret, or register the redirect URI under 'Mobile and desktop applications' instead.",
    ),
    e(
        700025,
        Setup,
        FixRegistration,
        "The app is a public client (mobile and desktop), which must not send a secret.",
        "Remove the client secret from this registration in Mail Connections.",
    ),
    e(
        700082,
        SignIn,
        SignInAgain,
        "The sign-in expired after a long time without use.",
        "Sign in again.",
    ),
    e(
        70008,
        SignIn,
        SignInAgain,
        "The sign-in expired.",
        "Sign in again.",
    ),
    e(
        50173,
        SignIn,
        SignInAgain,
        "The sign-in was revoked, for example after a password change.",
        "Sign in again.",
    ),
    e(
        70000,
        SignIn,
        SignInAgain,
        "The sign-in is no longer valid.",
        "Sign in again.",
    ),
    e(
        50076,
        SignIn,
        SignInAgain,
        "Multi-factor authentication is required.",
        "Sign in again interactively.",
    ),
    e(
        50079,
        SignIn,
        SignInAgain,
        "Multi-factor authentication registration is required.",
        "Sign in again interactively and set up multi-factor authentication.",
    ),
    e(
        53003,
        Policy,
        ContactAdmin,
        "Access was blocked by a Conditional Access policy.",
        "Ask your administrator to allow this app or device.",
    ),
    e(
        70043,
        SignIn,
        SignInAgain,
        "Your organisation requires signing in again after a set time.",
        "Sign in again.",
    ),
    e(
        54005,
        Restart,
        Retry,
        "The sign-in code was already used.",
        "Start the sign-in again.",
    ),
    e(
        501481,
        Restart,
        Retry,
        "The sign-in's proof key did not match.",
        "Start the sign-in again.",
    ),
    e(
        700054,
        Setup,
        FixRegistration,
        "The app asked for an id_token, which this registration does not allow.",
        "Enable ID tokens in the app's Authentication page, or do not request them.",
    ),
];

pub fn lookup(code: u32) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|e| e.code == code)
}

/// The error body of Microsoft's token, device-code and authorize endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicrosoftError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_codes: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suberror: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
}

impl fmt::Display for MicrosoftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(code) = self.aadsts() {
            write!(f, " (AADSTS{code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for MicrosoftError {}

impl oauth2::ErrorResponse for MicrosoftError {}

impl MicrosoftError {
    /// The first AADSTS code: from `error_codes`, else from the description's `AADSTSnnnn:`
    /// prefix (authorize redirects carry only the description).
    pub fn aadsts(&self) -> Option<u32> {
        self.error_codes.first().copied().or_else(|| {
            let d = self.error_description.as_deref()?;
            let rest = &d[d.find("AADSTS")? + 6..];
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
    }

    /// Fills trace ID, correlation ID and timestamp from the description's `Trace ID: ...` lines
    /// where the fields themselves are absent (authorize redirects carry only the description).
    #[must_use]
    pub fn with_ids_from_description(mut self) -> Self {
        let find = |label: &str| -> Option<String> {
            let d = self.error_description.as_deref()?;
            let rest = &d[d.find(label)? + label.len()..];
            let value = rest.trim_start().split(['\r', '\n']).next()?.trim();
            (!value.is_empty()).then(|| value.to_owned())
        };
        let (trace, correlation, timestamp) = (
            find("Trace ID:"),
            find("Correlation ID:"),
            find("Timestamp:"),
        );
        self.trace_id = self.trace_id.or(trace);
        self.correlation_id = self.correlation_id.or(correlation);
        self.timestamp = self.timestamp.or(timestamp);
        self
    }

    /// The catalogue entry, from the AADSTS code or, failing that, from the OAuth error name.
    pub fn entry(&self) -> Option<&'static Entry> {
        self.aadsts()
            .and_then(lookup)
            .or_else(|| match self.error.as_str() {
                "access_denied" => lookup(65004),
                "consent_required" => lookup(65001),
                "invalid_grant" => lookup(70000),
                "interaction_required" => lookup(50076),
                _ => None,
            })
    }

    /// The user-facing error: plain meaning, the fix, and the support IDs.
    pub fn to_error(&self) -> Error {
        let entry = self.entry();
        let code = match entry.map(|e| e.class) {
            Some(ErrorClass::SignIn) => ErrorCode::NeedsSignIn,
            Some(ErrorClass::Consent) => ErrorCode::NeedsConsent,
            _ => ErrorCode::IdentityProvider,
        };
        let message = match (entry, self.aadsts()) {
            (Some(e), Some(n)) => format!("{} (AADSTS{n})", e.meaning),
            (Some(e), None) => e.meaning.to_owned(),
            (None, _) => format!(
                "Microsoft answered: {}",
                first_line(self.error_description.as_deref().unwrap_or(&self.error))
            ),
        };
        Error::new(code, message).with_detail(ErrorDetail {
            aadsts: self.aadsts(),
            oauth_error: Some(self.error.clone()),
            trace_id: self.trace_id.clone(),
            correlation_id: self.correlation_id.clone(),
            timestamp: self.timestamp.clone(),
            fix: entry.map(|e| e.fix.to_owned()),
            remedy: entry.map(|e| e.remedy),
            ..ErrorDetail::default()
        })
    }
}

/// Microsoft's descriptions repeat trace IDs and timestamps on later lines.
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(error: &str, codes: &[u32]) -> MicrosoftError {
        MicrosoftError {
            error: error.into(),
            error_description: Some("AADSTS0: whatever\r\nTrace ID: t".into()),
            error_codes: codes.to_vec(),
            trace_id: Some("trace-1".into()),
            correlation_id: Some("corr-1".into()),
            ..MicrosoftError::default()
        }
    }

    #[test]
    fn secret_id_pasted_instead_of_value() {
        let err = ms("invalid_client", &[7000215]).to_error();
        assert_eq!(err.code(), ErrorCode::IdentityProvider);
        assert_eq!(
            err.message(),
            "The client secret is not valid. (AADSTS7000215)"
        );
        let d = err.detail().unwrap();
        assert!(d.fix.as_deref().unwrap().contains("Value"));
        assert_eq!(d.trace_id.as_deref(), Some("trace-1"));
        assert_eq!(d.correlation_id.as_deref(), Some("corr-1"));
        assert_eq!(d.aadsts, Some(7000215));
    }

    #[test]
    fn classes_map_to_codes() {
        assert_eq!(
            ms("invalid_grant", &[700082]).to_error().code(),
            ErrorCode::NeedsSignIn
        );
        assert_eq!(
            ms("invalid_grant", &[65001]).to_error().code(),
            ErrorCode::NeedsConsent
        );
        assert_eq!(
            ms("invalid_request", &[9001023]).to_error().code(),
            ErrorCode::IdentityProvider
        );
    }

    #[test]
    fn code_from_description_when_no_error_codes() {
        let e = MicrosoftError {
            error: "invalid_request".into(),
            error_description: Some(
                "AADSTS50194: Application is not configured as multi-tenant".into(),
            ),
            ..MicrosoftError::default()
        };
        assert_eq!(e.aadsts(), Some(50194));
        assert!(
            e.to_error()
                .detail()
                .unwrap()
                .fix
                .as_deref()
                .unwrap()
                .contains("Directory (tenant) ID")
        );
    }

    #[test]
    fn support_ids_are_read_from_a_redirect_description() {
        let e = MicrosoftError {
            error: "access_denied".into(),
            error_description: Some("AADSTS65004: User declined to consent.\r\nTrace ID: t-9\r\nCorrelation ID: c-9\r\nTimestamp: 2026-11-22 10:00:00Z".into()),
            ..MicrosoftError::default()
        }
        .with_ids_from_description();
        assert_eq!(e.trace_id.as_deref(), Some("t-9"));
        assert_eq!(e.correlation_id.as_deref(), Some("c-9"));
        assert_eq!(e.timestamp.as_deref(), Some("2026-11-22 10:00:00Z"));
    }

    #[test]
    fn unknown_codes_keep_microsofts_words() {
        let e = MicrosoftError {
            error: "server_error".into(),
            error_description: Some("AADSTS123: Something odd happened.\r\nTrace ID: x".into()),
            error_codes: vec![123],
            ..MicrosoftError::default()
        };
        let err = e.to_error();
        assert_eq!(
            err.message(),
            "Microsoft answered: AADSTS123: Something odd happened."
        );
        assert_eq!(err.detail().unwrap().aadsts, Some(123));
    }

    #[test]
    fn each_code_carries_the_remedy_the_interface_offers() {
        use Remedy::*;
        for (error, code, remedy) in [
            ("invalid_grant", 90094, AdminConsent),
            ("invalid_grant", 65001, AdminConsent),
            ("invalid_client", 7000229, AdminConsent),
            ("access_denied", 65004, Retry),
            ("invalid_request", 50194, ChangeTenant),
            ("invalid_request", 50020, ChangeTenant),
            ("invalid_request", 9002332, ChangeTenant),
            ("invalid_grant", 54005, Retry),
            ("invalid_grant", 501481, Retry),
            ("invalid_client", 700025, FixRegistration),
            ("invalid_client", 7000218, FixRegistration),
            ("invalid_request", 50011, FixRedirectUri),
            ("invalid_request", 500113, FixRedirectUri),
            ("invalid_grant", 53003, ContactAdmin),
            ("invalid_client", 7000222, RotateSecret),
            ("invalid_client", 7000215, RotateSecret),
            ("invalid_grant", 700082, SignInAgain),
        ] {
            let err = ms(error, &[code]).to_error();
            assert_eq!(err.detail().unwrap().remedy, Some(remedy), "AADSTS{code}");
        }
        // An unknown code takes the remedy of the OAuth error name's entry (consent missing).
        let err = ms("consent_required", &[50105]).to_error();
        assert_eq!(err.code(), ErrorCode::NeedsConsent);
        assert_eq!(err.detail().unwrap().remedy, Some(AdminConsent));
        // An unknown code with an unknown error name offers no remedy.
        assert_eq!(
            ms("server_error", &[123])
                .to_error()
                .detail()
                .unwrap()
                .remedy,
            None
        );
    }

    #[test]
    fn remedies_cross_ipc_in_snake_case() {
        let detail = ms("invalid_grant", &[90094]).to_error().body();
        let json = serde_json::to_value(&detail).unwrap();
        assert_eq!(json["detail"]["remedy"], "admin_consent");
    }

    #[test]
    fn every_catalogue_code_is_unique_and_has_a_fix() {
        let mut seen = std::collections::HashSet::new();
        for entry in CATALOGUE {
            assert!(seen.insert(entry.code), "duplicate {}", entry.code);
            assert!(!entry.fix.is_empty() && !entry.meaning.is_empty());
        }
    }
}
