//! The bad-input catalogue: every kind of malformed or hostile input a user, a browser or another
//! program can hand to core, in one table. Each case must give a clear message, at the right field,
//! and change nothing (no registration stored, no keychain item written, a waiting sign-in still
//! waiting). The command-line part is in `crates/cli/tests/bad_input.rs`.
//!
//! A case marked `pending` is a known hole being closed elsewhere: it still runs, and the test
//! prints whether it failed (expected for now) or passes (then remove the mark). A case that is
//! not pending must pass.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use chrono::{Months, Utc};
use mailconn_core::application::addresses::{self, MAX_ENTRIES};
use mailconn_core::cloud::CloudId;
use mailconn_core::flow::deep_link::DeepLinks;
use mailconn_core::flow::loopback::{Callback, Loopback, MAX_REQUEST_URI};
use mailconn_core::keychain::MemoryKeychain;
use mailconn_core::paths::DataDir;
use mailconn_core::registration::{Audience, ClientKind, RegistrationInput, Usage};
use mailconn_core::scopes::Preset;
use mailconn_core::service::Options;
use mailconn_core::{ErrorCode, Sensitive, Service};
use tokio_util::sync::CancellationToken;

const CLIENT: &str = "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SECRET: &str = "Xy8Q~4fJq.Rk2_wZpL0vNbTcYhAe3sGdUiMoP9x";
const STATE: &str = "st-8c41e07b";

/// Where a case's input goes.
enum Input {
    /// A registration (wizard, edit form, CLI), changed from a valid one.
    Registration(fn(&mut RegistrationInput)),
    /// A URL the OS hands to the app as a deep link, with a sign-in waiting for `STATE`.
    DeepLink(String),
    /// A deep link given to a program that takes none (the CLI's service).
    DeepLinkWithoutSupport(String),
    /// A request to the loopback listener (expecting `/callback` and `STATE`): method, target,
    /// extra headers.
    Loopback(
        &'static str,
        String,
        &'static [(&'static str, &'static str)],
    ),
    /// A pasted list or imported CSV file; the message is expected on the given line (0: for the
    /// whole list).
    Addresses(String, u32),
}

struct Case {
    name: &'static str,
    input: Input,
    /// The field the message is shown at (`-` where the input is not a form field).
    field: &'static str,
    /// A piece of the message.
    message: &'static str,
    /// Why the case fails today, when it is a known hole being closed elsewhere.
    pending: Option<&'static str>,
}

fn reg(
    name: &'static str,
    f: fn(&mut RegistrationInput),
    field: &'static str,
    message: &'static str,
) -> Case {
    Case {
        name,
        input: Input::Registration(f),
        field,
        message,
        pending: None,
    }
}

fn link(name: &'static str, url: impl Into<String>, message: &'static str) -> Case {
    Case {
        name,
        input: Input::DeepLink(url.into()),
        field: "-",
        message,
        pending: None,
    }
}

fn callback(name: &'static str, target: impl Into<String>, message: &'static str) -> Case {
    Case {
        name,
        input: Input::Loopback("GET", target.into(), &[]),
        field: "-",
        message,
        pending: None,
    }
}

fn list(
    name: &'static str,
    text: impl Into<String>,
    line: u32,
    field: &'static str,
    message: &'static str,
) -> Case {
    Case {
        name,
        input: Input::Addresses(text.into(), line),
        field,
        message,
        pending: None,
    }
}

fn valid_input() -> RegistrationInput {
    RegistrationInput {
        name: "Contoso mail".into(),
        client_id: CLIENT.into(),
        kind: ClientKind::Confidential,
        tenant: TENANT.into(),
        cloud: CloudId::Global,
        authority_url: None,
        graph_url: None,
        imap_server: None,
        pop_server: None,
        smtp_server: None,
        usage: Usage::Delegated,
        audience: Audience::AnyOrganization,
        preset: Preset::Full,
        redirect_uri: None,
        secret: Some(Sensitive::new(SECRET.into())),
        secret_expires: Utc::now().date_naive().checked_add_months(Months::new(6)),
        secret_label: Some("laptop".into()),
    }
}

fn custom(i: &mut RegistrationInput) {
    i.cloud = CloudId::Custom;
    i.authority_url = Some("https://login.example.com".into());
    i.graph_url = Some("https://graph.example.com".into());
}

#[allow(clippy::too_many_lines, reason = "the catalogue is one table")]
fn catalogue() -> Vec<Case> {
    const GUID_MSG: &str = "is a GUID like";
    const TENANT_MSG: &str = "The tenant must be common, organizations, consumers";
    let q = format!("?code=the-code&state={STATE}");
    vec![
        // Registration fields.
        reg(
            "client id with a NUL",
            |i| i.client_id = format!("{}\u{0}", &CLIENT[..35]),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id with a line break inside",
            |i| i.client_id = CLIENT.replacen('-', "\n-", 1),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id with an escape sequence",
            |i| i.client_id = format!("\u{1b}[31m{CLIENT}"),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id with full-width digits",
            |i| i.client_id = CLIENT.replace('0', "\u{ff10}"),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id with Arabic-Indic digits",
            |i| i.client_id = CLIENT.replace('3', "\u{663}"),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id with non-breaking hyphens",
            |i| i.client_id = CLIENT.replace('-', "\u{2011}"),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id with en dashes",
            |i| i.client_id = CLIENT.replace('-', "\u{2013}"),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id with a zero-width space",
            |i| i.client_id = format!("{}\u{200b}{}", &CLIENT[..8], &CLIENT[8..]),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id with Cyrillic a",
            |i| i.client_id = CLIENT.replace('a', "\u{430}"),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id in braces",
            |i| i.client_id = format!("{{{CLIENT}}}"),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id without dashes",
            |i| i.client_id = CLIENT.replace('-', ""),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id as a urn",
            |i| i.client_id = format!("urn:uuid:{CLIENT}"),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "client id empty",
            |i| i.client_id = "  \t ".into(),
            "client_id",
            "Paste the Application (client) ID",
        ),
        reg(
            "client id of one megabyte",
            |i| i.client_id = "0".repeat(1 << 20),
            "client_id",
            GUID_MSG,
        ),
        reg(
            "tenant with a space inside",
            |i| i.tenant = "contoso .onmicrosoft.com".into(),
            "tenant",
            TENANT_MSG,
        ),
        reg(
            "tenant 'com mon'",
            |i| i.tenant = "com mon".into(),
            "tenant",
            TENANT_MSG,
        ),
        reg(
            "tenant GUID with a minus sign look-alike",
            |i| i.tenant = TENANT.replace('-', "\u{2212}"),
            "tenant",
            TENANT_MSG,
        ),
        reg(
            "tenant domain with a Cyrillic o",
            |i| i.tenant = "c\u{43e}ntoso.onmicrosoft.com".into(),
            "tenant",
            TENANT_MSG,
        ),
        reg(
            "tenant as a URL",
            |i| i.tenant = "https://login.microsoftonline.com/contoso.com".into(),
            "tenant",
            TENANT_MSG,
        ),
        reg(
            "tenant with a control character",
            |i| i.tenant = "contoso.com\u{7}".into(),
            "tenant",
            TENANT_MSG,
        ),
        reg(
            "tenant empty",
            |i| i.tenant = String::new(),
            "tenant",
            "Paste the Directory (tenant) ID",
        ),
        reg(
            "tenant of 100 kB",
            |i| i.tenant = format!("{}.com", "a".repeat(100_000)),
            "tenant",
            TENANT_MSG,
        ),
        reg(
            "tenant 'common' for application access",
            |i| {
                i.tenant = "common".into();
                i.usage = Usage::Application;
            },
            "tenant",
            "Application access needs your tenant ID",
        ),
        reg(
            "authority URL with user and password",
            |i| {
                custom(i);
                i.authority_url = Some("https://user:pw@login.example.com".into());
            },
            "authority_url",
            "user name or password",
        ),
        reg(
            "authority URL with a user name only",
            |i| {
                custom(i);
                i.authority_url = Some("https://admin@login.example.com".into());
            },
            "authority_url",
            "user name or password",
        ),
        reg(
            "authority URL javascript:",
            |i| {
                custom(i);
                i.authority_url = Some("javascript:alert(1)".into());
            },
            "authority_url",
            "must start with https://",
        ),
        reg(
            "authority URL file://",
            |i| {
                custom(i);
                i.authority_url = Some("file:///etc/passwd".into());
            },
            "authority_url",
            "must start with https://",
        ),
        reg(
            "authority URL with a fragment",
            |i| {
                custom(i);
                i.authority_url = Some("https://login.example.com/#x".into());
            },
            "authority_url",
            "must not have a query",
        ),
        reg(
            "authority URL over plain http",
            |i| {
                custom(i);
                i.authority_url = Some("http://login.example.com".into());
            },
            "authority_url",
            "only for 127.0.0.1 or localhost",
        ),
        reg(
            "authority URL with a space in the host",
            |i| {
                custom(i);
                i.authority_url = Some("https://login example.com".into());
            },
            "authority_url",
            "spaces, tabs or line breaks",
        ),
        reg(
            "authority URL with a tab inside (URL parsing drops it)",
            |i| {
                custom(i);
                i.authority_url = Some("https://login.exa\tmple.com/".into());
            },
            "authority_url",
            "spaces, tabs or line breaks",
        ),
        reg(
            "Graph URL with a line break inside",
            |i| {
                custom(i);
                i.graph_url = Some("https://graph.\nexample.com".into());
            },
            "graph_url",
            "spaces, tabs or line breaks",
        ),
        reg(
            "authority URL empty for a custom cloud",
            |i| {
                custom(i);
                i.authority_url = None;
            },
            "authority_url",
            "Enter the URL",
        ),
        reg(
            "Graph URL with user and password",
            |i| {
                custom(i);
                i.graph_url = Some("https://me:secret@graph.example.com".into());
            },
            "graph_url",
            "user name or password",
        ),
        reg(
            "Graph URL data:",
            |i| {
                custom(i);
                i.graph_url = Some("data:text/html,hi".into());
            },
            "graph_url",
            "must start with https://",
        ),
        reg(
            "Graph URL with a query",
            |i| {
                custom(i);
                i.graph_url = Some("https://graph.example.com/?api-version=1".into());
            },
            "graph_url",
            "must not have a query",
        ),
        reg(
            "Graph URL relative",
            |i| {
                custom(i);
                i.graph_url = Some("/v1.0".into());
            },
            "graph_url",
            "not an absolute URL",
        ),
        reg(
            "Secret ID pasted as the secret",
            |i| {
                i.secret = Some(Sensitive::new(
                    "5b8e2a1c-3d4f-4a6b-8c9d-0e1f2a3b4c5d".into(),
                ));
            },
            "secret",
            "This is the Secret ID",
        ),
        reg(
            "Secret ID in capitals pasted as the secret",
            |i| {
                i.secret = Some(Sensitive::new(
                    " 5B8E2A1C-3D4F-4A6B-8C9D-0E1F2A3B4C5D\n".into(),
                ));
            },
            "secret",
            "This is the Secret ID",
        ),
        reg(
            "secret with a line break inside",
            |i| i.secret = Some(Sensitive::new("Xy8Q~4fJq\nRk2_wZpL0".into())),
            "secret",
            "spaces or line breaks",
        ),
        reg(
            "secret of spaces only",
            |i| i.secret = Some(Sensitive::new("   \t".into())),
            "secret",
            "only spaces",
        ),
        reg(
            "secret missing for a Web app",
            |i| i.secret = None,
            "secret",
            "needs its client secret",
        ),
        reg(
            "secret for a public client",
            |i| {
                i.kind = ClientKind::Public;
                i.secret_expires = None;
            },
            "secret",
            "must not send a secret",
        ),
        reg(
            "secret expiry in the past",
            |i| i.secret_expires = Utc::now().date_naive().checked_sub_months(Months::new(1)),
            "secret_expires",
            "This date has passed",
        ),
        reg(
            "redirect URI with a fragment",
            |i| i.redirect_uri = Some("http://localhost/callback#x".into()),
            "redirect_uri",
            "fragment",
        ),
        reg(
            "redirect URI over http to another host",
            |i| i.redirect_uri = Some("http://evil.example/callback".into()),
            "redirect_uri",
            "allowed only for localhost",
        ),
        reg(
            "redirect URI [::1]",
            |i| i.redirect_uri = Some("http://[::1]/callback".into()),
            "redirect_uri",
            "does not support [::1]",
        ),
        reg(
            "redirect URI longer than 256",
            |i| i.redirect_uri = Some(format!("http://localhost/{}", "a".repeat(300))),
            "redirect_uri",
            "at most 256",
        ),
        reg(
            "redirect URI with a query for personal accounts",
            |i| {
                i.audience = Audience::AnyOrganizationAndPersonal;
                i.redirect_uri = Some("http://localhost/cb?x=1".into());
            },
            "redirect_uri",
            "query string",
        ),
        reg(
            "name empty",
            |i| i.name = " \n ".into(),
            "name",
            "Give the app a name",
        ),
        reg(
            "name of 10 kB",
            |i| i.name = "n".repeat(10_000),
            "name",
            "under 80 characters",
        ),
        // Deep links (a sign-in waits for STATE; none of these may reach it).
        link(
            "deep link with another scheme",
            format!("https://auth{q}"),
            "not a sign-in redirect",
        ),
        link(
            "deep link to another host",
            format!("mailconn://evil{q}"),
            "not a sign-in redirect",
        ),
        link(
            "deep link with a path",
            format!("mailconn://auth/steal{q}"),
            "not a sign-in redirect",
        ),
        link(
            "deep link with credentials",
            format!("mailconn://user:pw@auth{q}"),
            "parts a sign-in redirect never has",
        ),
        link(
            "deep link with a password only",
            format!("mailconn://:pw@auth{q}"),
            "parts a sign-in redirect never has",
        ),
        link(
            "deep link with a fragment",
            format!("mailconn://auth{q}#frag"),
            "parts a sign-in redirect never has",
        ),
        link(
            "deep link with a port",
            format!("mailconn://auth:8080{q}"),
            "parts a sign-in redirect never has",
        ),
        link(
            "deep link of 9 kB",
            format!("mailconn://auth{q}&pad={}", "x".repeat(MAX_REQUEST_URI)),
            "too long",
        ),
        link(
            "deep link of 10 MB",
            format!("mailconn://auth{q}&pad={}", "x".repeat(10 << 20)),
            "too long",
        ),
        link(
            "deep link with a parameter twice",
            format!("mailconn://auth{q}&code=other"),
            "appears twice",
        ),
        link(
            "deep link with a wrong state",
            "mailconn://auth?code=c&state=st-00000000",
            "does not belong to a sign-in in progress",
        ),
        link(
            "deep link with the state in other case",
            format!("mailconn://auth?code=c&state={}", STATE.to_uppercase()),
            "does not belong",
        ),
        link(
            "deep link without state",
            "mailconn://auth?code=c",
            "no state",
        ),
        link(
            "deep link with an empty state",
            "mailconn://auth?code=c&state=",
            "no state",
        ),
        link(
            "deep link without code",
            format!("mailconn://auth?state={STATE}"),
            "neither a code nor an error",
        ),
        link(
            "deep link with an empty code",
            format!("mailconn://auth?code=&state={STATE}"),
            "neither a code nor an error",
        ),
        link(
            "deep link that is no URL",
            "mailconn auth code",
            "not a valid URL",
        ),
        Case {
            name: "deep link to the command line",
            input: Input::DeepLinkWithoutSupport(format!("mailconn://auth{q}")),
            field: "url",
            message: "does not take mailconn:// links",
            pending: None,
        },
        // Loopback callbacks (the listener waits on /callback for STATE).
        callback(
            "callback with a wrong state",
            "/callback?code=c&state=wrong",
            "not the one Mail Connections is waiting for",
        ),
        callback(
            "callback without state",
            "/callback?code=c",
            "not the one Mail Connections is waiting for",
        ),
        callback(
            "callback with the state in other case",
            format!("/callback?code=c&state={}", STATE.to_uppercase()),
            "not the one Mail Connections is waiting for",
        ),
        callback(
            "callback on another path",
            format!("/other{q}"),
            "Not found",
        ),
        callback(
            "callback on a path with a trailing slash",
            format!("/callback/{q}"),
            "Not found",
        ),
        callback(
            "callback of 9 kB",
            format!("/callback{q}&pad={}", "x".repeat(MAX_REQUEST_URI)),
            "Request too large",
        ),
        callback(
            "callback without code",
            format!("/callback?state={STATE}"),
            "carried no code",
        ),
        callback(
            "callback with an empty code",
            format!("/callback?code=&state={STATE}"),
            "carried no code",
        ),
        callback(
            "callback with an error",
            format!(
                "/callback?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent.&state={STATE}"
            ),
            "declined",
        ),
        callback(
            "callback with an error and markup",
            format!(
                "/callback?error=%3Cscript%3E&error_description=%3Cimg+src%3Dx%3E&state={STATE}"
            ),
            "Sign-in did not complete",
        ),
        Case {
            name: "callback by POST",
            input: Input::Loopback("POST", format!("/callback{q}"), &[]),
            field: "-",
            // Refused by status (405) without a page; the check is that no code is taken.
            message: "",
            pending: None,
        },
        Case {
            name: "callback with another Host",
            input: Input::Loopback("GET", format!("/callback{q}"), &[("host", "evil.example")]),
            field: "-",
            message: "",
            pending: None,
        },
        // Pasted lists and CSV files.
        list(
            "address with a NUL",
            "info\u{0}@contoso.com",
            1,
            "address",
            "no control characters",
        ),
        list(
            "address with an escape character",
            "in\u{1b}fo@contoso.com\nx@contoso.com",
            1,
            "address",
            "no control characters",
        ),
        list(
            "address with a vertical tab",
            "in\u{b}fo@contoso.com",
            1,
            "address",
            "no control characters",
        ),
        list(
            "address with a bell character",
            "info\u{7}@contoso.com",
            1,
            "address",
            "no control characters",
        ),
        list(
            "address with a zero-width space",
            "info\u{200b}@contoso.com",
            1,
            "address",
            "Only plain ASCII addresses",
        ),
        list(
            "address with a Cyrillic o in the domain",
            "info@c\u{43e}ntoso.com",
            1,
            "address",
            "Only plain ASCII addresses",
        ),
        list(
            "address with full-width letters",
            "\u{ff49}\u{ff4e}\u{ff46}\u{ff4f}@contoso.com",
            1,
            "address",
            "Only plain ASCII addresses",
        ),
        list(
            "address with accents",
            "\u{e9}\u{e0}\u{e8}\u{f9}@contoso.com",
            1,
            "address",
            "Only plain ASCII addresses",
        ),
        list(
            "CSV cell with accents",
            "Name,Email\nRen\u{e9},r\u{e9}n\u{e9}e@contoso.com",
            2,
            "address",
            "Only plain ASCII addresses",
        ),
        list(
            "BOM before a bad address",
            "\u{feff}a@b@contoso.com\nb@contoso.com",
            1,
            "address",
            "character email addresses cannot use",
        ),
        list(
            "BOM in the middle of a line",
            "a@contoso.com\nb\u{feff}@contoso.com",
            2,
            "address",
            "Only plain ASCII addresses",
        ),
        list(
            "semicolon CSV with a bad cell",
            "Name;Email\r\nAnn;ann@contoso\r\n",
            2,
            "address",
            "not a domain",
        ),
        list(
            "quoted comma inside an address cell",
            "\"ann,lee@contoso.com\"",
            1,
            "address",
            "character email addresses cannot use",
        ),
        list(
            "two addresses in one quoted cell",
            "\"a@contoso.com b@contoso.com\",Sales\nc@",
            2,
            "address",
            "not a domain",
        ),
        list(
            "repeated address",
            "a@contoso.com\n\n\nA@CONTOSO.COM",
            4,
            "address",
            "Listed already, on line 1.",
        ),
        list(
            "only empty lines",
            "\n\r\n   \n\t\n",
            0,
            "addresses",
            "No email addresses were given",
        ),
        list(
            "only a header",
            "Name,Email,Department\n",
            0,
            "addresses",
            "No email addresses were given",
        ),
        list(
            "more than 5000 addresses",
            (0..=MAX_ENTRIES)
                .map(|i| format!("u{i}@contoso.com"))
                .collect::<Vec<_>>()
                .join("\n"),
            0,
            "addresses",
            "more than 5000",
        ),
        list(
            "a 10 MB paste of addresses",
            "user@contoso.com\n".repeat((10 << 20) / 17),
            0,
            "addresses",
            "at most 1 MiB",
        ),
        list(
            "a 10 MB paste on one line",
            "x".repeat(10 << 20),
            0,
            "addresses",
            "at most 1 MiB",
        ),
    ]
}

/// What a case did, as the table reports it.
enum Outcome {
    Ok,
    Failed(String),
}

fn expect_error(e: &mailconn_core::Error, case: &Case) -> Result<(), String> {
    let field = e.field().unwrap_or("-");
    if field != case.field {
        return Err(format!(
            "field {field:?}, expected {:?} ({})",
            case.field,
            e.message()
        ));
    }
    if !e.message().contains(case.message) {
        return Err(format!(
            "message {:?} lacks {:?}",
            e.message(),
            case.message
        ));
    }
    Ok(())
}

async fn run_registration(
    service: &Service,
    keychain: &MemoryKeychain,
    f: fn(&mut RegistrationInput),
    case: &Case,
) -> Result<(), String> {
    let mut input = valid_input();
    f(&mut input);
    let report = service.validate_registration(&input);
    let issue = report
        .errors
        .iter()
        .find(|i| i.field == case.field)
        .ok_or_else(|| format!("no error at {}: {:?}", case.field, report.errors))?;
    if !issue.message.contains(case.message) {
        return Err(format!(
            "report message {:?} lacks {:?}",
            issue.message, case.message
        ));
    }
    let err = match service.add_registration(input).await {
        Ok(saved) => return Err(format!("stored {:?}", saved.registration.id)),
        Err(e) => e,
    };
    if err.code() != ErrorCode::Validation {
        return Err(format!("code {:?}", err.code()));
    }
    // The first error is reported; it is this case's when it is the only one.
    if report.errors.len() == 1 {
        expect_error(&err, case)?;
    }
    let stored = service.registrations().await.map_err(|e| e.to_string())?;
    if !stored.is_empty() || !keychain.is_empty() {
        return Err(format!(
            "{} registrations and {} keychain items after a refusal",
            stored.len(),
            keychain.len()
        ));
    }
    Ok(())
}

fn run_deep_link(url: &str, case: &Case) -> Result<(), String> {
    let links = DeepLinks::new();
    let mut waiting = links.expect(STATE);
    let err = match links.deliver(url) {
        Ok(()) => return Err("accepted".into()),
        Err(e) => e,
    };
    if err.code() != ErrorCode::Validation {
        return Err(format!("code {:?}", err.code()));
    }
    expect_error(&err, case)?;
    match waiting.try_recv() {
        Err(tokio::sync::oneshot::error::TryRecvError::Empty) => Ok(()),
        other => Err(format!("the waiting sign-in was disturbed: {other:?}")),
    }
}

async fn run_loopback(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    case: &Case,
) -> Result<(), String> {
    let lb = Loopback::bind(0, "/callback", STATE)
        .await
        .map_err(|e| e.to_string())?;
    let port = lb.port();
    let cancel = CancellationToken::new();
    let waiter = tokio::spawn(async move { lb.wait(Duration::from_millis(300), &cancel).await });
    let mut request = reqwest::Client::new().request(
        method.parse().map_err(|e| format!("{e}"))?,
        format!("http://127.0.0.1:{port}{target}"),
    );
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    if !body.contains(case.message) {
        return Err(format!("{status}: page {body:?} lacks {:?}", case.message));
    }
    if body.contains("<script>") || body.contains("<img") {
        return Err("markup from the request reached the page".into());
    }
    // Refused: the sign-in goes on waiting (here, until its short timeout). Otherwise the
    // callback is this sign-in's and ends it with an explained error, never with a code.
    let refused = !status.is_success() && !body.contains("carried no code");
    match (refused, waiter.await.map_err(|e| e.to_string())?) {
        (true, Err(e)) if e.code() == ErrorCode::Timeout => Ok(()),
        (false, Ok(Callback::Error(ms))) if !ms.to_error().message().is_empty() => Ok(()),
        (_, Ok(Callback::Code(_))) => Err(format!("{status}: a code was taken")),
        (_, other) => Err(format!("{status}: unexpected {other:?}")),
    }
}

fn run_addresses(text: &str, line: u32, case: &Case) -> Result<(), String> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // What the preview and the add read: the pasted text (capped), then the list.
        let entries = addresses::parse_list(text);
        let reasonable =
            addresses::parse_list_checked(text).and_then(|e| addresses::require_reasonable(&e));
        let checked = addresses::check(&entries);
        (entries.len(), reasonable, checked)
    }));
    let (count, reasonable, checked) = result.map_err(|p| {
        let why = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        format!("panicked: {why}")
    })?;
    if checked.len() != count {
        return Err("the preview and the list disagree".into());
    }
    if line == 0 {
        let err = reasonable.err().ok_or("the list was accepted")?;
        return expect_error(&err, case);
    }
    let entry = checked
        .iter()
        .find(|c| c.line == line && c.problem.is_some())
        .ok_or_else(|| format!("no problem on line {line}: {checked:?}"))?;
    let problem = entry.problem.as_deref().unwrap_or_default();
    if !problem.contains(case.message) {
        return Err(format!("problem {problem:?} lacks {:?}", case.message));
    }
    if entry.duplicate_of.is_none() && entry.address.is_some() {
        return Err("a bad address was kept for lookup".into());
    }
    // The entry's field: a syntax problem is the address's, as `normalise` reports it.
    if entry.duplicate_of.is_none() {
        let err = addresses::normalise(&entry.input)
            .err()
            .ok_or("normalise accepted it")?;
        expect_error(&err, case)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_is_refused_clearly_at_its_field_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keychain = Arc::new(MemoryKeychain::new());
    let service = Service::with_options(
        DataDir::open(dir.path().join("data")).unwrap(),
        keychain.clone(),
        Options {
            deep_links: false,
            ..Options::default()
        },
    )
    .unwrap();

    let cases = catalogue();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    let mut pending_report = Vec::new();
    for case in &cases {
        let outcome = match &case.input {
            Input::Registration(f) => run_registration(&service, &keychain, *f, case).await,
            Input::DeepLink(url) => run_deep_link(url, case),
            Input::DeepLinkWithoutSupport(url) => match service.deliver_deep_link(url) {
                Ok(_) => Err("accepted".into()),
                Err(e) => expect_error(&e, case),
            },
            Input::Loopback(method, target, headers) => {
                run_loopback(method, target, headers, case).await
            }
            Input::Addresses(text, line) => run_addresses(text, *line, case),
        };
        let outcome = match outcome {
            Ok(()) => Outcome::Ok,
            Err(why) => Outcome::Failed(why),
        };
        match (case.pending, outcome) {
            (None, Outcome::Ok) => {}
            (None, Outcome::Failed(why)) => failures.push(format!("{}: {why}", case.name)),
            (Some(hole), Outcome::Failed(why)) => {
                pending_report.push(format!(
                    "PENDING  {} ({hole}): {}",
                    case.name,
                    why.chars().take(160).collect::<String>()
                ));
            }
            (Some(hole), Outcome::Ok) => {
                pending_report.push(format!(
                    "FIXED    {} ({hole}): passes now; remove its pending mark",
                    case.name
                ));
            }
        }
    }
    println!(
        "{} bad inputs, {} pending:",
        cases.len(),
        pending_report.len()
    );
    for line in &pending_report {
        println!("  {line}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // The same service accepts the valid registration every case was made from.
    service.add_registration(valid_input()).await.unwrap();
    assert_eq!(service.registrations().await.unwrap().len(), 1);
    assert_eq!(keychain.len(), 1);
}
