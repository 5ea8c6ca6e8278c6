//! Creating an app registration with an administrator's delegated token: `POST /applications`,
//! `POST /servicePrincipals`, `POST /applications/{id}/addPassword`, and admin consent
//! (`POST /oauth2PermissionGrants` for delegated permissions, `POST
//! /servicePrincipals/{resource}/appRoleAssignedTo` for application permissions). The request
//! bodies of the application come from the wizard's plan (`registration::export`); this module
//! only sends them and reads the answers. Every refusal is a [`Failure`] with Graph's code; the
//! caller explains it in terms of the step.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{Failure, Problem, get_json, post_json};
use crate::Sensitive;
use crate::error::{Error, ErrorCode};

/// Graph's code for an `addPassword` whose end date the tenant's app management policy refuses.
pub const LIFETIME_POLICY_CODE: &str = "CredentialInvalidLifetimeAsPerAppPolicy";

/// A new service principal can be refused for a moment while the application object replicates
/// (the appId "does not reference a valid application object"): tried this often, 2 s apart.
const SP_ATTEMPTS: u32 = 4;
const SP_PAUSE: Duration = Duration::from_secs(2);

/// The created application object: its object ID and its Application (client) ID.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApplication {
    pub id: String,
    pub app_id: String,
}

/// An app role of a resource's service principal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    pub id: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// A service principal as far as consent needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
}

/// What `addPassword` returns: the new secret's value, once.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSecret {
    pub key_id: String,
    pub end_date_time: Option<DateTime<Utc>>,
    pub secret_text: Option<Sensitive<String>>,
}

fn url(graph_base: &str, path: &str) -> Result<Url, Failure> {
    Url::parse(&format!("{}/v1.0/{path}", graph_base.trim_end_matches('/'))).map_err(|e| {
        Failure::new(
            Problem::Other,
            Error::invalid("graph_url", format!("The Graph address is not a URL: {e}")),
        )
    })
}

/// `POST /applications` with the plan's body.
pub async fn create_application(
    http: &reqwest::Client,
    graph_base: &str,
    token: &Sensitive<String>,
    body: &Value,
) -> Result<CreatedApplication, Failure> {
    post_json(
        http,
        &url(graph_base, "applications")?,
        token,
        body,
        &CancellationToken::new(),
    )
    .await
}

/// `POST /servicePrincipals {appId}`: the app's presence in its own tenant (needed for tokens and
/// consent). Retried briefly while the new application object replicates.
pub async fn create_service_principal(
    http: &reqwest::Client,
    graph_base: &str,
    token: &Sensitive<String>,
    app_id: &str,
) -> Result<ServicePrincipal, Failure> {
    let target = url(graph_base, "servicePrincipals")?;
    let body = json!({ "appId": app_id });
    let mut attempt = 0;
    loop {
        attempt += 1;
        match post_json(http, &target, token, &body, &CancellationToken::new()).await {
            Err(f)
                if attempt < SP_ATTEMPTS
                    && matches!(f.status.map(|s| s.as_u16()), Some(400 | 404)) =>
            {
                tracing::info!(attempt, "the new application is not visible yet; waiting");
                tokio::time::sleep(SP_PAUSE).await;
            }
            other => return other,
        }
    }
}

/// `GET /servicePrincipals(appId='..')`: a resource's service principal in the tenant (Microsoft
/// Graph's, `00000003-0000-0000-c000-000000000000`, for every permission the presets use).
pub async fn service_principal_of(
    http: &reqwest::Client,
    graph_base: &str,
    token: &Sensitive<String>,
    app_id: &str,
) -> Result<ServicePrincipal, Failure> {
    let mut target = url(graph_base, &format!("servicePrincipals(appId='{app_id}')"))?;
    target.set_query(Some("$select=id,appRoles"));
    get_json(http, &target, token, &CancellationToken::new()).await
}

/// `POST /applications/{object id}/addPassword` ending at `end`.
pub async fn add_password(
    http: &reqwest::Client,
    graph_base: &str,
    token: &Sensitive<String>,
    object_id: &str,
    display_name: &str,
    end: DateTime<Utc>,
) -> Result<NewSecret, Failure> {
    let body = json!({
        "passwordCredential": {
            "displayName": display_name,
            "endDateTime": end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    });
    post_json(
        http,
        &url(graph_base, &format!("applications/{object_id}/addPassword"))?,
        token,
        &body,
        &CancellationToken::new(),
    )
    .await
}

/// The body of an organisation-wide delegated grant.
pub fn delegated_grant_body(client_sp: &str, resource_sp: &str, scopes: &[String]) -> Value {
    json!({
        "clientId": client_sp,
        "consentType": "AllPrincipals",
        "resourceId": resource_sp,
        "scope": scopes.join(" "),
    })
}

/// The body of one app role assigned to the app's service principal.
pub fn role_assignment_body(principal: &str, resource_sp: &str, app_role: &str) -> Value {
    json!({ "principalId": principal, "resourceId": resource_sp, "appRoleId": app_role })
}

/// `POST /oauth2PermissionGrants`: admin consent to delegated permissions for everyone.
pub async fn grant_delegated(
    http: &reqwest::Client,
    graph_base: &str,
    token: &Sensitive<String>,
    body: &Value,
) -> Result<(), Failure> {
    post_json::<Value>(
        http,
        &url(graph_base, "oauth2PermissionGrants")?,
        token,
        body,
        &CancellationToken::new(),
    )
    .await
    .map(drop)
}

/// `POST /servicePrincipals/{resource}/appRoleAssignedTo`: admin consent to one application
/// permission.
pub async fn assign_app_role(
    http: &reqwest::Client,
    graph_base: &str,
    token: &Sensitive<String>,
    resource_sp: &str,
    body: &Value,
) -> Result<(), Failure> {
    post_json::<Value>(
        http,
        &url(
            graph_base,
            &format!("servicePrincipals/{resource_sp}/appRoleAssignedTo"),
        )?,
        token,
        body,
        &CancellationToken::new(),
    )
    .await
    .map(drop)
}

/// Graph's code of a failure, if it answered with one.
pub fn graph_code(f: &Failure) -> Option<&str> {
    f.error.detail().and_then(|d| d.graph_error.as_deref())
}

/// Whether `addPassword` was refused by the tenant's app management policy (the secret's
/// lifetime is longer than it allows).
pub fn is_lifetime_refusal(f: &Failure) -> bool {
    f.status.map(|s| s.as_u16()) == Some(400) && graph_code(f) == Some(LIFETIME_POLICY_CODE)
}

/// Whether Graph refused because the signed-in account lacks the right (403).
pub fn is_denied(f: &Failure) -> bool {
    f.status.map(|s| s.as_u16()) == Some(403)
}

/// A Graph failure of one step, in words: what was being done and what to do about it. Graph's
/// code and request IDs stay in the detail.
pub fn explain_step(f: Failure, doing: &str, denied_fix: &str) -> Error {
    let Some(status) = f.status else {
        return f.error;
    };
    let detail = f.error.detail().cloned().unwrap_or_default();
    let code = detail.graph_error.clone().unwrap_or_default();
    let said = f
        .error
        .message()
        .strip_prefix("Microsoft Graph answered: ")
        .map(str::to_owned);
    let (kind, message, fix) = match status.as_u16() {
        403 => (
            ErrorCode::NeedsConsent,
            format!("Microsoft Graph refused {doing}: your account may not do this ({code})."),
            denied_fix.to_owned(),
        ),
        429 | 500..=599 => (
            ErrorCode::Network,
            format!("Microsoft Graph is unavailable (HTTP {status}) while {doing}."),
            "Try again in a few minutes.".to_owned(),
        ),
        _ => (
            ErrorCode::IdentityProvider,
            match said {
                Some(said) => format!("Microsoft Graph refused {doing} ({code}): {said}"),
                None => format!("Microsoft Graph refused {doing} (HTTP {status}, {code})."),
            },
            "Quote the request ID below if you ask Microsoft support, or create the app in the manual wizard.".to_owned(),
        ),
    };
    Error::new(kind, message).with_detail(crate::error::ErrorDetail {
        fix: Some(fix),
        ..detail
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn failure(status: u16, code: &str) -> Failure {
        let body = super::super::GraphError::parse(
            json!({"error": {"code": code, "message": "Credential lifetime exceeds the max value allowed as per assigned policy 'p1'.", "innerError": {"request-id": "r1"}}})
                .to_string()
                .as_bytes(),
        );
        super::super::explain(StatusCode::from_u16(status).unwrap(), &body, "c1")
    }

    #[test]
    fn the_lifetime_policy_refusal_is_known_by_its_code() {
        assert!(is_lifetime_refusal(&failure(400, LIFETIME_POLICY_CODE)));
        assert!(!is_lifetime_refusal(&failure(400, "Request_BadRequest")));
        assert!(!is_lifetime_refusal(&failure(403, LIFETIME_POLICY_CODE)));
        assert!(is_denied(&failure(403, "Authorization_RequestDenied")));
    }

    #[test]
    fn a_step_failure_names_the_step_and_keeps_the_request_id() {
        let e = explain_step(
            failure(403, "Authorization_RequestDenied"),
            "creating the app",
            "Ask an administrator.",
        );
        assert_eq!(
            e.message(),
            "Microsoft Graph refused creating the app: your account may not do this (Authorization_RequestDenied)."
        );
        assert_eq!(e.detail().unwrap().request_id.as_deref(), Some("r1"));
        assert_eq!(
            e.detail().unwrap().fix.as_deref(),
            Some("Ask an administrator.")
        );
        let e = explain_step(failure(400, "Request_BadRequest"), "creating the app", "x");
        assert!(e.message().starts_with(
            "Microsoft Graph refused creating the app (Request_BadRequest): Credential lifetime"
        ));
    }

    #[test]
    fn consent_bodies_have_graphs_shape() {
        let b = delegated_grant_body("c", "r", &["openid".into(), "Mail.Read".into()]);
        assert_eq!(
            b,
            json!({"clientId": "c", "consentType": "AllPrincipals", "resourceId": "r", "scope": "openid Mail.Read"})
        );
        assert_eq!(
            role_assignment_body("p", "r", "a"),
            json!({"principalId": "p", "resourceId": "r", "appRoleId": "a"})
        );
    }
}
