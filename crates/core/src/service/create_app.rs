//! "Create it for me": an administrator signs in once with Microsoft's own public client for
//! Graph administration (Microsoft Graph Command Line Tools, the client Microsoft Graph
//! PowerShell uses), and the app creates exactly what the wizard's plan describes: the
//! application (`POST /applications`, its body the plan's manifest), its service principal, a
//! client secret for Web apps, and, if asked, admin consent. The registration is then saved as
//! if it had been pasted and tested, waiting while Microsoft makes the new app known.
//!
//! In two calls, as a sign-in: [`Service::start_create_app`] shows the link or code;
//! [`Service::finish_create_app`] waits for the administrator, creates, saves and tests, and
//! reports each step. The administrator's token asks for no `offline_access`, lives in memory for
//! this one job and is never stored.

use std::time::Duration;

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ts_rs::TS;

use super::Service;
use super::attempts::{Attempts, Flow};
use crate::Sensitive;
use crate::cloud::Cloud;
use crate::error::{Error, ErrorBody, ErrorCode, ErrorDetail, Result};
use crate::flow::auth_code::{self, SignIn};
use crate::flow::device_code::{self, DeviceCode};
use crate::flow::identity::{AccountType, Identity, from_id_token};
use crate::graph::create_app as graph;
use crate::oauth::Tokens;
use crate::registration::export::{Plan, PlanInfo, PlanInput, ResourceConsent, plan_info};
use crate::registration::probe::{ProbeReport, ProbeStep, StepStatus};
use crate::registration::{
    Audience, CONSUMERS_TENANT_ID, ClientKind, Registration, RegistrationInput, TenantKind,
    classify_tenant, validate,
};

/// Microsoft Graph Command Line Tools: Microsoft's public client for Graph administration.
pub const GRAPH_CLI_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
pub const GRAPH_CLI_NAME: &str = "Microsoft Graph Command Line Tools";
/// The redirect URI Microsoft registered for it (any loopback port).
const GRAPH_CLI_REDIRECT_URI: &str = "http://localhost";
/// Where the administrator signs in unless told: any organisation (their own is then known).
const DEFAULT_SIGN_IN_TENANT: &str = "organizations";
/// The secret's life unless the administrator picks another (Microsoft recommends under 12
/// months; the portal offers at most 24).
pub const DEFAULT_SECRET_MONTHS: u32 = 12;
const MAX_SECRET_MONTHS: u32 = 24;
/// Lifetimes tried, longest first, when the tenant's app management policy refuses the one asked
/// for (Graph's refusal does not say the maximum).
const FALLBACK_DAYS: [u32; 9] = [365, 180, 90, 60, 30, 14, 7, 3, 1];
/// The secret's name in Entra ("Certificates & secrets").
const SECRET_NAME: &str = "Mail Connections";
/// How long the test waits for Microsoft to make a new app known everywhere.
const READY_WAIT: Duration = Duration::from_secs(60);
/// AADSTS codes a new app answers with until it has replicated: not found (700016), no service
/// principal yet (7000229), its new secret unknown yet (7000215).
const NOT_YET: [u32; 3] = [700_016, 7_000_229, 7_000_215];

/// The wizard's choices and how the administrator wants it done.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct CreateAppInput {
    pub plan: PlanInput,
    /// Grant admin consent in the same step (asks for the consent permissions too).
    #[serde(default)]
    pub grant_consent: bool,
    /// The client secret's lifetime in months (Web apps), 1 to 24; default 12.
    #[ts(optional)]
    #[serde(default)]
    pub secret_months: Option<u32>,
    /// Where the administrator signs in: default `organizations`; a tenant ID or domain for a
    /// guest administrator.
    #[ts(optional)]
    #[serde(default)]
    pub tenant: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub login_hint: Option<String>,
}

/// One request the app will send, shown before anything is created.
#[derive(Debug, Clone, Serialize, TS)]
pub struct PlannedRequest {
    pub method: String,
    pub path: String,
    /// Pretty JSON; values only known later are named in angle brackets.
    pub body: String,
    pub purpose: String,
}

/// What "Create it for me" will do: the wizard's plan, the sign-in and every request.
#[derive(Debug, Clone, Serialize, TS)]
pub struct CreateAppPlan {
    pub plan: PlanInfo,
    pub sign_in_client_id: String,
    pub sign_in_client_name: String,
    pub sign_in_tenant: String,
    /// The permissions the administrator's sign-in asks for (and nothing else).
    pub admin_scopes: Vec<String>,
    pub grant_consent: bool,
    /// The secret's lifetime asked for (Web apps only).
    pub secret_months: Option<u32>,
    pub requests: Vec<PlannedRequest>,
}

/// A started administrator sign-in: a link to open, or a code to enter elsewhere.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AdminSignIn {
    pub attempt: String,
    pub url: Option<String>,
    pub code: Option<DeviceCode>,
    /// Whether the system browser could be opened (set by the shell that tried).
    pub opened: bool,
}

/// The steps [`Service::finish_create_app`] reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CreateStep {
    SignedIn,
    ApplicationCreated,
    ServicePrincipalCreated,
    SecretCreated,
    ConsentGranted,
    ConsentNotGranted,
    Saved,
    Testing,
    WaitingForMicrosoft,
    Tested,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CreateProgress {
    pub step: CreateStep,
    pub message: String,
}

/// The secret created for a Web app (its value went to the keychain only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CreatedSecret {
    pub hint: String,
    #[ts(type = "string")]
    pub expires: NaiveDate,
    pub requested_months: u32,
    /// The tenant's policy refused the lifetime asked for: this many days is the longest it took.
    pub capped_to_days: Option<u32>,
}

/// Admin consent: granted here, or the link to hand over.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ConsentOutcome {
    /// Whether the plan's permissions need an administrator's consent before anyone can use them.
    pub needed: bool,
    pub granted: bool,
    /// Delegated permissions granted for the whole organisation.
    pub delegated: Vec<String>,
    /// Application permissions (app roles) granted.
    pub application: Vec<String>,
    pub message: String,
    pub admin_consent_url: Option<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// The created app, saved and tested.
#[derive(Debug, Clone, Serialize, TS)]
pub struct CreatedApp {
    pub registration: Registration,
    /// The application's Object ID.
    pub object_id: String,
    /// The Application (client) ID.
    pub client_id: String,
    pub service_principal_id: String,
    /// The Directory (tenant) ID it was created in.
    pub tenant_id: String,
    /// The administrator who signed in.
    pub admin: String,
    pub secret: Option<CreatedSecret>,
    pub consent: ConsentOutcome,
    pub test: ProbeReport,
    /// Seconds the test waited for Microsoft to make the new app known.
    pub waited_seconds: u32,
    pub portal_url: String,
}

/// A checked request, ready for the administrator's sign-in.
#[derive(Debug, Clone)]
pub(super) struct Request {
    input: CreateAppInput,
    info: PlanInfo,
    cloud: Cloud,
    tenant: String,
    scopes: Vec<String>,
    secret_months: Option<u32>,
    body: Value,
    consent: Vec<ResourceConsent>,
}

/// Administrator sign-ins in progress (see [`Attempts`]).
pub(super) type AdminSignIns = Attempts<(Request, Flow)>;

/// The cloud's real endpoints (a custom cloud's authority and Graph as given).
fn cloud_of(plan: &PlanInput) -> Result<Cloud> {
    Cloud::resolve(
        plan.cloud,
        plan.authority_url.as_deref(),
        plan.graph_url.as_deref(),
    )
}

/// The wizard's plan as the `Plan` the manifest and the Graph bodies come from.
fn plan_of<'a>(input: &'a PlanInput, info: &'a PlanInfo) -> Plan<'a> {
    Plan {
        name: if input.name.trim().is_empty() {
            "Mail Connections"
        } else {
            input.name.trim()
        },
        kind: info.kind,
        usage: input.usage,
        audience: input.audience,
        preset: input.preset,
        redirect_uri: &info.redirect_uri,
        cloud: input.cloud,
    }
}

/// The tenant the saved registration signs in with: its organisation for single-tenant apps and
/// application access, else the audience's generic tenant.
pub(super) fn saved_tenant(plan: &PlanInput, tenant_id: &str) -> String {
    if plan.usage.application() {
        return tenant_id.to_owned();
    }
    match plan.audience {
        Audience::MyOrganization => tenant_id.to_owned(),
        Audience::AnyOrganization => "organizations".to_owned(),
        Audience::AnyOrganizationAndPersonal => "common".to_owned(),
    }
}

/// What the saved registration will be, with the values Microsoft has not given yet.
fn registration_input(
    req: &Request,
    client_id: &str,
    tenant_id: &str,
    secret: Option<(Sensitive<String>, NaiveDate)>,
) -> RegistrationInput {
    let plan = &req.input.plan;
    let (secret, expires) = secret.map_or((None, None), |(s, d)| (Some(s), Some(d)));
    RegistrationInput {
        name: plan_of(plan, &req.info).name.to_owned(),
        client_id: client_id.to_owned(),
        kind: req.info.kind,
        tenant: saved_tenant(plan, tenant_id),
        cloud: plan.cloud,
        authority_url: plan.authority_url.clone(),
        graph_url: plan.graph_url.clone(),
        imap_server: None,
        pop_server: None,
        smtp_server: None,
        usage: plan.usage,
        audience: plan.audience,
        preset: plan.preset,
        redirect_uri: Some(req.info.redirect_uri.clone()),
        secret_label: expires.is_some().then(|| SECRET_NAME.to_owned()),
        secret,
        secret_expires: expires,
    }
}

/// The manual wizard is always the way forward; every failure says so.
const MANUAL: &str = "Or register it yourself in the manual wizard, which keeps what you chose.";

fn with_manual(e: Error) -> Error {
    let fix = e
        .detail()
        .and_then(|d| d.fix.clone())
        .map_or_else(|| MANUAL.to_owned(), |f| format!("{f} {MANUAL}"));
    e.with_fix(fix)
}

fn personal_account() -> Error {
    Error::new(
        ErrorCode::Validation,
        "A personal Microsoft account (Outlook.com, Hotmail) has no directory, so it cannot own app registrations.",
    )
    .with_detail(ErrorDetail {
        field: Some("admin".into()),
        ..ErrorDetail::default()
    })
    .with_fix("Sign in with a work or school account of your organisation. For personal mailboxes only, create a free Microsoft Entra directory first (a free Azure account, or a Microsoft 365 developer tenant), sign in with its administrator, and choose \"Any organisation and personal accounts\".")
}

/// A failed administrator sign-in in the terms of this job.
fn explain_sign_in(e: Error, tenant: &str) -> Error {
    let code = e.detail().and_then(|d| d.aadsts);
    let generic = classify_tenant(tenant).is_some_and(TenantKind::is_generic);
    let detail = e.detail().cloned().unwrap_or_default();
    let replace = |kind: ErrorCode, message: &str, fix: &str| {
        with_manual(Error::new(kind, message).with_detail(ErrorDetail {
            fix: Some(fix.to_owned()),
            ..detail.clone()
        }))
    };
    match code {
        Some(53_003 | 53_000 | 53_001 | 530_032) => replace(
            ErrorCode::IdentityProvider,
            &format!(
                "Your organisation's Conditional Access blocks {GRAPH_CLI_NAME}, the Microsoft client Mail Connections uses to create the app."
            ),
            &format!(
                "Ask your security administrator to allow \"{GRAPH_CLI_NAME}\" ({GRAPH_CLI_CLIENT_ID}) for your account, or run the exported script in Azure Cloud Shell."
            ),
        ),
        Some(700_016 | 7_000_112 | 1_000_031) => replace(
            ErrorCode::IdentityProvider,
            &format!(
                "{GRAPH_CLI_NAME} is not available in this tenant or cloud (disabled by an administrator, or not offered there)."
            ),
            "An administrator can enable it in Enterprise applications, or register the app in the portal.",
        ),
        Some(50_020) if generic => personal_account(),
        Some(500_200) => personal_account(),
        Some(90_094 | 65_001) => replace(
            ErrorCode::NeedsConsent,
            &format!(
                "Your account may not consent to {GRAPH_CLI_NAME} managing app registrations (Application.ReadWrite.All): an administrator must."
            ),
            "Sign in with an administrator (Application Administrator, Cloud Application Administrator or Global Administrator), or ask one to create the app.",
        ),
        _ => with_manual(e),
    }
}

/// Graph refused to create the application.
fn create_refused(f: crate::graph::Failure) -> Error {
    with_manual(graph::explain_step(
        f,
        "creating the app registration",
        "\"Users can register applications\" is off in this organisation (Microsoft Entra ID, User settings) and your account has no role that may (Application Developer, Cloud Application Administrator, Application Administrator). Ask an administrator to create the app or to give you the Application Developer role.",
    ))
}

fn months_later(now: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    now.checked_add_months(Months::new(months)).unwrap_or(now)
}

impl Service {
    fn create_request(&self, input: &CreateAppInput) -> Result<Request> {
        let info = plan_info(&input.plan)?;
        let cloud = cloud_of(&input.plan)?;
        let secret_months = match info.kind {
            ClientKind::Confidential => {
                let m = input.secret_months.unwrap_or(DEFAULT_SECRET_MONTHS);
                if !(1..=MAX_SECRET_MONTHS).contains(&m) {
                    return Err(Error::invalid(
                        "secret_months",
                        format!("Choose a secret lifetime of 1 to {MAX_SECRET_MONTHS} months."),
                    ));
                }
                Some(m)
            }
            ClientKind::Public => None,
        };
        let tenant = input
            .tenant
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_SIGN_IN_TENANT)
            .to_ascii_lowercase();
        match classify_tenant(&tenant) {
            Some(TenantKind::Consumers) => return Err(personal_account()),
            None => {
                return Err(Error::invalid(
                    "tenant",
                    "Sign in to organizations, your Directory (tenant) ID or your domain.",
                ));
            }
            Some(_) => {}
        }
        let plan = plan_of(&input.plan, &info);
        let body = plan.application_body();
        let consent = plan.consent();
        let request = Request {
            input: input.clone(),
            cloud: cloud.clone(),
            tenant,
            scopes: Vec::new(),
            secret_months,
            body,
            consent,
            info: info.clone(),
        };
        // Everything the saved registration needs is checked before anything is created.
        let today = self.clock.now().date_naive();
        let placeholder = request.input.secret_months.map_or(today, |m| {
            today
                .checked_add_months(Months::new(m.min(MAX_SECRET_MONTHS)))
                .unwrap_or(today)
        });
        let check = registration_input(
            &request,
            "00000000-0000-4000-8000-000000000000",
            "00000000-0000-4000-8000-000000000001",
            (info.kind == ClientKind::Confidential)
                .then(|| (Sensitive::new("placeholder~Value".to_owned()), placeholder)),
        );
        if let Some(e) = validate(&check, today).0.into_error() {
            return Err(e);
        }
        let mut scopes = vec!["openid".to_owned(), "profile".to_owned()];
        let res = cloud.graph_resource.trim_end_matches('/');
        scopes.push(format!("{res}/Application.ReadWrite.All"));
        if input.grant_consent {
            if request.consent.iter().any(|c| !c.scopes.is_empty()) {
                scopes.push(format!("{res}/DelegatedPermissionGrant.ReadWrite.All"));
            }
            if request.consent.iter().any(|c| !c.roles.is_empty()) {
                scopes.push(format!("{res}/AppRoleAssignment.ReadWrite.All"));
            }
        }
        Ok(Request { scopes, ..request })
    }

    /// What "Create it for me" will create and ask for, shown before the administrator signs in.
    pub fn create_app_plan(&self, input: &CreateAppInput) -> Result<CreateAppPlan> {
        let req = self.create_request(input)?;
        let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("JSON serializes");
        let mut requests = vec![
            PlannedRequest {
                method: "POST".into(),
                path: "/v1.0/applications".into(),
                body: pretty(&req.body),
                purpose: "Create the app registration as planned.".into(),
            },
            PlannedRequest {
                method: "POST".into(),
                path: "/v1.0/servicePrincipals".into(),
                body: pretty(&json!({ "appId": "<the new Application (client) ID>" })),
                purpose: "Add the app to your organisation (its enterprise application).".into(),
            },
        ];
        if let Some(months) = req.secret_months {
            requests.push(PlannedRequest {
                method: "POST".into(),
                path: "/v1.0/applications/<the new Object ID>/addPassword".into(),
                body: pretty(&json!({ "passwordCredential": {
                    "displayName": SECRET_NAME,
                    "endDateTime": months_later(self.clock.now(), months).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                }})),
                purpose: format!("Create a client secret for {months} months; its value goes straight to the keychain."),
            });
        }
        if input.grant_consent {
            for c in &req.consent {
                requests.push(PlannedRequest {
                    method: "GET".into(),
                    path: format!("/v1.0/servicePrincipals(appId='{}')", c.resource_app_id),
                    body: String::new(),
                    purpose:
                        "Find Microsoft Graph in your organisation (the permissions' resource)."
                            .into(),
                });
                if !c.scopes.is_empty() {
                    requests.push(PlannedRequest {
                        method: "POST".into(),
                        path: "/v1.0/oauth2PermissionGrants".into(),
                        body: pretty(&graph::delegated_grant_body("<the new service principal>", "<Microsoft Graph's service principal>", &c.scopes)),
                        purpose: "Grant admin consent to the delegated permissions for everyone in the organisation.".into(),
                    });
                }
                for role in &c.roles {
                    requests.push(PlannedRequest {
                        method: "POST".into(),
                        path: "/v1.0/servicePrincipals/<Microsoft Graph's service principal>/appRoleAssignedTo".into(),
                        body: pretty(&graph::role_assignment_body("<the new service principal>", "<Microsoft Graph's service principal>", &role.id)),
                        purpose: format!("Grant the application permission {}.", role.name),
                    });
                }
            }
        }
        Ok(CreateAppPlan {
            plan: req.info,
            sign_in_client_id: GRAPH_CLI_CLIENT_ID.into(),
            sign_in_client_name: GRAPH_CLI_NAME.into(),
            sign_in_tenant: req.tenant,
            admin_scopes: req.scopes,
            grant_consent: input.grant_consent,
            secret_months: req.secret_months,
            requests,
        })
    }

    /// Starts the administrator's sign-in: in the browser (loopback redirect), or with a code
    /// (`device`).
    pub async fn start_create_app(
        &self,
        input: &CreateAppInput,
        device: bool,
        timeout: Option<Duration>,
    ) -> Result<AdminSignIn> {
        let req = self.create_request(input)?;
        // Saving needs a name not taken here; found out now, before anything exists in Entra.
        let name = plan_of(&req.input.plan, &req.info).name.to_owned();
        if self
            .registrations()
            .await?
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(&name))
        {
            return Err(Error::invalid(
                "name",
                format!("An app named \"{name}\" is already saved here: choose another name."),
            ));
        }
        if device {
            let pending = device_code::begin(
                &req.cloud,
                &req.tenant,
                GRAPH_CLI_CLIENT_ID,
                &req.scopes,
                &self.http,
            )
            .await
            .map_err(|e| explain_sign_in(e, &req.tenant))?;
            let code = pending.code.clone();
            let lifetime = (code.expires_at - Utc::now()).to_std().unwrap_or_default();
            let attempt = self
                .admin_sign_ins
                .add((req, Flow::Device(pending)), lifetime);
            return Ok(AdminSignIn {
                attempt,
                url: None,
                code: Some(code),
                opened: false,
            });
        }
        let sign_in = SignIn {
            cloud: req.cloud.clone(),
            tenant: req.tenant.clone(),
            client_id: GRAPH_CLI_CLIENT_ID.into(),
            secret: None,
            registered_redirect_uri: GRAPH_CLI_REDIRECT_URI.into(),
            scopes: req.scopes.clone(),
            prompt: None,
            login_hint: req.input.login_hint.clone(),
        };
        // The CLI's loopback redirect only: the Graph client knows no mailconn:// link.
        let pending = auth_code::begin(sign_in, None).await?;
        let url = pending.url().to_owned();
        let timeout = timeout.unwrap_or(auth_code::DEFAULT_TIMEOUT);
        let attempt = self
            .admin_sign_ins
            .add((req, Flow::Browser(pending, timeout)), timeout);
        Ok(AdminSignIn {
            attempt,
            url: Some(url),
            code: None,
            opened: false,
        })
    }

    /// Stops an administrator sign-in that is waiting; nothing happens for an unknown one.
    pub fn cancel_create_app(&self, attempt: &str) {
        self.admin_sign_ins.cancel(attempt);
    }

    /// Waits for the administrator, then creates, saves and tests the app, reporting each step.
    /// Nothing is created before the sign-in succeeded; a failure says what exists already.
    pub async fn finish_create_app(
        &self,
        attempt: &str,
        progress: &(dyn Fn(CreateProgress) + Send + Sync),
    ) -> Result<CreatedApp> {
        let Some(((req, flow), cancel)) = self.admin_sign_ins.take(attempt) else {
            return Err(Error::not_found("That sign-in is no longer running."));
        };
        let signed_in = match flow {
            Flow::Browser(pending, timeout) => pending.complete(&self.http, timeout, &cancel).await,
            Flow::Device(pending) => match pending.complete(&self.http, &cancel).await {
                Ok(tokens) => admin_identity(&tokens).map(|id| (tokens, id)),
                Err(e) => Err(e),
            },
        };
        self.admin_sign_ins.end(attempt);
        let (tokens, admin) = signed_in.map_err(|e| explain_sign_in(e, &req.tenant))?;
        if admin.account_type == AccountType::Personal || admin.tenant_id == CONSUMERS_TENANT_ID {
            return Err(personal_account());
        }
        let say = |step, message: String| progress(CreateProgress { step, message });
        say(
            CreateStep::SignedIn,
            format!(
                "Signed in as {} (tenant {}).",
                admin.address, admin.tenant_id
            ),
        );
        let token = tokens.access_token;
        let created = self.create_objects(&req, &token, &admin, &say).await?;
        drop(token);
        tracing::info!(client_id = %created.client_id, "app registration created for the administrator");
        Ok(created)
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one step after the other, each saying what it did; split, the order would be harder to follow"
    )]
    async fn create_objects(
        &self,
        req: &Request,
        token: &Sensitive<String>,
        admin: &Identity,
        say: &(dyn Fn(CreateStep, String) + Send + Sync),
    ) -> Result<CreatedApp> {
        let graph_base = req.cloud.graph.as_str();
        let app = graph::create_application(&self.http, graph_base, token, &req.body)
            .await
            .map_err(create_refused)?;
        say(
            CreateStep::ApplicationCreated,
            format!(
                "Created the app registration: Application (client) ID {}, Object ID {}.",
                app.app_id, app.id
            ),
        );
        let exists = |e: Error| {
            let fix = format!(
                "The app registration {} exists already: finish it in the portal ({}), or delete it there and try again.",
                app.app_id,
                req.cloud.portal_app_url(&app.app_id, "Overview")
            );
            with_manual(e.with_fix(fix))
        };
        let sp = graph::create_service_principal(&self.http, graph_base, token, &app.app_id)
            .await
            .map_err(|f| {
                exists(graph::explain_step(
                    f,
                    "adding the app to your organisation (its service principal)",
                    "Your account may create app registrations but not service principals; an Application Administrator can.",
                ))
            })?;
        say(
            CreateStep::ServicePrincipalCreated,
            format!(
                "Added it to your organisation (service principal {}).",
                sp.id
            ),
        );
        let secret = match req.secret_months {
            Some(months) => {
                let (value, created) = self
                    .create_secret(graph_base, token, &app.id, months)
                    .await
                    .map_err(exists)?;
                say(
                    CreateStep::SecretCreated,
                    match created.capped_to_days {
                        Some(days) => format!(
                            "Created a client secret ending {}: your organisation's app management policy does not allow {months} months, and {days} days is the longest it accepted.",
                            created.expires
                        ),
                        None => format!("Created a client secret ending {}.", created.expires),
                    },
                );
                Some((value, created))
            }
            None => None,
        };
        let consent_url =
            req.cloud
                .admin_consent_url(&admin.tenant_id, &app.app_id, &req.info.redirect_uri);
        let consent = if req.input.grant_consent {
            self.grant_consent(req, graph_base, token, &sp.id, consent_url)
                .await
        } else {
            ConsentOutcome {
                needed: req.info.admin_consent,
                granted: false,
                delegated: Vec::new(),
                application: Vec::new(),
                message: if req.info.admin_consent {
                    "Admin consent was not granted here: hand the admin consent link to an administrator.".into()
                } else {
                    "No admin consent is needed: each person consents when they sign in.".into()
                },
                admin_consent_url: req.info.admin_consent.then_some(consent_url),
                error: None,
            }
        };
        say(
            if consent.granted {
                CreateStep::ConsentGranted
            } else {
                CreateStep::ConsentNotGranted
            },
            consent.message.clone(),
        );
        let (stored, secret_info) = match secret {
            Some((value, info)) => (Some((value, info.expires)), Some(info)),
            None => (None, None),
        };
        let input = registration_input(req, &app.app_id, &admin.tenant_id, stored);
        let saved = self.add_registration(input).await.map_err(exists)?;
        self.reminders_changed().await;
        say(
            CreateStep::Saved,
            format!(
                "Saved as \"{}\"{}.",
                saved.registration.name,
                if secret_info.is_some() {
                    ", its secret in the keychain"
                } else {
                    ""
                }
            ),
        );
        let (test, waited) = self.test_new_app(&saved.registration, say).await?;
        say(CreateStep::Tested, test.summary.clone());
        let registration = self.registration(&saved.registration.id).await?;
        Ok(CreatedApp {
            portal_url: req.cloud.portal_app_url(&app.app_id, "Overview"),
            registration,
            object_id: app.id,
            client_id: app.app_id,
            service_principal_id: sp.id,
            tenant_id: admin.tenant_id.clone(),
            admin: admin.address.clone(),
            secret: secret_info,
            consent,
            test,
            waited_seconds: u32::try_from(waited.as_secs()).unwrap_or(u32::MAX),
        })
    }

    /// `addPassword` for `months`; when the tenant's policy refuses that lifetime, the longest of
    /// [`FALLBACK_DAYS`] it accepts.
    async fn create_secret(
        &self,
        graph_base: &str,
        token: &Sensitive<String>,
        object_id: &str,
        months: u32,
    ) -> Result<(Sensitive<String>, CreatedSecret)> {
        let now = self.clock.now();
        let wanted = months_later(now, months);
        let wanted_days = u32::try_from((wanted - now).num_days()).unwrap_or(u32::MAX);
        let tries = std::iter::once((wanted, None)).chain(
            FALLBACK_DAYS
                .iter()
                .filter(|d| **d < wanted_days)
                .map(|d| (now + chrono::Duration::days(i64::from(*d)), Some(*d))),
        );
        let mut refusal = None;
        for (end, capped) in tries {
            match graph::add_password(&self.http, graph_base, token, object_id, SECRET_NAME, end)
                .await
            {
                Ok(new) => {
                    let value = new.secret_text.ok_or_else(|| {
                        Error::new(
                            ErrorCode::IdentityProvider,
                            "Microsoft Graph created the secret but sent no value.",
                        )
                    })?;
                    let expires = new.end_date_time.unwrap_or(end).date_naive();
                    let hint = crate::registration::secret_hint(&value);
                    tracing::info!(key_id = %new.key_id, %expires, ?capped, "client secret created");
                    return Ok((
                        value,
                        CreatedSecret {
                            hint,
                            expires,
                            requested_months: months,
                            capped_to_days: capped,
                        },
                    ));
                }
                Err(f) if graph::is_lifetime_refusal(&f) => {
                    tracing::info!(
                        ?capped,
                        "the app management policy refused the secret's lifetime"
                    );
                    refusal = Some(f);
                }
                Err(f) => {
                    return Err(graph::explain_step(
                        f,
                        "creating the client secret",
                        "Your account may not add secrets to this app; an Application Administrator can.",
                    ));
                }
            }
        }
        Err(graph::explain_step(
            refusal.expect("tried at least once"),
            "creating the client secret",
            "",
        )
        .with_fix("Your organisation's app management policy refuses every secret lifetime down to one day (it may block client secrets altogether). Ask an administrator to exempt the app, or use a desktop (public) app."))
    }

    async fn grant_consent(
        &self,
        req: &Request,
        graph_base: &str,
        token: &Sensitive<String>,
        client_sp: &str,
        consent_url: String,
    ) -> ConsentOutcome {
        let mut outcome = ConsentOutcome {
            needed: req.info.admin_consent,
            granted: false,
            delegated: Vec::new(),
            application: Vec::new(),
            message: String::new(),
            admin_consent_url: Some(consent_url),
            error: None,
        };
        let result: Result<()> = async {
            for c in &req.consent {
                let resource = graph::service_principal_of(&self.http, graph_base, token, &c.resource_app_id)
                    .await
                    .map_err(|f| graph::explain_step(f, "looking up Microsoft Graph in your organisation", "Your account may not read service principals."))?;
                if !c.scopes.is_empty() {
                    let body = graph::delegated_grant_body(client_sp, &resource.id, &c.scopes);
                    graph::grant_delegated(&self.http, graph_base, token, &body).await.map_err(|f| {
                        graph::explain_step(f, "granting admin consent to the delegated permissions", "Granting consent for everyone needs an administrator role: Cloud Application Administrator, Application Administrator or Privileged Role Administrator (Global Administrator for every permission).")
                    })?;
                    outcome.delegated.extend(c.scopes.iter().cloned());
                }
                for role in &c.roles {
                    let body = graph::role_assignment_body(client_sp, &resource.id, &role.id);
                    graph::assign_app_role(&self.http, graph_base, token, &resource.id, &body).await.map_err(|f| {
                        graph::explain_step(f, &format!("granting the application permission {}", role.name), "Granting application permissions needs the Privileged Role Administrator or Global Administrator role.")
                    })?;
                    outcome.application.push(role.name.clone());
                }
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                outcome.granted = true;
                outcome.message = "Admin consent granted for the whole organisation.".into();
            }
            Err(e) => {
                outcome.message = format!(
                    "The app was created, but admin consent was not granted: {} Hand the admin consent link to an administrator.",
                    e.message()
                );
                outcome.error = Some(e.body());
            }
        }
        outcome
    }

    /// Tests the saved app like "Test the registration" (and, for desktop apps, asks for a
    /// device code to prove the client ID), trying again with backoff while Microsoft does not
    /// know the new app yet, for up to [`READY_WAIT`].
    async fn test_new_app(
        &self,
        reg: &Registration,
        say: &(dyn Fn(CreateStep, String) + Send + Sync),
    ) -> Result<(ProbeReport, Duration)> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_secs(1);
        say(CreateStep::Testing, "Testing the new app.".into());
        loop {
            let report = self.probe_new_app(reg).await?;
            let not_yet = report.steps.iter().any(|s| {
                s.status == StepStatus::Failed
                    && s.error
                        .as_ref()
                        .and_then(|e| e.detail.as_ref())
                        .and_then(|d| d.aadsts)
                        .is_some_and(|c| NOT_YET.contains(&c))
            });
            let waited = started.elapsed();
            if !not_yet || waited + pause > READY_WAIT {
                return Ok((report, waited));
            }
            say(
                CreateStep::WaitingForMicrosoft,
                format!(
                    "Waiting for Microsoft: a new app takes a while to be known everywhere (AADSTS700016 so far). Trying again in {} s ({} s so far, at most {} s).",
                    pause.as_secs(),
                    waited.as_secs(),
                    READY_WAIT.as_secs()
                ),
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(15));
        }
    }

    async fn probe_new_app(&self, reg: &Registration) -> Result<ProbeReport> {
        let mut report = self.probe_registration(&reg.id).await?;
        if reg.kind == ClientKind::Public {
            let step = match device_code::begin(
                &reg.cloud()?,
                &reg.tenant,
                &reg.client_id,
                &["openid".to_owned(), "profile".to_owned()],
                &self.http,
            )
            .await
            {
                Ok(_) => ProbeStep {
                    name: "Client ID".into(),
                    status: StepStatus::Passed,
                    message: "Microsoft knows the app: it offered a sign-in code for it.".into(),
                    error: None,
                },
                Err(e) => ProbeStep {
                    name: "Client ID".into(),
                    status: StepStatus::Failed,
                    message: e.message().to_owned(),
                    error: Some(e.body()),
                },
            };
            if step.status == StepStatus::Failed {
                report.ok = false;
                report.summary.clone_from(&step.message);
            }
            report.steps.push(step);
        }
        Ok(report)
    }
}

/// Who signed in with a device code (no nonce in that flow).
fn admin_identity(tokens: &Tokens) -> Result<Identity> {
    let id_token = tokens.id_token.as_ref().ok_or_else(|| {
        Error::new(
            ErrorCode::IdentityProvider,
            "The sign-in returned no id_token, so the account is unknown.",
        )
    })?;
    from_id_token(id_token, GRAPH_CLI_CLIENT_ID, None)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cloud::CloudId;
    use crate::keychain::MemoryKeychain;
    use crate::paths::DataDir;
    use crate::registration::Usage;
    use crate::scopes::Preset;

    fn service() -> (tempfile::TempDir, Service) {
        let tmp = tempfile::tempdir().unwrap();
        let s = Service::open(
            DataDir::open(tmp.path().join("data")).unwrap(),
            Arc::new(MemoryKeychain::new()),
        )
        .unwrap();
        (tmp, s)
    }

    fn input(kind: ClientKind, usage: Usage, audience: Audience) -> CreateAppInput {
        CreateAppInput {
            plan: PlanInput {
                name: "Contoso mail".into(),
                kind,
                usage,
                audience,
                preset: Preset::Read,
                cloud: CloudId::Global,
                authority_url: None,
                graph_url: None,
                redirect_uri: None,
            },
            grant_consent: false,
            secret_months: None,
            tenant: None,
            login_hint: None,
        }
    }

    #[tokio::test]
    async fn the_plan_shows_the_manifest_as_the_body_and_asks_only_for_what_it_needs() {
        let (_t, s) = service();
        let plan = s
            .create_app_plan(&input(
                ClientKind::Public,
                Usage::Delegated,
                Audience::MyOrganization,
            ))
            .unwrap();
        assert_eq!(plan.requests[0].path, "/v1.0/applications");
        assert_eq!(
            plan.requests[0].body, plan.plan.manifest,
            "the Graph body is the exported manifest"
        );
        assert_eq!(
            plan.admin_scopes,
            vec![
                "openid",
                "profile",
                "https://graph.microsoft.com/Application.ReadWrite.All"
            ]
        );
        assert_eq!(plan.requests.len(), 2, "no secret for a desktop app");
        assert_eq!(plan.secret_months, None);
        assert_eq!(plan.sign_in_tenant, "organizations");
        assert_eq!(plan.sign_in_client_id, GRAPH_CLI_CLIENT_ID);

        let mut both = input(ClientKind::Public, Usage::Both, Audience::AnyOrganization);
        both.grant_consent = true;
        both.secret_months = Some(6);
        let plan = s.create_app_plan(&both).unwrap();
        assert_eq!(plan.plan.kind, ClientKind::Confidential);
        assert!(
            plan.admin_scopes
                .contains(&"https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All".into())
        );
        assert!(plan.admin_scopes.contains(
            &"https://graph.microsoft.com/DelegatedPermissionGrant.ReadWrite.All".into()
        ));
        let paths: Vec<_> = plan.requests.iter().map(|r| r.path.as_str()).collect();
        assert!(paths.contains(&"/v1.0/oauth2PermissionGrants"), "{paths:?}");
        assert!(
            paths
                .iter()
                .filter(|p| p.ends_with("/appRoleAssignedTo"))
                .count()
                == 3,
            "one assignment per application permission: {paths:?}"
        );
        let secret = plan
            .requests
            .iter()
            .find(|r| r.path.ends_with("/addPassword"))
            .unwrap();
        assert!(secret.purpose.contains("6 months"));
        let body: Value = serde_json::from_str(&plan.requests[0].body).unwrap();
        assert_eq!(body["web"]["redirectUris"][0], "http://localhost/callback");
    }

    #[tokio::test]
    async fn choices_that_could_not_be_saved_are_refused_before_sign_in() {
        let (_t, s) = service();
        let mut i = input(
            ClientKind::Public,
            Usage::Delegated,
            Audience::AnyOrganizationAndPersonal,
        );
        i.plan.cloud = CloudId::GccHigh;
        let e = s.create_app_plan(&i).unwrap_err();
        assert_eq!(e.field(), Some("audience"), "{e:?}");

        let mut i = input(
            ClientKind::Confidential,
            Usage::Delegated,
            Audience::MyOrganization,
        );
        i.secret_months = Some(36);
        let e = s.create_app_plan(&i).unwrap_err();
        assert_eq!(e.field(), Some("secret_months"));

        let mut i = input(
            ClientKind::Public,
            Usage::Delegated,
            Audience::MyOrganization,
        );
        i.tenant = Some("consumers".into());
        let e = s.create_app_plan(&i).unwrap_err();
        assert!(e.message().contains("personal Microsoft account"), "{e:?}");
        assert!(
            e.detail()
                .unwrap()
                .fix
                .as_deref()
                .unwrap()
                .contains("Microsoft 365 developer tenant")
        );
    }

    #[test]
    fn sign_in_failures_are_explained_with_the_manual_wizard_as_the_way_on() {
        let with_code = |code: u32| {
            Error::new(ErrorCode::IdentityProvider, "AADSTS").with_detail(ErrorDetail {
                aadsts: Some(code),
                ..ErrorDetail::default()
            })
        };
        let e = explain_sign_in(with_code(53_003), "organizations");
        assert!(e.message().contains("Conditional Access"), "{e:?}");
        let fix = e.detail().unwrap().fix.clone().unwrap();
        assert!(
            fix.contains(GRAPH_CLI_CLIENT_ID) && fix.contains("manual wizard"),
            "{fix}"
        );
        assert_eq!(e.detail().unwrap().aadsts, Some(53_003));

        let e = explain_sign_in(with_code(50_020), "organizations");
        assert!(e.message().contains("personal Microsoft account"));
        let e = explain_sign_in(with_code(50_020), "contoso.test");
        assert!(
            !e.message().contains("personal"),
            "a guest elsewhere: {e:?}"
        );
        let e = explain_sign_in(with_code(700_016), "organizations");
        assert!(e.message().contains("not available"));
        let e = explain_sign_in(with_code(90_094), "organizations");
        assert!(e.message().contains("may not consent"));
    }

    #[test]
    fn the_saved_tenant_follows_audience_and_usage() {
        let mut p = input(
            ClientKind::Public,
            Usage::Delegated,
            Audience::AnyOrganizationAndPersonal,
        )
        .plan;
        assert_eq!(saved_tenant(&p, "t1"), "common");
        p.audience = Audience::AnyOrganization;
        assert_eq!(saved_tenant(&p, "t1"), "organizations");
        p.usage = Usage::Both;
        assert_eq!(saved_tenant(&p, "t1"), "t1");
        p.usage = Usage::Delegated;
        p.audience = Audience::MyOrganization;
        assert_eq!(saved_tenant(&p, "t1"), "t1");
    }
}
