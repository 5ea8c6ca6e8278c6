use super::*;

const CLIENT: &str = "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc";
const TENANT: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const VALUE: &str = "Abc8Q~abcdefghijklmnopqrstuvwxyz0123456";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn confidential() -> RegistrationInput {
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
        usage: Usage::Both,
        audience: Audience::MyOrganization,
        preset: Preset::Full,
        redirect_uri: None,
        secret: Some(Sensitive::from(VALUE)),
        secret_expires: NaiveDate::from_ymd_opt(2027, 11, 22),
        secret_label: Some("mailconn".into()),
    }
}

fn public() -> RegistrationInput {
    RegistrationInput {
        kind: ClientKind::Public,
        tenant: "common".into(),
        usage: Usage::Delegated,
        audience: Audience::AnyOrganizationAndPersonal,
        secret: None,
        secret_expires: None,
        secret_label: None,
        ..confidential()
    }
}

/// The single error message for `field`, asserting there is exactly one error.
fn only_error(input: &RegistrationInput, field: &str) -> String {
    let (report, valid) = validate(input, today());
    assert!(valid.is_none());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].field, field, "{:?}", report.errors);
    report.errors[0].message.clone()
}

#[test]
fn good_inputs_pass_and_are_normalised() {
    let mut input = confidential();
    input.client_id = format!("  {}  ", CLIENT.to_uppercase());
    input.secret = Some(Sensitive::from(format!("{VALUE}\n")));
    let (report, valid) = validate(&input, today());
    assert!(report.ok(), "{report:?}");
    assert!(report.warnings.is_empty(), "{report:?}");
    let v = valid.unwrap();
    assert_eq!(v.client_id, CLIENT);
    assert_eq!(v.secret.unwrap().expose(), VALUE);
    assert_eq!(v.redirect_uri, "http://localhost/callback");

    let (report, valid) = validate(&public(), today());
    assert!(report.ok(), "{report:?}");
    assert_eq!(valid.unwrap().redirect_uri, "http://localhost");
}

#[test]
fn client_id_must_be_a_guid() {
    let mut input = confidential();
    input.client_id = "my-app".into();
    assert!(only_error(&input, "client_id").contains("is a GUID"));
    input.client_id = String::new();
    assert!(only_error(&input, "client_id").contains("Overview page"));
}

#[test]
fn secret_id_pasted_as_secret() {
    let mut input = confidential();
    input.secret = Some(Sensitive::from("3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"));
    let msg = only_error(&input, "secret");
    assert!(
        msg.starts_with("This is the Secret ID. Paste the Value column"),
        "{msg}"
    );
}

#[test]
fn empty_and_whitespace_secrets() {
    let mut input = confidential();
    input.secret = Some(Sensitive::from("   \t"));
    assert!(only_error(&input, "secret").contains("only spaces"));
    input.secret = None;
    assert!(only_error(&input, "secret").contains("needs its client secret"));
    input.secret = Some(Sensitive::from("Abc8Q~abc def"));
    assert!(only_error(&input, "secret").contains("spaces or line breaks"));
}

#[test]
fn public_client_must_not_have_a_secret() {
    let mut input = public();
    input.secret = Some(Sensitive::from(VALUE));
    assert!(only_error(&input, "secret").contains("AADSTS700025"));
}

#[test]
fn tenant_words_guids_and_domains() {
    for ok in [
        "common",
        "organizations",
        TENANT,
        "contoso.onmicrosoft.com",
        "mail.example.co.uk",
    ] {
        assert!(classify_tenant(ok).is_some(), "{ok}");
    }
    assert_eq!(
        classify_tenant(CONSUMERS_TENANT_ID),
        Some(TenantKind::Consumers)
    );
    let mut input = public();
    for bad in ["contoso", "not a tenant", "-bad-.com", "http://contoso.com"] {
        input.tenant = bad.into();
        assert!(
            only_error(&input, "tenant").contains("must be common, organizations"),
            "{bad}"
        );
    }
}

#[test]
fn application_access_needs_a_tenant_id() {
    for generic in ["common", "organizations", "consumers"] {
        let mut input = confidential();
        input.audience = Audience::AnyOrganization;
        input.tenant = generic.into();
        let msg = only_error(&input, "tenant");
        assert!(
            msg.starts_with("Application access needs your tenant ID"),
            "{generic}: {msg}"
        );
    }
}

#[test]
fn single_tenant_app_with_common() {
    let mut input = confidential();
    input.usage = Usage::Delegated;
    input.tenant = "common".into();
    assert!(only_error(&input, "tenant").contains("AADSTS50194"));
}

#[test]
fn consumers_needs_personal_accounts_in_the_audience() {
    let mut input = public();
    input.audience = Audience::AnyOrganization;
    input.tenant = "consumers".into();
    assert!(only_error(&input, "tenant").contains("do not include personal"));
}

#[test]
fn personal_accounts_only_in_the_global_cloud() {
    let mut input = public();
    input.cloud = CloudId::GccHigh;
    assert!(only_error(&input, "audience").contains("only in the global cloud"));
}

#[test]
fn application_access_needs_a_confidential_client() {
    let mut input = public();
    input.usage = Usage::Application;
    input.tenant = TENANT.into();
    input.audience = Audience::MyOrganization;
    assert!(only_error(&input, "kind").contains("Web platform"));
}

#[test]
fn custom_cloud_urls() {
    let mut input = public();
    input.cloud = CloudId::Custom;
    input.authority_url = Some("http://login.example.com".into());
    input.graph_url = Some("http://127.0.0.1:9000".into());
    assert!(only_error(&input, "authority_url").contains("only for 127.0.0.1 or localhost"));
    input.authority_url = Some("http://127.0.0.1:8000".into());
    input.graph_url = Some("graph".into());
    assert!(only_error(&input, "graph_url").contains("not an absolute URL"));
    input.graph_url = Some("http://127.0.0.1:9000/".into());
    let (report, valid) = validate(&input, today());
    assert!(report.ok(), "{report:?}");
    assert_eq!(valid.unwrap().cloud.graph, "http://127.0.0.1:9000");
}

#[test]
fn secret_expiry_past_is_an_error_beyond_24_months_a_warning() {
    let mut input = confidential();
    input.secret_expires = NaiveDate::from_ymd_opt(2026, 11, 21);
    assert!(only_error(&input, "secret_expires").contains("has passed"));

    input.secret_expires = NaiveDate::from_ymd_opt(2029, 1, 1);
    let (report, valid) = validate(&input, today());
    assert!(valid.is_some());
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(report.warnings[0].field, "secret_expires");
    assert!(report.warnings[0].message.contains("at most 24 months"));

    input.secret_expires = None;
    let (report, _) = validate(&input, today());
    assert!(report.warnings[0].message.contains("remind you"));
}

#[test]
fn redirect_uri_rules() {
    let mut input = public();
    input.redirect_uri = Some("http://[::1]/cb".into());
    assert!(only_error(&input, "redirect_uri").contains("[::1]"));
    input.redirect_uri = Some("http://example.com/cb".into());
    assert!(only_error(&input, "redirect_uri").contains("only for localhost"));
    input.redirect_uri = Some("http://localhost/cb?x=1".into());
    assert!(only_error(&input, "redirect_uri").contains("query string"));
    input.redirect_uri = Some(format!("https://example.com/{}", "a".repeat(260)));
    assert!(only_error(&input, "redirect_uri").contains("256"));
    input.redirect_uri = Some("mailconn://auth".into());
    assert!(
        validate(&input, today()).0.ok(),
        "custom schemes are fine for public clients"
    );
    input.redirect_uri = Some("http://127.0.0.1/cb".into());
    let (report, _) = validate(&input, today());
    assert!(report.ok());
    assert!(report.warnings[0].message.contains("127.0.0.1"));
}

#[test]
fn several_errors_are_reported_together() {
    let mut input = confidential();
    input.client_id = "x".into();
    input.tenant = "common".into();
    input.secret = Some(Sensitive::from("3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"));
    let (report, _) = validate(&input, today());
    let fields: Vec<_> = report.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["client_id", "tenant", "secret"]);
}

#[test]
fn hint_is_the_first_three_characters() {
    assert_eq!(secret_hint(&Sensitive::from(VALUE)), "Abc");
}

#[test]
fn mail_servers_are_checked_on_their_fields_and_kept() {
    let mut input = confidential();
    input.imap_server = Some("plain://127.0.0.1:1143".into());
    input.smtp_server = Some(" smtp.example.com:587 ".into());
    let (report, valid) = validate(&input, today());
    assert!(report.ok(), "{report:?}");
    let valid = valid.unwrap();
    assert_eq!(
        valid.mail_servers.imap.as_ref().unwrap().to_string(),
        "plain://127.0.0.1:1143"
    );
    assert_eq!(
        valid.mail_servers.smtp.as_ref().unwrap().to_string(),
        "starttls://smtp.example.com:587"
    );
    assert_eq!(valid.mail_servers.pop, None);

    input.pop_server = Some("plain://pop.example.com:110".into());
    assert!(only_error(&input, "pop_server").contains("allowed only to 127.0.0.1"));
    input.pop_server = Some("pop.example.com".into());
    assert!(only_error(&input, "pop_server").contains("POP server: add the port"));
}

#[test]
fn mail_programs_need_servers_where_microsofts_are_not_known() {
    let mut input = confidential();
    input.preset = Preset::MailPrograms;
    let (report, _) = validate(&input, today());
    assert!(
        report.ok(),
        "the global cloud has Microsoft's servers: {report:?}"
    );

    // Without servers the app still saves (tokens for programs work); the wizard warns.
    input.cloud = CloudId::GccHigh;
    let (report, valid) = validate(&input, today());
    assert!(valid.is_some(), "{report:?}");
    let fields: Vec<&str> = report.warnings.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["imap_server", "smtp_server"], "{report:?}");
    assert!(
        report.warnings[0]
            .message
            .contains("could not be confirmed")
    );

    input.cloud = CloudId::Custom;
    input.authority_url = Some("http://127.0.0.1:9000".into());
    input.graph_url = Some("http://127.0.0.1:9001".into());
    input.imap_server = Some("plain://127.0.0.1:1143".into());
    let (report, _) = validate(&input, today());
    let warned: Vec<&str> = report.warnings.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(warned, ["smtp_server"], "{report:?}");
    assert!(
        report.warnings[0]
            .message
            .contains("A custom cloud has no built-in mail servers"),
        "{report:?}"
    );
    input.smtp_server = Some("plain://127.0.0.1:1587".into());
    assert!(validate(&input, today()).0.warnings.is_empty());
}
