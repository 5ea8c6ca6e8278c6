//! Microsoft's error answers turned into plain words and a fix.
//!
//! The token endpoint answers `{error, error_description, error_codes, trace_id, correlation_id,
//! timestamp}`. We branch on `error_codes` (then `error`), never on the description text, and
//! always keep trace and correlation IDs for support.
//!
//! `catalogue.rs` is the one table of the codes the app explains (Microsoft's words, the meaning,
//! the likely cause in the app's terms, the fix, the class the engine acts on and the remedy the
//! interface offers); `explain.rs` finds a code in pasted text for `mailconn explain`.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::error::Remedy;
use crate::error::{Error, ErrorCode, ErrorDetail};

mod catalogue;
mod explain;

pub use catalogue::CATALOGUE;
pub use explain::{Explanation, Found, LOOKUP_PAGE, REFERENCE_PAGE, explain, lookup_url};

/// What kind of problem an AADSTS code is, which decides what the app does next (the engine's
/// `classify` turns it into the connection's state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Setup mistake in the registration or the input (redirect URI, tenant, client ID, scopes).
    Setup,
    /// The user must sign in again.
    SignIn,
    /// An administrator or the user must consent.
    Consent,
    /// The client secret is expired, wrong or missing: every connection of the app stops.
    Secret,
    /// Blocked by policy; only an administrator can help.
    Policy,
    /// A stale or broken sign-in attempt: start again.
    Restart,
    /// Microsoft's own temporary trouble: retried with backoff, the sign-in kept.
    Transient,
}

impl ErrorClass {
    pub const ALL: [Self; 7] = [
        Self::Setup,
        Self::SignIn,
        Self::Consent,
        Self::Secret,
        Self::Policy,
        Self::Restart,
        Self::Transient,
    ];

    /// A few words for the class, as `mailconn explain` prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Setup => "configuration",
            Self::SignIn => "needs sign-in",
            Self::Consent => "needs consent",
            Self::Secret => "client secret",
            Self::Policy => "blocked by your organisation",
            Self::Restart => "start the sign-in again",
            Self::Transient => "temporary",
        }
    }

    /// What the app does when a refresh meets a code of this class.
    pub fn consequence(self) -> &'static str {
        match self {
            Self::Setup => {
                "Refreshes stop and the connection shows 'needs sign-in' until the registration is fixed; then sign in again."
            }
            Self::SignIn => {
                "Refreshes stop and the connection shows 'needs sign-in' until you sign in again (Reconnect, or `mailconn reconnect`)."
            }
            Self::Consent => {
                "Refreshes stop and the connection shows 'needs consent' until the permissions are granted."
            }
            Self::Secret => {
                "Refreshes stop for every connection of the app, shown as 'secret expired', until the secret is replaced (`mailconn app rotate-secret`)."
            }
            Self::Policy => {
                "Refreshes stop and the connection shows 'needs sign-in' until your administrator acts; then sign in again."
            }
            Self::Restart => {
                "The failed attempt is dropped; start it again (a connection that meets it at a refresh shows 'needs sign-in')."
            }
            Self::Transient => {
                "The sign-in is kept and the connection shows 'retrying': the app tries again by itself, waiting longer each time."
            }
        }
    }
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub code: u32,
    pub class: ErrorClass,
    /// The button the interface offers.
    pub remedy: Remedy,
    /// Microsoft's own words for the code (shortened), as its error code reference has them.
    pub microsoft: &'static str,
    /// What happened, in plain words (the first sentence of the message the user sees).
    pub meaning: &'static str,
    /// The likely cause in this app's terms: the registration's field, the portal page.
    pub cause: &'static str,
    /// What to do.
    pub fix: &'static str,
}

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
        let err = ms("consent_required", &[50999]).to_error();
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
    fn the_catalogue_has_at_least_forty_unique_codes_each_fully_explained() {
        let mut seen = std::collections::HashSet::new();
        for entry in CATALOGUE {
            let code = entry.code;
            assert!(seen.insert(code), "duplicate AADSTS{code}");
            for (name, text) in [
                ("microsoft", entry.microsoft),
                ("meaning", entry.meaning),
                ("cause", entry.cause),
                ("fix", entry.fix),
            ] {
                assert!(!text.trim().is_empty(), "AADSTS{code}: empty {name}");
                assert!(
                    !text.contains("AADSTS"),
                    "AADSTS{code}: {name} repeats the code"
                );
            }
            // The message is "{meaning} (AADSTSn)" and the state's reason "{message} {fix}".
            assert!(
                entry.meaning.ends_with('.'),
                "AADSTS{code}: {}",
                entry.meaning
            );
            assert!(entry.fix.ends_with('.'), "AADSTS{code}: {}", entry.fix);
            assert_ne!(entry.cause, entry.meaning, "AADSTS{code}");
            assert_eq!(lookup(code).map(|e| e.code), Some(code));
        }
        assert!(seen.len() >= 40, "only {} codes", seen.len());
        for code in [
            7000218, 700025, 700016, 9002313, 9002332, 50020, 50058, 50076, 53003, 70043, 7000112,
            65002, 500011, 500113, 900144, 1002016, 50011, 50126, 50034, 50053, 50055, 50057,
            50059, 50079, 50105, 50128, 50173, 53000, 65001, 70000, 70008, 70011, 7000215, 7000222,
            90002, 90014, 700054, 700082, 90072, 50194, 500200, 1000031, 700024, 50148,
        ] {
            assert!(seen.contains(&code), "AADSTS{code} is missing");
        }
        // Every class is used, and each entry's remedy fits its class.
        for class in ErrorClass::ALL {
            assert!(
                CATALOGUE.iter().any(|e| e.class == class),
                "{class:?} unused"
            );
        }
        for e in CATALOGUE {
            let fits = match e.class {
                ErrorClass::Consent => matches!(e.remedy, Remedy::AdminConsent | Remedy::Retry),
                ErrorClass::Secret => {
                    matches!(e.remedy, Remedy::RotateSecret | Remedy::FixRegistration)
                }
                ErrorClass::Policy => e.remedy == Remedy::ContactAdmin,
                ErrorClass::Restart | ErrorClass::Transient => e.remedy == Remedy::Retry,
                ErrorClass::SignIn => matches!(e.remedy, Remedy::SignInAgain | Remedy::Retry),
                ErrorClass::Setup => matches!(
                    e.remedy,
                    Remedy::ChangeTenant | Remedy::FixRedirectUri | Remedy::FixRegistration
                ),
            };
            assert!(fits, "AADSTS{}: {:?} with {:?}", e.code, e.class, e.remedy);
        }
    }

    #[test]
    fn docs_microsoft_md_gives_every_code_its_microsoft_text_and_source() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/MICROSOFT.md");
        let doc = std::fs::read_to_string(path).expect("docs/MICROSOFT.md");
        let section = &doc[doc
            .find("## AADSTS codes")
            .expect("an AADSTS codes section")..];
        for e in CATALOGUE {
            let row = section
                .lines()
                .find(|l| l.starts_with(&format!("| {} |", e.code)))
                .unwrap_or_else(|| panic!("AADSTS{} has no row in docs/MICROSOFT.md", e.code));
            assert!(row.contains(&e.microsoft.replace('|', "\\|")), "{row}");
            assert!(
                row.contains("| [R]") || row.contains("| [S"),
                "no source: {row}"
            );
            assert!(row.contains(e.class.label()), "{row}");
        }
    }

    #[test]
    fn every_entry_turns_a_microsoft_body_into_its_message_fix_and_remedy() {
        for entry in CATALOGUE {
            let code = entry.code;
            let body = serde_json::json!({
                "error": "invalid_grant",
                "error_description": format!("AADSTS{code}: {}\r\nTrace ID: t-{code}\r\nCorrelation ID: c-{code}\r\nTimestamp: 2026-12-01 10:00:00Z", entry.microsoft),
                "error_codes": [code],
                "timestamp": "2026-12-01 10:00:00Z",
                "trace_id": format!("t-{code}"),
                "correlation_id": format!("c-{code}"),
                "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
            });
            let err = serde_json::from_value::<MicrosoftError>(body)
                .unwrap()
                .to_error();
            assert_eq!(err.message(), format!("{} (AADSTS{code})", entry.meaning));
            let expected = match entry.class {
                ErrorClass::SignIn => ErrorCode::NeedsSignIn,
                ErrorClass::Consent => ErrorCode::NeedsConsent,
                _ => ErrorCode::IdentityProvider,
            };
            assert_eq!(err.code(), expected, "AADSTS{code}");
            let d = err.detail().unwrap();
            assert_eq!(d.aadsts, Some(code));
            assert_eq!(d.remedy, Some(entry.remedy), "AADSTS{code}");
            assert_eq!(d.fix.as_deref(), Some(entry.fix));
            assert_eq!(d.trace_id, Some(format!("t-{code}")));
            assert_eq!(d.correlation_id, Some(format!("c-{code}")));
        }
    }
}
