//! `mailconn explain`: finds the AADSTS code in what the user typed or pasted (`AADSTS50076`,
//! `50076`, Microsoft's whole error text, its JSON body, a log line holding either) and says what
//! it means; an unknown code keeps Microsoft's own words and says where to look it up.

use serde::Serialize;

use super::{ErrorClass, MicrosoftError, Remedy, lookup};

/// Microsoft's error lookup page (its `error_uri`); `?code=N` opens one code.
pub const LOOKUP_PAGE: &str = "https://login.microsoftonline.com/error";
/// Microsoft's reference of AADSTS codes.
pub const REFERENCE_PAGE: &str =
    "https://learn.microsoft.com/entra/identity-platform/reference-error-codes";

/// At most this much of the input is echoed back.
const ECHO_LIMIT: usize = 2000;

/// Microsoft's lookup page for one code.
pub fn lookup_url(code: u32) -> String {
    format!("{LOOKUP_PAGE}?code={code}")
}

/// Whether the text held a code, and whether the catalogue knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Found {
    Known,
    Unknown,
    NoCode,
}

/// What a code means, or why nothing could be said. Printed by `mailconn explain` (text or JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub found: Found,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
    /// Known codes: the class, the button the interface offers, and the catalogue's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<ErrorClass>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_label: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<&'static str>,
    /// What the app does when a refresh meets the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consequence: Option<&'static str>,
    /// Microsoft's reference text for the code (known codes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microsoft: Option<&'static str>,
    /// What the pasted text said, first line (`AADSTS50076: Due to ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The OAuth error name, when the pasted text had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth_error: Option<String>,
    /// Support IDs from the pasted text (give them to an administrator or Microsoft support).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Microsoft's lookup page for the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup_url: Option<String>,
    /// Unknown code or none: what to search, and where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Unknown code or none: the text as given (trimmed, at most 2000 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Explains the code in `input`.
pub fn explain(input: &str) -> Explanation {
    let text = input.trim();
    let pasted = parse(text);
    let mut out = Explanation {
        found: Found::NoCode,
        code: pasted.code,
        class: None,
        class_label: None,
        remedy: None,
        meaning: None,
        cause: None,
        fix: None,
        consequence: None,
        microsoft: None,
        description: pasted.description,
        oauth_error: pasted.oauth_error,
        trace_id: pasted.trace_id,
        correlation_id: pasted.correlation_id,
        timestamp: pasted.timestamp,
        lookup_url: pasted.code.map(lookup_url),
        search: None,
        text: None,
    };
    match pasted.code.map(|code| (code, lookup(code))) {
        Some((_, Some(entry))) => {
            out.found = Found::Known;
            out.class = Some(entry.class);
            out.class_label = Some(entry.class.label());
            out.remedy = Some(entry.remedy);
            out.meaning = Some(entry.meaning);
            out.cause = Some(entry.cause);
            out.fix = Some(entry.fix);
            out.consequence = Some(entry.class.consequence());
            out.microsoft = Some(entry.microsoft);
        }
        Some((code, None)) => {
            out.found = Found::Unknown;
            out.search = Some(format!(
                "Mail Connections does not know AADSTS{code}. Look it up at {} or search for \"AADSTS{code}\" in Microsoft's error code reference ({REFERENCE_PAGE}).",
                lookup_url(code)
            ));
            out.text = Some(echo(text));
        }
        None => {
            out.search = Some(format!(
                "No AADSTS code found. Give the code (AADSTS50076 or 50076), or paste Microsoft's whole error message or its JSON answer; Microsoft's codes are listed at {REFERENCE_PAGE}."
            ));
            out.text = Some(echo(text));
        }
    }
    out
}

/// What the input held.
#[derive(Debug, Default, PartialEq, Eq)]
struct Pasted {
    code: Option<u32>,
    description: Option<String>,
    oauth_error: Option<String>,
    trace_id: Option<String>,
    correlation_id: Option<String>,
    timestamp: Option<String>,
}

fn parse(text: &str) -> Pasted {
    if let Some(value) = json_value(text) {
        if let Some(ms) = microsoft_body(&value) {
            let ms = ms.with_ids_from_description();
            return Pasted {
                code: ms.aadsts().or_else(|| code_in(text)),
                description: ms
                    .error_description
                    .as_deref()
                    .map(|d| super::first_line(d).to_owned()),
                oauth_error: Some(ms.error).filter(|e| !e.is_empty()),
                trace_id: ms.trace_id,
                correlation_id: ms.correlation_id,
                timestamp: ms.timestamp,
            };
        }
        if let Some(detail) = app_detail(&value) {
            let field = |k: &str| detail.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            return Pasted {
                code: detail["aadsts"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok()),
                description: None,
                oauth_error: field("oauth_error"),
                trace_id: field("trace_id"),
                correlation_id: field("correlation_id"),
                timestamp: field("timestamp"),
            };
        }
    }
    // Microsoft's text: "AADSTS50076: Due to ...\r\nTrace ID: ...\r\nCorrelation ID: ...".
    let ids = MicrosoftError {
        error_description: Some(text.to_owned()),
        ..MicrosoftError::default()
    }
    .with_ids_from_description();
    let description = find_ci(text, "AADSTS").map(|at| super::first_line(&text[at..]).to_owned());
    Pasted {
        code: code_in(text),
        description: description.filter(|d| d.contains(':')),
        oauth_error: None,
        trace_id: ids.trace_id,
        correlation_id: ids.correlation_id,
        timestamp: ids.timestamp,
    }
}

/// The JSON in the text, alone or inside a longer text (a log line, an exception).
fn json_value(text: &str) -> Option<serde_json::Value> {
    let start = text.find(['{', '['])?;
    let end = text.rfind(['}', ']'])?;
    serde_json::from_str(text.get(start..=end)?).ok()
}

/// Objects in `value`, outermost first (depth-limited: pasted JSON is shallow).
fn objects(value: &serde_json::Value) -> Vec<&serde_json::Map<String, serde_json::Value>> {
    fn walk<'a>(
        v: &'a serde_json::Value,
        depth: usize,
        out: &mut Vec<&'a serde_json::Map<String, serde_json::Value>>,
    ) {
        if depth > 8 {
            return;
        }
        match v {
            serde_json::Value::Object(map) => {
                out.push(map);
                for child in map.values() {
                    walk(child, depth + 1, out);
                }
            }
            serde_json::Value::Array(items) => {
                for child in items {
                    walk(child, depth + 1, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, 0, &mut out);
    out
}

/// Microsoft's error body: an object with `error_codes` or `error_description`.
fn microsoft_body(value: &serde_json::Value) -> Option<MicrosoftError> {
    let object = objects(value).into_iter().find(|o| {
        o.get("error_codes")
            .is_some_and(serde_json::Value::is_array)
            || o.get("error_description")
                .is_some_and(serde_json::Value::is_string)
    })?;
    let mut object = object.clone();
    // `error` may be missing from a partial paste; its absence must not hide the code.
    if !object
        .get("error")
        .is_some_and(serde_json::Value::is_string)
    {
        object.insert("error".into(), serde_json::Value::String(String::new()));
    }
    serde_json::from_value(serde_json::Value::Object(object)).ok()
}

/// This app's own error JSON (`mailconn --json ...`, the desktop app's diagnostics): the
/// `detail` object with `aadsts`.
fn app_detail(value: &serde_json::Value) -> Option<&serde_json::Map<String, serde_json::Value>> {
    objects(value)
        .into_iter()
        .find(|o| o.get("aadsts").is_some_and(serde_json::Value::is_u64))
}

/// The code in free text: after `AADSTS` (any case, a space or colon allowed), else the first
/// number of `error_codes`, else `code=N` (Microsoft's `error_uri`), else the whole text if it is
/// a number.
fn code_in(text: &str) -> Option<u32> {
    let mut from = 0;
    while let Some(at) = find_ci(&text[from..], "AADSTS").map(|at| from + at) {
        let rest = text[at + 6..].trim_start_matches([' ', ':', '#', '"', '\'', '=']);
        if let Some(code) = leading_number(rest) {
            return Some(code);
        }
        from = at + 6;
    }
    if let Some(at) = text.find("error_codes") {
        let rest = text[at + 11..].trim_start_matches(['"', '\'', ' ', ':', '=', '[', '\t']);
        if let Some(code) = leading_number(rest) {
            return Some(code);
        }
    }
    if let Some(at) = text.find("code=")
        && let Some(code) = leading_number(&text[at + 5..])
    {
        return Some(code);
    }
    let bare = text.trim();
    (!bare.is_empty() && bare.bytes().all(|b| b.is_ascii_digit()))
        .then(|| bare.parse().ok())
        .flatten()
}

/// The number at the start of `s` (at most nine digits: AADSTS codes have up to seven).
fn leading_number(s: &str) -> Option<u32> {
    let digits: &str = &s[..s.bytes().take_while(u8::is_ascii_digit).count()];
    (!digits.is_empty() && digits.len() <= 9)
        .then(|| digits.parse().ok())
        .flatten()
}

/// Where `needle` (ASCII) first occurs in `haystack`, ignoring ASCII case.
fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn echo(text: &str) -> String {
    match text.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_found_however_it_is_given() {
        for input in [
            "AADSTS50076",
            "50076",
            "  50076 \n",
            "aadsts50076",
            "AADSTS 50076",
            "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication.",
            "error: invalid_grant (AADSTS50076)",
            "\"error_codes\":[50076]",
            "see https://login.microsoftonline.com/error?code=50076",
        ] {
            let e = explain(input);
            assert_eq!(e.code, Some(50076), "{input:?}");
            assert_eq!(e.found, Found::Known, "{input:?}");
            assert_eq!(e.meaning, Some("Multi-factor authentication is required."));
        }
    }

    #[test]
    fn a_pasted_json_body_gives_the_code_and_the_support_ids() {
        let body = r#"{"error":"invalid_grant","error_description":"AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2026-11-30 09:12:01Z","error_codes":[70043],"timestamp":"2026-11-30 09:12:01Z","trace_id":"0000aaaa-11bb-cccc-dd22-eeeeee333333","correlation_id":"aaaa0000-bb11-2222-33cc-444444dddddd","error_uri":"https://login.microsoftonline.com/error?code=70043"}"#;
        for input in [
            body.to_owned(),
            format!("2026-11-30T09:12:01Z WARN token request failed: {body}\n"),
            serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(body).unwrap())
                .unwrap(),
        ] {
            let e = explain(&input);
            assert_eq!(e.found, Found::Known);
            assert_eq!(e.code, Some(70043));
            assert_eq!(e.class, Some(ErrorClass::SignIn));
            assert_eq!(e.remedy, Some(Remedy::SignInAgain));
            assert_eq!(e.oauth_error.as_deref(), Some("invalid_grant"));
            assert_eq!(
                e.trace_id.as_deref(),
                Some("0000aaaa-11bb-cccc-dd22-eeeeee333333")
            );
            assert_eq!(
                e.correlation_id.as_deref(),
                Some("aaaa0000-bb11-2222-33cc-444444dddddd")
            );
            assert_eq!(e.timestamp.as_deref(), Some("2026-11-30 09:12:01Z"));
            assert!(
                e.description
                    .as_deref()
                    .unwrap()
                    .starts_with("AADSTS70043: The refresh token has expired")
            );
            assert_eq!(
                e.lookup_url.as_deref(),
                Some("https://login.microsoftonline.com/error?code=70043")
            );
            assert!(e.text.is_none() && e.search.is_none());
        }
    }

    #[test]
    fn a_json_body_without_error_codes_uses_the_description() {
        let e = explain(
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
        );
        assert_eq!(e.code, Some(7000215));
        assert_eq!(e.class, Some(ErrorClass::Secret));
        let e = explain(r#"{"error_codes":[7000222]}"#);
        assert_eq!(e.code, Some(7000222));
        assert_eq!(e.oauth_error, None);
    }

    #[test]
    fn the_apps_own_error_json_is_understood() {
        // What `mailconn --json refresh` prints for a failed refresh.
        let pasted = r#"[{"connection": {"id": "c1", "state": "needs_sign_in", "state_aadsts": 50173},
            "requested": true, "rotated": false,
            "error": {"code": "needs_sign_in", "message": "The sign-in was revoked, for example after a password change. (AADSTS50173)",
              "detail": {"aadsts": 50173, "oauth_error": "invalid_grant", "trace_id": "t-7", "correlation_id": "c-7", "timestamp": "2026-12-01 10:00:00Z", "fix": "Sign in again.", "remedy": "sign_in_again"}}}]"#;
        let e = explain(pasted);
        assert_eq!(e.found, Found::Known);
        assert_eq!(e.code, Some(50173));
        assert_eq!(e.oauth_error.as_deref(), Some("invalid_grant"));
        assert_eq!(e.trace_id.as_deref(), Some("t-7"));
        assert_eq!(e.correlation_id.as_deref(), Some("c-7"));
        // A Microsoft body nested in another object (an exception's "response" field).
        let e = explain(
            r#"{"message": "request failed", "response": {"error": "invalid_grant", "error_codes": [70043], "trace_id": "t-8"}}"#,
        );
        assert_eq!(e.code, Some(70043));
        assert_eq!(e.trace_id.as_deref(), Some("t-8"));
        // The app's history line, and a later AADSTS occurrence when the first has no number.
        assert_eq!(
            explain("failed  AADSTS50173  trace ID: t").code,
            Some(50173)
        );
        assert_eq!(
            explain("see AADSTS docs: \"aadsts\": 65001").code,
            Some(65001)
        );
    }

    #[test]
    fn support_ids_are_read_from_pasted_text() {
        let e = explain(
            "Sorry, but we're having trouble signing you in.\nAADSTS50105: Your administrator has configured the application to block users unless they are specifically granted access.\nTrace ID: t-1\nCorrelation ID: c-1\nTimestamp: 2026-11-30 09:12:01Z",
        );
        assert_eq!(e.code, Some(50105));
        assert_eq!(e.remedy, Some(Remedy::ContactAdmin));
        assert_eq!(e.trace_id.as_deref(), Some("t-1"));
        assert_eq!(e.correlation_id.as_deref(), Some("c-1"));
        assert!(
            e.description
                .unwrap()
                .starts_with("AADSTS50105: Your administrator")
        );
    }

    #[test]
    fn an_unknown_code_keeps_the_text_and_says_where_to_look() {
        let e = explain("AADSTS9999999: Something new happened.\r\nTrace ID: t-2");
        assert_eq!(e.found, Found::Unknown);
        assert_eq!(e.code, Some(9_999_999));
        assert!(e.meaning.is_none() && e.class.is_none() && e.remedy.is_none());
        assert_eq!(
            e.description.as_deref(),
            Some("AADSTS9999999: Something new happened.")
        );
        assert_eq!(e.trace_id.as_deref(), Some("t-2"));
        let search = e.search.unwrap();
        assert!(
            search.contains("https://login.microsoftonline.com/error?code=9999999"),
            "{search}"
        );
        assert!(search.contains(REFERENCE_PAGE), "{search}");
        assert!(e.text.unwrap().starts_with("AADSTS9999999: Something new"));
    }

    #[test]
    fn text_without_a_code_is_said_so() {
        for input in [
            "",
            "   ",
            "hello",
            "AADSTS",
            "AADSTSabc",
            "{\"foo\": 1}",
            "12ab",
        ] {
            let e = explain(input);
            assert_eq!(e.found, Found::NoCode, "{input:?}");
            assert_eq!(e.code, None, "{input:?}");
            assert!(e.search.unwrap().contains("No AADSTS code found"));
            assert_eq!(e.text.as_deref(), Some(input.trim()));
        }
        // Absurdly long numbers are no code, and a long paste is echoed shortened.
        assert_eq!(explain("AADSTS12345678901234").found, Found::NoCode);
        let long = "x".repeat(5000);
        assert_eq!(explain(&long).text.unwrap().chars().count(), ECHO_LIMIT + 1);
    }

    #[test]
    fn explanations_serialize_for_json_output() {
        let json = serde_json::to_value(explain("AADSTS7000222")).unwrap();
        assert_eq!(json["found"], "known");
        assert_eq!(json["code"], 7000222);
        assert_eq!(json["class"], "secret");
        assert_eq!(json["remedy"], "rotate_secret");
        assert!(json["fix"].as_str().unwrap().contains("new client secret"));
        assert!(json.get("search").is_none());
        let json = serde_json::to_value(explain("garbage")).unwrap();
        assert_eq!(json["found"], "no_code");
        assert!(json.get("code").is_none());
    }
}
