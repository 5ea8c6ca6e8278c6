//! The bodies of the fuzz targets, shared by the libFuzzer targets in `fuzz/` (nightly) and the
//! property tests in `tests/fuzz_props.rs` (stable), so both check the same code against the same
//! invariants. Each takes arbitrary bytes and panics only when an invariant breaks (or the code
//! under test panics).
#![allow(dead_code)]

use axum::http::Uri;
use chrono::NaiveDate;
use mailconn_core::aadsts::MicrosoftError;
use mailconn_core::application::addresses;
use mailconn_core::cloud::{self, CloudId};
use mailconn_core::error::ErrorCode;
use mailconn_core::flow::deep_link::{self, DeepLinks};
use mailconn_core::flow::loopback::{self, Callback, CallbackRequest as Request};
use mailconn_core::mail_servers::{self, MailProtocol, Security};
use mailconn_core::registration::{
    self, Audience, ClientKind, RegistrationInput, TenantKind, Usage,
};
use mailconn_core::scopes::Preset;

/// Every target by name, for the scripts and the property tests.
pub const TARGETS: [&str; 5] = [
    "loopback_callback",
    "deep_link",
    "microsoft_error",
    "addresses",
    "validators",
];

const STATE: &str = "st-3f9a1c";

/// A request line's target as the loopback listener would see it.
pub fn loopback_callback(data: &[u8]) {
    let Ok(uri) = Uri::try_from(data) else {
        return;
    };
    for path in ["/callback", "/"] {
        match loopback::read_request(&uri, path, STATE) {
            Request::NotFound => assert_ne!(uri.path(), path),
            Request::TooLong => assert!(uri.to_string().len() > loopback::MAX_REQUEST_URI),
            Request::WrongState | Request::NoCode => assert_eq!(uri.path(), path),
            Request::Error(ms) => {
                assert_eq!(query_value(&uri, "state").as_deref(), Some(STATE));
                assert!(query_value(&uri, "error").is_some());
                assert!(!ms.to_error().message().is_empty());
            }
            Request::Code(code) => {
                assert_eq!(query_value(&uri, "state").as_deref(), Some(STATE));
                assert!(!code.expose().is_empty());
                assert_eq!(
                    query_value(&uri, "code").as_deref(),
                    Some(code.expose().as_str())
                );
            }
        }
    }
}

/// A query parameter as a browser means it: percent-decoded (`st-%33f9a1c` is `st-3f9a1c`), the
/// last one when repeated.
fn query_value(uri: &Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .last()
}

/// A URL the OS hands to the app as a `mailconn://` deep link.
pub fn deep_link(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    match deep_link::parse(raw) {
        Ok((state, callback)) => {
            assert!(raw.len() <= loopback::MAX_REQUEST_URI);
            assert!(!state.is_empty());
            let url = url::Url::parse(raw).expect("accepted links are URLs");
            assert_eq!(url.scheme(), deep_link::SCHEME);
            assert_eq!(url.host_str(), Some("auth"));
            assert!(url.fragment().is_none() && url.password().is_none());
            assert!(url.username().is_empty());
            match callback {
                Callback::Code(c) => assert!(!c.expose().is_empty()),
                Callback::Error(e) => assert!(!e.to_error().message().is_empty()),
            }
            // Delivered to a sign-in waiting for another state, it reaches nobody.
            let links = DeepLinks::new();
            let mut other = links.expect(&format!("{state}-other"));
            assert!(links.deliver(raw).is_err());
            assert!(other.try_recv().is_err());
            let mut rx = links.expect(&state);
            links.deliver(raw).expect("a link for a waiting sign-in");
            assert!(rx.try_recv().is_ok());
        }
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::Validation);
            assert!(e.message().starts_with("A mailconn:// link was ignored: "));
        }
    }
}

fn check_microsoft_error(ms: &MicrosoftError) {
    let _ = ms.aadsts();
    let filled = ms.clone().with_ids_from_description();
    let err = filled.to_error();
    assert!(!err.message().is_empty());
    let _ = filled.to_string();
}

/// The error body of Microsoft's token and device-code endpoints, and an authorize redirect's
/// `error_description` (the only place its AADSTS code and IDs appear).
pub fn microsoft_error(data: &[u8]) {
    if let Ok(ms) = serde_json::from_slice::<MicrosoftError>(data) {
        check_microsoft_error(&ms);
        let json = serde_json::to_string(&ms).expect("serialises");
        let back: MicrosoftError = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, ms);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_microsoft_error(&MicrosoftError {
            error: "invalid_grant".into(),
            error_description: Some(text.to_owned()),
            ..MicrosoftError::default()
        });
        check_explain(text);
    }
}

/// `mailconn explain` on anything pasted: a code, the catalogue's words for a known one, the text
/// and where to look for an unknown one or none; never more than 2000 characters echoed.
fn check_explain(text: &str) {
    use mailconn_core::aadsts::{Found, explain, lookup};
    let e = explain(text);
    match e.found {
        Found::Known => {
            let entry = lookup(e.code.expect("a known code")).expect("in the catalogue");
            assert_eq!(e.meaning, Some(entry.meaning));
            assert!(e.text.is_none() && e.search.is_none());
        }
        Found::Unknown => {
            assert!(e.code.is_some_and(|c| lookup(c).is_none()));
            assert!(e.search.is_some() && e.meaning.is_none());
        }
        Found::NoCode => assert!(e.code.is_none() && e.search.is_some()),
    }
    if let Some(echo) = &e.text {
        assert!(echo.chars().count() <= 2001);
    }
    serde_json::to_string(&e).expect("serialises");
}

/// A pasted list or CSV file of addresses.
pub fn addresses(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = addresses::normalise(text) {
        assert_eq!(addresses::normalise(&a).ok().as_deref(), Some(a.as_str()));
    }
    let entries = addresses::parse_list(text);
    let lines = text.lines().count();
    for e in &entries {
        assert!(e.line >= 1 && (e.line as usize) <= lines);
        assert!(!e.input.is_empty());
    }
    let checked = addresses::check(&entries);
    assert_eq!(checked.len(), entries.len());
    for c in &checked {
        match &c.address {
            Some(a) => {
                assert!(a.is_ascii() && a.len() <= 254 && a.contains('@'));
                assert_eq!(a, &a.to_ascii_lowercase());
                assert_eq!(addresses::normalise(a).ok().as_deref(), Some(a.as_str()));
            }
            None => assert!(c.problem.as_deref().is_some_and(|p| !p.is_empty())),
        }
        if let Some(earlier) = c.duplicate_of {
            assert!(earlier <= c.line && c.address.is_some());
        }
    }
    match addresses::require_reasonable(&entries) {
        Ok(()) => assert!(!entries.is_empty() && entries.len() <= addresses::MAX_ENTRIES),
        Err(e) => assert_eq!(e.field(), Some("addresses")),
    }
}

const FIELDS: [&str; 14] = [
    "name",
    "client_id",
    "kind",
    "tenant",
    "cloud",
    "authority_url",
    "graph_url",
    "audience",
    "secret",
    "secret_expires",
    "redirect_uri",
    "imap_server",
    "pop_server",
    "smtp_server",
];

/// One field's text through every validator on its own.
fn single_field(s: &str) {
    if registration::is_guid(s) {
        assert_eq!(s.len(), 36);
    }
    match registration::classify_tenant(s) {
        Some(TenantKind::Id) => assert!(registration::is_guid(s)),
        Some(TenantKind::Domain) => assert!(s.is_ascii() && s.contains('.')),
        _ => {}
    }
    let _ = registration::require_specific_tenant(s);
    for protocol in MailProtocol::ALL {
        match mail_servers::parse(protocol, s) {
            Ok(server) => {
                assert!(server.port > 0);
                if server.security == Security::Plain {
                    assert!(server.is_loopback(), "plain only to loopback: {server}");
                }
                let again = mail_servers::parse(protocol, &server.to_string());
                assert_eq!(again.ok().as_ref(), Some(&server), "{server} reads back");
            }
            Err(e) => assert_eq!(e.field(), Some(protocol.field())),
        }
    }
    for field in ["authority_url", "graph_url"] {
        match cloud::base_url(field, s) {
            Ok(u) => {
                let url = url::Url::parse(&u).expect("accepted base URLs parse");
                assert!(matches!(url.scheme(), "https" | "http"));
                assert!(url.query().is_none() && url.fragment().is_none());
                assert!(url.username().is_empty() && url.password().is_none());
                assert_eq!(cloud::base_url(field, &u).ok().as_deref(), Some(u.as_str()));
            }
            Err(e) => assert_eq!(e.field(), Some(field)),
        }
    }
}

/// The registration fields: client ID, tenant, cloud URLs, redirect URI, secret and expiry, one
/// by one and through `validate`.
pub fn validators(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let parts: Vec<String> = rest
        .split(|&b| b == 0xff)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let part = |i: usize| parts.get(i).cloned().unwrap_or_default();

    for s in &parts {
        single_field(s);
    }

    let pick = |shift: u32, n: u8| (selector >> shift) % n;
    let cloud = [
        CloudId::Global,
        CloudId::GccHigh,
        CloudId::Dod,
        CloudId::China,
        CloudId::Custom,
    ][usize::from(pick(0, 5))];
    let kind = [ClientKind::Public, ClientKind::Confidential][usize::from(pick(3, 2))];
    let usage = [Usage::Delegated, Usage::Application, Usage::Both][usize::from(pick(4, 3))];
    let audience = [
        Audience::MyOrganization,
        Audience::AnyOrganization,
        Audience::AnyOrganizationAndPersonal,
    ][usize::from(pick(5, 3))];
    let preset = [
        Preset::Read,
        Preset::Send,
        Preset::Full,
        Preset::MailPrograms,
    ][usize::from(pick(6, 4))];
    let today = NaiveDate::from_ymd_opt(2026, 1, 15).expect("date");
    let expires = part(8).parse::<NaiveDate>().ok();
    let opt = |s: String| (!s.is_empty()).then_some(s);
    let input = RegistrationInput {
        name: part(0),
        client_id: part(1),
        kind,
        tenant: part(2),
        cloud,
        authority_url: opt(part(3)),
        graph_url: opt(part(4)),
        imap_server: opt(part(9)),
        pop_server: opt(part(10)),
        smtp_server: opt(part(11)),
        usage,
        audience,
        preset,
        redirect_uri: opt(part(5)),
        secret: opt(part(6)).map(mailconn_core::Sensitive::new),
        secret_expires: expires,
        secret_label: opt(part(7)),
    };
    let (report, valid) = registration::validate(&input, today);
    for issue in report.errors.iter().chain(&report.warnings) {
        assert!(FIELDS.contains(&issue.field.as_str()), "{}", issue.field);
        assert!(!issue.message.is_empty());
    }
    match valid {
        Some(v) => {
            assert!(report.ok());
            assert!(registration::is_guid(&v.client_id));
            assert!(registration::classify_tenant(&v.tenant).is_some());
            if let Some(secret) = &v.secret {
                assert!(!registration::is_guid(
                    &secret.expose().to_ascii_lowercase()
                ));
                assert!(!secret.expose().chars().any(char::is_whitespace));
            }
            let authorize = v.cloud.authorize_url(&v.tenant);
            url::Url::parse(&authorize).expect("the authorize URL parses");
            let _ = v
                .cloud
                .admin_consent_url(&v.tenant, &v.client_id, &v.redirect_uri);
        }
        None => assert!(!report.ok() || cloud == CloudId::Custom),
    }
}

/// Runs one target by name.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "loopback_callback" => loopback_callback(data),
        "deep_link" => deep_link(data),
        "microsoft_error" => microsoft_error(data),
        "addresses" => addresses(data),
        "validators" => validators(data),
        other => panic!("no fuzz target {other}"),
    }
}
