//! App registrations: the user's own Entra app (client ID, tenant, cloud, client type, secret),
//! how to validate what they paste back, and what to tell them to set up in the portal.
//!
//! Validation is pure (see [`validate`]); storage is in `store::registrations`; the secret goes to
//! the keychain through [`service`]; [`check`] tests a registration against the identity provider;
//! [`export`] renders the manifest fragment and `az` script.

pub mod export;
pub mod probe;
pub mod transfer;

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Sensitive;
use crate::cloud::{Cloud, CloudId, base_url};
use crate::mail_servers::{self, MailProtocol, MailServers};
use crate::scopes::Preset;

/// The tenant ID Microsoft uses for all personal accounts.
pub const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// Microsoft allows client secrets of at most 24 months.
const MAX_SECRET_MONTHS: u32 = 24;
/// Microsoft's redirect URI length limit.
const MAX_REDIRECT_URI: usize = 256;
const MAX_NAME: usize = 80;

/// Public (Mobile and desktop platform: no secret, PKCE) or confidential (Web platform: secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    Public,
    Confidential,
}

impl ClientKind {
    /// The kind a registration gets for its usage when `asked` is what the user chose (desktop or
    /// Web app): application access authenticates with a secret, so only a delegated-only app
    /// can be public.
    pub fn for_usage(usage: Usage, asked: ClientKind) -> ClientKind {
        if usage.application() {
            ClientKind::Confidential
        } else {
            asked
        }
    }

    /// Whether the usage leaves no choice of kind (the wizard's "Web app" box is ticked and locked).
    pub fn fixed_by(usage: Usage) -> bool {
        usage.application()
    }
}

/// What the registration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Usage {
    /// People sign in to their own (or delegated) mailboxes.
    Delegated,
    /// The app works on organisation mailboxes as itself (client credentials).
    Application,
    Both,
}

impl Usage {
    pub fn delegated(self) -> bool {
        matches!(self, Usage::Delegated | Usage::Both)
    }
    pub fn application(self) -> bool {
        matches!(self, Usage::Application | Usage::Both)
    }
}

/// "Supported account types" in the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Accounts in this organizational directory only (single tenant).
    MyOrganization,
    /// Accounts in any organizational directory (multitenant).
    AnyOrganization,
    /// Any organizational directory and personal Microsoft accounts.
    AnyOrganizationAndPersonal,
}

impl Audience {
    /// The manifest's `signInAudience`.
    pub fn sign_in_audience(self) -> &'static str {
        match self {
            Audience::MyOrganization => "AzureADMyOrg",
            Audience::AnyOrganization => "AzureADMultipleOrgs",
            Audience::AnyOrganizationAndPersonal => "AzureADandPersonalMicrosoftAccount",
        }
    }

    /// The radio button's label in the portal.
    pub fn portal_label(self) -> &'static str {
        match self {
            Audience::MyOrganization => {
                "Accounts in this organizational directory only (Single tenant)"
            }
            Audience::AnyOrganization => {
                "Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant)"
            }
            Audience::AnyOrganizationAndPersonal => {
                "Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant) and personal Microsoft accounts (e.g. Skype, Xbox)"
            }
        }
    }

    pub fn personal(self) -> bool {
        self == Audience::AnyOrganizationAndPersonal
    }
}

/// What kind of value a tenant field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantKind {
    Common,
    Organizations,
    Consumers,
    Id,
    Domain,
}

impl TenantKind {
    /// `common`, `organizations` and `consumers` stand for many tenants.
    pub fn is_generic(self) -> bool {
        matches!(
            self,
            TenantKind::Common | TenantKind::Organizations | TenantKind::Consumers
        )
    }
}

/// Which help the tenant field shows for a registration's audience and usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TenantHint {
    /// An app for one organisation: its Directory (tenant) ID.
    DirectoryId,
    /// Application access: one organisation's Directory (tenant) ID or domain.
    OneOrganization,
    /// Work accounts of any organisation: `organizations` or `common` (or the own tenant).
    AnyOrganization,
    /// Work, school and personal accounts: `common`.
    AnyAccount,
}

/// The tenant help and the values worth offering with one click, best first. They follow the
/// validation rules: generic tenants only for delegated sign-in to a multitenant app.
pub fn tenant_suggestions(usage: Usage, audience: Audience) -> (TenantHint, Vec<&'static str>) {
    match audience {
        Audience::MyOrganization => (TenantHint::DirectoryId, Vec::new()),
        _ if usage.application() => (TenantHint::OneOrganization, Vec::new()),
        Audience::AnyOrganization => (TenantHint::AnyOrganization, vec!["organizations", "common"]),
        Audience::AnyOrganizationAndPersonal => (TenantHint::AnyAccount, vec!["common"]),
    }
}

pub fn classify_tenant(tenant: &str) -> Option<TenantKind> {
    match tenant {
        "common" => Some(TenantKind::Common),
        "organizations" => Some(TenantKind::Organizations),
        "consumers" | CONSUMERS_TENANT_ID => Some(TenantKind::Consumers),
        t if is_guid(t) => Some(TenantKind::Id),
        t if is_domain(t) => Some(TenantKind::Domain),
        _ => None,
    }
}

/// A GUID in Microsoft's canonical 8-4-4-4-12 form.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && s.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// What the user entered (wizard, edit form, CLI).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct RegistrationInput {
    pub name: String,
    pub client_id: String,
    pub kind: ClientKind,
    pub tenant: String,
    pub cloud: CloudId,
    #[ts(optional)]
    #[serde(default)]
    pub authority_url: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub graph_url: Option<String>,
    /// IMAP server `HOST:PORT` (see `mail_servers`): needed where Microsoft's is not known
    /// (custom and national clouds); elsewhere it replaces Microsoft's.
    #[ts(optional)]
    #[serde(default)]
    pub imap_server: Option<String>,
    /// POP server `HOST:PORT`.
    #[ts(optional)]
    #[serde(default)]
    pub pop_server: Option<String>,
    /// SMTP submission server `HOST:PORT`.
    #[ts(optional)]
    #[serde(default)]
    pub smtp_server: Option<String>,
    pub usage: Usage,
    pub audience: Audience,
    /// The delegated preset sign-ins use (ignored for application-only registrations).
    pub preset: Preset,
    /// Defaults to the recommended URI for the client kind.
    #[ts(optional)]
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// The client secret's Value. Goes to the keychain only.
    #[ts(optional, type = "string")]
    #[serde(default)]
    pub secret: Option<Sensitive<String>>,
    /// `YYYY-MM-DD`.
    #[ts(optional, type = "string")]
    #[serde(default)]
    pub secret_expires: Option<NaiveDate>,
    #[ts(optional)]
    #[serde(default)]
    pub secret_label: Option<String>,
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FieldIssue {
    pub field: String,
    pub message: String,
}

/// Every error and warning at once, so the wizard can show each next to its field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
pub struct ValidationReport {
    pub errors: Vec<FieldIssue>,
    pub warnings: Vec<FieldIssue>,
}

impl ValidationReport {
    fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldIssue {
            field: field.into(),
            message: message.into(),
        });
    }
    fn warn(&mut self, field: &str, message: impl Into<String>) {
        self.warnings.push(FieldIssue {
            field: field.into(),
            message: message.into(),
        });
    }
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
    /// The first error as a core error (field attached), for callers that stop at one.
    pub fn into_error(self) -> Option<crate::Error> {
        self.errors
            .into_iter()
            .next()
            .map(|i| crate::Error::invalid(&i.field, i.message))
    }
}

/// A checked registration, normalised, ready to store.
#[derive(Debug, Clone)]
pub struct Valid {
    pub name: String,
    pub client_id: String,
    pub kind: ClientKind,
    pub tenant: String,
    pub cloud: Cloud,
    /// The registration's own mail servers (checked), in place of Microsoft's.
    pub mail_servers: MailServers,
    pub usage: Usage,
    pub audience: Audience,
    pub preset: Preset,
    pub redirect_uri: String,
    pub secret: Option<Sensitive<String>>,
    pub secret_expires: Option<NaiveDate>,
    pub secret_label: Option<String>,
}

/// The app's own custom-scheme redirect URI, which a desktop (public) app may register instead of
/// `http://localhost`; the browser hands it to the app (see `flow::deep_link`).
pub const DEEP_LINK_REDIRECT_URI: &str = "mailconn://auth";

/// The redirect URI to register for a client kind unless the user has another.
pub fn default_redirect_uri(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Public => "http://localhost",
        ClientKind::Confidential => "http://localhost/callback",
    }
}

/// Checks every field. `today` is passed in so tests control the clock.
pub fn validate(input: &RegistrationInput, today: NaiveDate) -> (ValidationReport, Option<Valid>) {
    validate_with(input, today, true)
}

/// [`validate`] for a registration shared without its secret (`transfer`): a Web
/// (confidential) app may come without one; its secret is pasted in later.
pub fn validate_shared(
    input: &RegistrationInput,
    today: NaiveDate,
) -> (ValidationReport, Option<Valid>) {
    validate_with(input, today, false)
}

fn validate_with(
    input: &RegistrationInput,
    today: NaiveDate,
    secret_required: bool,
) -> (ValidationReport, Option<Valid>) {
    let mut r = ValidationReport::default();

    let name = input.name.trim();
    if name.is_empty() {
        r.error(
            "name",
            "Give the app a name you will recognise, for example \"Contoso mail\".",
        );
    } else if name.chars().count() > MAX_NAME {
        r.error(
            "name",
            format!("Keep the name under {MAX_NAME} characters."),
        );
    }

    let client_id = input.client_id.trim().to_ascii_lowercase();
    if client_id.is_empty() {
        r.error(
            "client_id",
            "Paste the Application (client) ID from the app's Overview page.",
        );
    } else if !is_guid(&client_id) {
        r.error(
            "client_id",
            "The Application (client) ID is a GUID like 0d3b2f3a-1c2b-4c5d-9e8f-123456789abc. Copy it from the app's Overview page.",
        );
    }

    let tenant = input.tenant.trim().to_ascii_lowercase();
    let tenant_kind = classify_tenant(&tenant);
    match tenant_kind {
        None if tenant.is_empty() => r.error(
            "tenant",
            "Paste the Directory (tenant) ID from the app's Overview page, or use common, organizations or consumers.",
        ),
        None => r.error(
            "tenant",
            "The tenant must be common, organizations, consumers, a Directory (tenant) ID (a GUID) or a domain like contoso.onmicrosoft.com.",
        ),
        Some(_) => {}
    }

    let cloud = check_cloud(&mut r, input);
    let mail_servers = check_mail_servers(&mut r, input);
    check_audience(&mut r, input, tenant_kind, &tenant);
    let wants_personal = input.audience.personal() || tenant_kind == Some(TenantKind::Consumers);
    if input.usage.application() && input.kind == ClientKind::Public {
        r.error(
            "kind",
            "Application access needs a client secret, so register the app on the Web platform (confidential).",
        );
    }

    let secret = check_secret(&mut r, input, secret_required);
    check_expiry(&mut r, input, secret.is_some(), today);
    let secret_expires = input.secret_expires;
    let redirect_uri = input
        .redirect_uri
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default_redirect_uri(input.kind))
        .to_owned();
    check_redirect_uri(&mut r, &redirect_uri, input.kind, wants_personal);

    let valid = match (r.ok(), cloud) {
        (true, Some(cloud)) => Some(Valid {
            name: name.to_owned(),
            client_id,
            kind: input.kind,
            tenant,
            cloud,
            mail_servers,
            usage: input.usage,
            audience: input.audience,
            preset: if input.usage == Usage::Application {
                Preset::Application
            } else {
                input.preset
            },
            redirect_uri,
            secret,
            secret_expires,
            secret_label: input
                .secret_label
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        }),
        _ => None,
    };
    (r, valid)
}

fn check_cloud(r: &mut ValidationReport, input: &RegistrationInput) -> Option<Cloud> {
    match input.cloud {
        CloudId::Custom => {
            let authority = base_url(
                "authority_url",
                input.authority_url.as_deref().unwrap_or(""),
            );
            let graph = base_url("graph_url", input.graph_url.as_deref().unwrap_or(""));
            for e in [authority.as_ref().err(), graph.as_ref().err()]
                .into_iter()
                .flatten()
            {
                r.error(e.field().unwrap_or("cloud"), e.message());
            }
            match (authority, graph) {
                (Ok(a), Ok(g)) => Cloud::custom(&a, &g).ok(),
                _ => None,
            }
        }
        id => Cloud::builtin(id),
    }
}

/// Each given server is checked on its own field; the mail-programs preset needs IMAP and SMTP
/// servers where Microsoft's are not known (custom and national clouds).
fn check_mail_servers(r: &mut ValidationReport, input: &RegistrationInput) -> MailServers {
    let mut servers = MailServers::default();
    for protocol in MailProtocol::ALL {
        let raw = match protocol {
            MailProtocol::Imap => input.imap_server.as_deref(),
            MailProtocol::Pop => input.pop_server.as_deref(),
            MailProtocol::Smtp => input.smtp_server.as_deref(),
        }
        .map(str::trim)
        .filter(|s| !s.is_empty());
        let parsed = match raw.map(|raw| mail_servers::parse(protocol, raw)) {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                r.error(protocol.field(), e.message());
                continue;
            }
            None => None,
        };
        let needed = input.preset == Preset::MailPrograms
            && protocol != MailProtocol::Pop
            && !MailServers::known_for(input.cloud);
        if parsed.is_none() && needed {
            let cloud = if input.cloud == CloudId::Custom {
                "A custom cloud has no built-in mail servers"
            } else {
                "Microsoft's mail servers for this cloud could not be confirmed"
            };
            // A warning, not an error: tokens for programs work without it; verification and
            // the mail-program settings then say which server is missing.
            r.warn(
                protocol.field(),
                format!(
                    "{cloud}: enter the {} server as HOST:PORT for mail programs.",
                    protocol.label()
                ),
            );
        }
        match protocol {
            MailProtocol::Imap => servers.imap = parsed,
            MailProtocol::Pop => servers.pop = parsed,
            MailProtocol::Smtp => servers.smtp = parsed,
        }
    }
    servers
}

fn check_audience(
    r: &mut ValidationReport,
    input: &RegistrationInput,
    tenant_kind: Option<TenantKind>,
    tenant: &str,
) {
    if let Some(kind) = tenant_kind {
        if input.usage.application() && kind.is_generic() {
            r.error(
                "tenant",
                format!("Application access needs your tenant ID: use the Directory (tenant) ID (a GUID) or your domain, not '{tenant}'."),
            );
        } else if input.audience == Audience::MyOrganization && kind.is_generic() {
            r.error(
                "tenant",
                format!("An app for your organisation only must use its Directory (tenant) ID, not '{tenant}' (Microsoft would answer AADSTS50194)."),
            );
        } else if kind == TenantKind::Consumers && !input.audience.personal() {
            r.error(
                "tenant",
                "'consumers' is for personal accounts, but the app's account types do not include personal Microsoft accounts.",
            );
        }
    }
    if (input.audience.personal() || tenant_kind == Some(TenantKind::Consumers))
        && !matches!(input.cloud, CloudId::Global | CloudId::Custom)
    {
        r.error(
            "audience",
            "Personal Microsoft accounts (Outlook.com, Hotmail) exist only in the global cloud.",
        );
    }
}

fn check_expiry(
    r: &mut ValidationReport,
    input: &RegistrationInput,
    has_secret: bool,
    today: NaiveDate,
) {
    if let Some(date) = input.secret_expires {
        if has_secret || input.kind == ClientKind::Confidential {
            if date < today {
                r.error("secret_expires", "This date has passed: the secret has expired. Create a new secret in the portal.");
            } else if today
                .checked_add_months(Months::new(MAX_SECRET_MONTHS))
                .is_some_and(|max| date > max)
            {
                r.warn("secret_expires", "Microsoft allows secrets of at most 24 months; check the Expires column in the portal.");
            }
        }
    } else if has_secret {
        r.warn("secret_expires", "Enter the secret's expiry date so Mail Connections can remind you before it stops working.");
    }
}

fn check_secret(
    r: &mut ValidationReport,
    input: &RegistrationInput,
    required: bool,
) -> Option<Sensitive<String>> {
    let raw = input.secret.as_ref();
    let Some(raw) = raw.filter(|s| !s.expose().is_empty()) else {
        if input.kind == ClientKind::Confidential && required {
            r.error(
                "secret",
                "A Web (confidential) app needs its client secret: paste the secret's Value.",
            );
        }
        return None;
    };
    if raw.is_blank() {
        r.error(
            "secret",
            "The secret is only spaces. Paste the secret's Value.",
        );
        return None;
    }
    let secret = Sensitive::trimmed(raw.expose());
    if input.kind == ClientKind::Public {
        r.error(
            "secret",
            "Mobile and desktop (public) apps must not send a secret (Microsoft would answer AADSTS700025). Leave it empty, or choose the Web platform.",
        );
        return None;
    }
    if is_guid(&secret.expose().to_ascii_lowercase()) {
        r.error(
            "secret",
            "This is the Secret ID. Paste the Value column instead (it is shown only once, right after you create the secret).",
        );
        return None;
    }
    if secret.expose().chars().any(char::is_whitespace) {
        r.error(
            "secret",
            "The secret contains spaces or line breaks. Copy the Value again.",
        );
        return None;
    }
    Some(secret)
}

fn check_redirect_uri(r: &mut ValidationReport, uri: &str, kind: ClientKind, personal: bool) {
    const FIELD: &str = "redirect_uri";
    if uri.len() > MAX_REDIRECT_URI {
        r.error(
            FIELD,
            format!("Microsoft allows at most {MAX_REDIRECT_URI} characters in a redirect URI."),
        );
        return;
    }
    let Ok(url) = url::Url::parse(uri) else {
        r.error(
            FIELD,
            "The redirect URI must be an absolute URI such as http://localhost.",
        );
        return;
    };
    match url.scheme() {
        "http" => match url.host() {
            Some(url::Host::Domain("localhost")) => {}
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => r.warn(
                FIELD,
                "The portal's text box refuses http://127.0.0.1; register http://localhost instead (Mail Connections still listens on 127.0.0.1 only).",
            ),
            Some(url::Host::Ipv6(_)) => r.error(FIELD, "Microsoft does not support [::1]; use http://localhost."),
            _ => r.error(FIELD, "Plain http:// redirect URIs are allowed only for localhost."),
        },
        "https" => {}
        _ if kind == ClientKind::Public => {}
        _ => r.error(FIELD, "Web apps need an http://localhost or https:// redirect URI."),
    }
    if url.fragment().is_some() {
        r.error(FIELD, "A redirect URI cannot contain a fragment (#...).");
    }
    if personal && url.query().is_some() {
        r.error(FIELD, "Apps that allow personal accounts cannot have a query string (?...) in the redirect URI.");
    }
}

/// Client credentials need one organisation: `common`, `organizations` and `consumers` stand for
/// many (Microsoft would answer AADSTS9001023), so they are refused before any request.
pub fn require_specific_tenant(tenant: &str) -> crate::Result<()> {
    match classify_tenant(tenant) {
        Some(kind) if kind.is_generic() => {
            let why = if kind == TenantKind::Consumers {
                "personal Microsoft accounts have no organisation whose mailboxes an app could reach"
            } else {
                "it stands for many organisations, and the app must act inside exactly one"
            };
            Err(crate::Error::invalid(
                "tenant",
                format!("Application access cannot use the tenant '{tenant}': {why}."),
            )
            .with_fix("Edit the app and enter your Directory (tenant) ID (a GUID from the app's Overview page) or your organisation's domain."))
        }
        Some(_) => Ok(()),
        None => Err(crate::Error::invalid(
            "tenant",
            format!("'{tenant}' is not a tenant ID or domain."),
        )
        .with_fix(
            "Edit the app and enter your Directory (tenant) ID or your organisation's domain.",
        )),
    }
}

/// The link an administrator opens to consent to the app's permissions for the registration's
/// tenant (`common` becomes `organizations`: Microsoft's admin consent needs an organisation).
/// Personal accounts have no administrator.
pub fn admin_consent_url(reg: &Registration) -> crate::Result<String> {
    if classify_tenant(&reg.tenant) == Some(TenantKind::Consumers) {
        return Err(crate::Error::invalid(
            "tenant",
            "Personal accounts have no administrator; admin consent applies to organisations only.",
        ));
    }
    Ok(reg
        .cloud()?
        .admin_consent_url(&reg.tenant, &reg.client_id, &reg.redirect_uri))
}

/// The first characters of a secret value, as the portal shows them in its "hint".
pub fn secret_hint(secret: &Sensitive<String>) -> String {
    secret.expose().chars().take(3).collect()
}

/// The last "test the registration" outcome, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct LastTest {
    #[ts(type = "string")]
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub summary: String,
}

/// A stored registration as the UI and CLI see it: no secret, only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Registration {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub kind: ClientKind,
    pub tenant: String,
    pub cloud: CloudId,
    pub authority_url: Option<String>,
    pub graph_url: Option<String>,
    /// The registration's own IMAP server (`HOST:PORT`, see `mail_servers`), if it has one.
    pub imap_server: Option<String>,
    pub pop_server: Option<String>,
    pub smtp_server: Option<String>,
    pub usage: Usage,
    pub audience: Audience,
    pub preset: Preset,
    pub redirect_uri: String,
    pub has_secret: bool,
    pub secret_label: Option<String>,
    pub secret_hint: Option<String>,
    #[ts(type = "string | null")]
    pub secret_expires: Option<NaiveDate>,
    pub last_test: Option<LastTest>,
    pub connections: u32,
    #[ts(type = "string")]
    pub created_at: DateTime<Utc>,
    #[ts(type = "string")]
    pub updated_at: DateTime<Utc>,
}

impl Registration {
    pub fn cloud(&self) -> crate::Result<Cloud> {
        Cloud::resolve(
            self.cloud,
            self.authority_url.as_deref(),
            self.graph_url.as_deref(),
        )
    }

    /// The mail servers a connection of this registration uses: the registration's own, else
    /// Microsoft's for the cloud and account type (`personal`: Outlook.com).
    pub fn mail_servers(&self, personal: bool) -> MailServers {
        let own = MailServers {
            imap: mail_servers::stored(MailProtocol::Imap, self.imap_server.as_deref()),
            pop: mail_servers::stored(MailProtocol::Pop, self.pop_server.as_deref()),
            smtp: mail_servers::stored(MailProtocol::Smtp, self.smtp_server.as_deref()),
        };
        MailServers::resolve(self.cloud, personal, &own)
    }
}

#[cfg(test)]
mod tests;
