//! "Test the registration": proves what can be proven without a user. Every kind: the authority
//! and tenant answer (discovery document). Confidential apps with a specific tenant: a
//! client-credentials token request proves client ID, tenant and secret together.

use serde::Serialize;
use ts_rs::TS;

use super::{ClientKind, Registration, classify_tenant};
use crate::error::{ErrorBody, Result};
use crate::{Error, ErrorCode, Sensitive};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Passed,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ProbeStep {
    pub name: String,
    pub status: StepStatus,
    pub message: String,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ProbeReport {
    pub ok: bool,
    pub summary: String,
    pub steps: Vec<ProbeStep>,
}

fn passed(name: &str, message: impl Into<String>) -> ProbeStep {
    ProbeStep {
        name: name.into(),
        status: StepStatus::Passed,
        message: message.into(),
        error: None,
    }
}

fn failed(name: &str, e: &Error) -> ProbeStep {
    ProbeStep {
        name: name.into(),
        status: StepStatus::Failed,
        message: e.message().into(),
        error: Some(e.body()),
    }
}

const DISCOVERY: &str = "Tenant and cloud";
const CREDENTIALS: &str = "Client ID and secret";

pub async fn run(
    reg: &Registration,
    secret: Option<&Sensitive<String>>,
    http: &reqwest::Client,
) -> Result<ProbeReport> {
    let cloud = reg.cloud()?;
    let mut steps = Vec::new();

    match discovery(http, &cloud.discovery_url(&reg.tenant)).await {
        Ok(()) => steps.push(passed(
            DISCOVERY,
            format!(
                "The tenant '{}' answers at {}.",
                reg.tenant, cloud.authority
            ),
        )),
        Err(e) => steps.push(failed(DISCOVERY, &e)),
    }

    let generic_tenant = classify_tenant(&reg.tenant).is_none_or(super::TenantKind::is_generic);
    match (reg.kind, secret) {
        (ClientKind::Public, _) => steps.push(ProbeStep {
            name: CREDENTIALS.into(),
            status: StepStatus::Skipped,
            message: "Public apps have no secret; connect a mailbox to finish the test.".into(),
            error: None,
        }),
        (ClientKind::Confidential, None) => {
            steps.push(failed(CREDENTIALS, &Error::invalid("secret", "No client secret is stored for this app.").with_fix("Edit the app and paste the secret's Value.")));
        }
        (ClientKind::Confidential, Some(_)) if generic_tenant => steps.push(ProbeStep {
            name: CREDENTIALS.into(),
            status: StepStatus::Skipped,
            message: format!("The secret can be tested only against a specific tenant, not '{}'. Connect a mailbox to test it.", reg.tenant),
            error: None,
        }),
        (ClientKind::Confidential, Some(secret)) => {
            match app_token_request(&cloud, &reg.tenant, &reg.client_id, secret, http).await {
                Ok(_) => steps.push(passed(CREDENTIALS, "Client ID, tenant and secret work: Microsoft issued an app-only token.")),
                Err(e) => steps.push(failed(CREDENTIALS, &e)),
            }
        }
    }

    let ok = steps.iter().all(|s| s.status != StepStatus::Failed);
    let summary = match steps.iter().find(|s| s.status == StepStatus::Failed) {
        Some(s) => s.message.clone(),
        None if steps.iter().any(|s| s.status == StepStatus::Skipped) => {
            "The tenant answers; the rest is tested when you connect a mailbox.".to_owned()
        }
        None => "Everything checked works.".to_owned(),
    };
    Ok(ProbeReport { ok, summary, steps })
}

/// A client-credentials token for Graph (`{graph}/.default`) in `tenant` with `secret`: proves
/// client ID, tenant and secret together, and is the app-only token for Graph calls.
pub async fn app_token(
    reg: &Registration,
    tenant: &str,
    secret: &Sensitive<String>,
    http: &reqwest::Client,
) -> Result<Sensitive<String>> {
    let token = app_token_request(&reg.cloud()?, tenant, &reg.client_id, secret, http).await?;
    Ok(token.access_token)
}

/// Fetches the discovery document; Microsoft answers unknown tenants with AADSTS90002 JSON.
async fn discovery(http: &reqwest::Client, url: &str) -> Result<()> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| crate::http::network_error("The identity provider", &e))?;
    let status = response.status();
    let bytes = crate::http::read_capped(response)
        .await
        .map_err(|e| match e {
            crate::http::BodyError::TooLarge => crate::http::too_large("The identity provider"),
            crate::http::BodyError::Transport(e) => {
                crate::http::network_error("The identity provider", &e)
            }
        })?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::new(
            ErrorCode::Network,
            format!("The identity provider's answer was not JSON (HTTP {status})."),
        )
        .with_fix("Check the cloud's authority URL.")
        .with_source(e)
    })?;
    if status.is_success() && body.get("token_endpoint").is_some() {
        return Ok(());
    }
    match serde_json::from_value::<crate::aadsts::MicrosoftError>(body) {
        Ok(ms) => Err(ms.to_error()),
        Err(_) => Err(Error::new(
            ErrorCode::IdentityProvider,
            format!("The identity provider answered HTTP {status} without a discovery document."),
        )
        .with_fix("Check the cloud's authority URL and the tenant.")),
    }
}

/// The one client-credentials request for a Graph token, for a registration's own organisation
/// (the tenant is checked first: `common` and the like are refused without a request).
pub async fn app_token_request(
    cloud: &crate::cloud::Cloud,
    tenant: &str,
    client_id: &str,
    secret: &Sensitive<String>,
    http: &reqwest::Client,
) -> crate::Result<crate::oauth::AppToken> {
    super::require_specific_tenant(tenant)?;
    crate::oauth::client_credentials(cloud, tenant, client_id, secret, http).await
}
