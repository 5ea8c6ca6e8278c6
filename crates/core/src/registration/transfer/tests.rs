use super::*;

const CLIENT: &str = "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn shared() -> SharedRegistration {
    SharedRegistration {
        name: "Contoso mail & more".into(),
        client_id: CLIENT.into(),
        kind: ClientKind::Public,
        tenant: "common".into(),
        cloud: CloudId::Global,
        authority_url: None,
        graph_url: None,
        imap_server: None,
        pop_server: None,
        smtp_server: None,
        usage: Usage::Delegated,
        audience: Audience::AnyOrganizationAndPersonal,
        preset: Preset::MailPrograms,
        redirect_uri: "http://localhost".into(),
    }
}

fn registration(s: &SharedRegistration) -> Registration {
    let t = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    Registration {
        id: "r1".into(),
        name: s.name.clone(),
        client_id: s.client_id.clone(),
        kind: s.kind,
        tenant: s.tenant.clone(),
        cloud: s.cloud,
        authority_url: s.authority_url.clone(),
        graph_url: s.graph_url.clone(),
        imap_server: s.imap_server.clone(),
        pop_server: s.pop_server.clone(),
        smtp_server: s.smtp_server.clone(),
        usage: s.usage,
        audience: s.audience,
        preset: s.preset,
        redirect_uri: s.redirect_uri.clone(),
        has_secret: true,
        secret_label: Some("label-of-the-secret".into()),
        secret_hint: Some("Abc".into()),
        secret_expires: NaiveDate::from_ymd_opt(2027, 1, 1),
        last_test: None,
        connections: 3,
        created_at: t,
        updated_at: t,
    }
}

#[test]
fn a_link_round_trips_and_names_every_field() {
    let mut s = shared();
    s.imap_server = Some("imap.contoso.test:993".into());
    let link = s.link();
    assert!(link.starts_with("mailconn://import?v=1&name=Contoso+mail+%26+more&client_id="));
    assert!(
        link.contains("&imap_server=imap.contoso.test%3A993"),
        "{link}"
    );
    assert!(!link.contains("pop_server"), "{link}");
    assert_eq!(parse_link(&link).unwrap(), s);
    assert_eq!(
        parse(&format!("  {link}\n")).unwrap(),
        (SharedFrom::Link, vec![s])
    );
}

#[test]
fn a_file_round_trips_without_secrets_or_local_facts() {
    let mut confidential = shared();
    confidential.name = "Contoso app access".into();
    confidential.kind = ClientKind::Confidential;
    confidential.usage = Usage::Application;
    confidential.tenant = "contoso.onmicrosoft.com".into();
    confidential.audience = Audience::MyOrganization;
    confidential.preset = Preset::Application;
    confidential.redirect_uri = "http://localhost/callback".into();
    let regs = [registration(&shared()), registration(&confidential)];
    let text = export_json(&regs, Utc::now());
    for local in [
        "label-of-the-secret",
        "secret_hint",
        "Abc\"",
        "connections",
        "\"r1\"",
        "2027-01-01",
    ] {
        assert!(!text.contains(local), "{local} in {text}");
    }
    assert!(
        text.contains("\"format\": \"mailconn-registrations\""),
        "{text}"
    );
    let (from, back) = parse(&text).unwrap();
    assert_eq!(from, SharedFrom::File);
    assert_eq!(back, vec![shared(), confidential.clone()]);
    // A Web app comes without its secret and still passes the wizard's checks.
    let (report, valid) = confidential.validate(today());
    assert!(report.ok(), "{report:?}");
    assert!(valid.unwrap().secret.is_none());
}

#[test]
fn shared_registrations_get_the_wizards_checks() {
    let mut s = shared();
    s.tenant = "not a tenant".into();
    let (report, valid) = s.validate(today());
    assert!(valid.is_none());
    assert_eq!(report.errors[0].field, "tenant");
    let mut s = shared();
    s.kind = ClientKind::Public;
    s.usage = Usage::Application;
    let (report, _) = s.validate(today());
    assert!(
        report.errors.iter().any(|e| e.field == "kind"),
        "{report:?}"
    );
}

fn good_link() -> String {
    shared().link()
}

fn with(extra: &str) -> String {
    format!("{}&{extra}", good_link())
}

fn without(field: &str) -> String {
    let url = url::Url::parse(&good_link()).unwrap();
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url.query_pairs().filter(|(k, _)| k != field) {
        q.append_pair(&k, &v);
    }
    format!("mailconn://import?{}", q.finish())
}

fn assert_refused(cases: Vec<(String, &str)>) {
    for (link, why) in cases {
        let e = parse_link(&link).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Validation, "{link}");
        assert!(
            e.message().starts_with("This import link was refused: ")
                && e.message().ends_with(". Nothing was saved."),
            "{link}: {}",
            e.message()
        );
        assert!(e.message().contains(why), "{link}: {}", e.message());
    }
}

/// Links of the wrong shape: another scheme or host, extra parts, a version, size.
#[test]
fn links_of_the_wrong_shape_are_refused_with_their_reason() {
    let good = good_link();
    let oversize = with(&format!("name2={}", "x".repeat(MAX_LINK)));
    assert_refused(vec![
        (
            good.replacen("mailconn:", "https:", 1),
            "it is not a mailconn:// link",
        ),
        (
            good.replacen("mailconn:", "mailto:", 1),
            "it is not a mailconn:// link",
        ),
        (
            good.replacen("//import", "//auth", 1),
            "it is not an import link",
        ),
        (
            good.replacen("//import?", "//import/more?", 1),
            "it is not an import link",
        ),
        (
            good.replacen("//import", "//user:pw@import", 1),
            "it has parts an import link never has",
        ),
        (
            good.replacen("//import", "//import:80", 1),
            "it has parts an import link never has",
        ),
        (format!("{good}#x"), "it has parts an import link never has"),
        ("mailconn://import".into(), "it has no version (v=1)"),
        (good.replacen("v=1", "v=2", 1), "it is of version 2"),
        (with("name=Other"), "name appears twice"),
        (
            oversize,
            "characters long, more than the 4096 a registration needs",
        ),
        ("mailconn://[".into(), "it is not a valid link"),
        ("mailconn:".into(), "it is not an import link"),
        ("mailconn://import?%zz".into(), "it has no version"),
    ]);
    // The pasted-text entry point refuses the same way.
    assert!(
        parse("MAILCONN://auth?code=x")
            .unwrap_err()
            .message()
            .contains("not an import link")
    );
}

/// Links whose fields are missing, unknown, secret or unreadable.
#[test]
fn links_with_bad_fields_are_refused_with_their_reason() {
    let good = good_link();
    assert_refused(vec![
        (without("client_id"), "it has no client_id"),
        (without("tenant"), "it has no tenant"),
        (without("redirect_uri"), "it has no redirect_uri"),
        (without("name"), "it has no name"),
        (
            with("client_secret=Abc8Q~abcdefghijklmnopqrstuvwxyz0123456"),
            "it carries a \"client_secret\", and a client secret is never shared this way",
        ),
        (with("secret="), "it carries a \"secret\""),
        (
            with("refresh_token=0.AXk"),
            "it carries a \"refresh_token\"",
        ),
        (
            good.replacen(
                "name=Contoso",
                "name=Abc8Q~abcdefghijklmnopqrstuvwxyz0123456",
                1,
            ),
            "name holds what looks like a client secret or token",
        ),
        (
            good.replacen(
                "redirect_uri=http%3A%2F%2Flocalhost",
                "redirect_uri=http%3A%2F%2Flocalhost%2F%3Fcode%3Dabcdef",
                1,
            ),
            "redirect_uri holds what looks like a client secret or token",
        ),
        (
            with("color=blue"),
            "\"color\" is not part of an app registration",
        ),
        (
            good.replacen("kind=public", "kind=robot", 1),
            "kind \"robot\" is not one of public, confidential",
        ),
        (
            good.replacen("preset=mail-programs", "preset=all", 1),
            "preset \"all\" is not one of read, send",
        ),
        (
            good.replacen("name=Contoso", "name=%E2%80%AEContoso", 1),
            "name holds control or invisible characters",
        ),
        (
            good.replacen("name=Contoso", "name=Con%0Atoso", 1),
            "name holds control or invisible characters",
        ),
        (
            with(&format!("graph_url={}", "a".repeat(1100))),
            "graph_url is longer than 1024 characters",
        ),
    ]);
}

#[test]
fn bad_files_are_refused_with_their_reason() {
    let entry = serde_json::to_value(shared()).unwrap();
    let file = |registrations: serde_json::Value| {
        serde_json::json!({"format": FILE_FORMAT, "version": 1, "registrations": registrations})
            .to_string()
    };
    let mut with_secret = entry.clone();
    with_secret["client_secret"] = "Abc8Q~abcdefghijklmnopqrstuvwxyz0123456".into();
    let mut secret_object = entry.clone();
    secret_object["secret"] = serde_json::json!({"value": "x"});
    let mut missing = entry.clone();
    missing.as_object_mut().unwrap().remove("client_id");
    let mut number = entry.clone();
    number["tenant"] = 5.into();
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "it is not JSON"),
        ("[]".into(), "it is not an export of app registrations"),
        (
            "{\"registrations\": []}".into(),
            "no \"format\": \"mailconn-registrations\"",
        ),
        (
            serde_json::json!({"format": FILE_FORMAT, "version": 9, "registrations": []})
                .to_string(),
            "it is of version 9",
        ),
        (
            file(serde_json::json!([entry, with_secret])),
            "registration 2: it carries a \"client_secret\"",
        ),
        (
            file(serde_json::json!([secret_object])),
            "registration 1: it carries a \"secret\"",
        ),
        (
            file(serde_json::json!([missing])),
            "registration 1: it has no client_id",
        ),
        (
            file(serde_json::json!([number])),
            "registration 1: tenant is not text",
        ),
        (
            file(serde_json::json!(["x"])),
            "registration 1: it is not an object",
        ),
        (
            file(serde_json::json!(vec![
                entry.clone();
                MAX_REGISTRATIONS + 1
            ])),
            "more than 500",
        ),
        (" ".repeat(MAX_FILE + 1), "it is larger than 1 MiB"),
    ];
    for (text, why) in cases {
        let e = parse_file(&text).unwrap_err();
        assert!(
            e.message().starts_with("This file cannot be imported: "),
            "{}",
            e.message()
        );
        assert!(e.message().contains(why), "{why}: {}", e.message());
    }
    assert!(parse_file(&file(serde_json::json!([]))).unwrap().is_empty());
}
