//! An app registration's client secrets in Microsoft Graph: `passwordCredentials` (read with
//! `Application.Read.All`), `addPassword` and `removePassword` (`Application.ReadWrite.OwnedBy`),
//! called with the app's own app-only token. No secret value is ever read back: Graph returns a
//! new one once, from `addPassword`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{Failure, Problem, get_json, post_json};
use crate::Sensitive;
use crate::error::{Error, ErrorCode, ErrorDetail, Result};

/// A client secret as Graph lists it (no value).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    /// The first characters of the value.
    pub hint: Option<String>,
    pub start_date_time: Option<DateTime<Utc>>,
    pub end_date_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphApplication {
    #[serde(default)]
    password_credentials: Vec<GraphCredential>,
}

/// What `addPassword` returns: the new secret's value, once.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewPassword {
    pub key_id: String,
    pub hint: Option<String>,
    pub end_date_time: Option<DateTime<Utc>>,
    pub secret_text: Option<Sensitive<String>>,
}

/// The permission each call needs, named in the error when Graph refuses.
const READ: &str = "Application.Read.All";
const WRITE: &str = "Application.ReadWrite.OwnedBy";

/// `{graph}/v1.0/applications(appId='{client id}')[/{action}]`.
fn app_url(graph_base: &str, client_id: &str, action: Option<&str>) -> Result<Url> {
    let mut text = format!(
        "{}/v1.0/applications(appId='{client_id}')",
        graph_base.trim_end_matches('/')
    );
    if let Some(action) = action {
        text.push('/');
        text.push_str(action);
    }
    Url::parse(&text)
        .map_err(|e| Error::invalid("graph_url", format!("The Graph address is not a URL: {e}")))
}

/// Every client secret of the app.
pub async fn password_credentials(
    http: &reqwest::Client,
    graph_base: &str,
    client_id: &str,
    token: &Sensitive<String>,
) -> Result<Vec<GraphCredential>> {
    let mut url = app_url(graph_base, client_id, None)?;
    url.set_query(Some("$select=passwordCredentials"));
    let app: GraphApplication = get_json(http, &url, token, &CancellationToken::new())
        .await
        .map_err(|f| refused(f, READ))?;
    Ok(app.password_credentials)
}

/// Creates a secret ending at `end`.
pub async fn add_password(
    http: &reqwest::Client,
    graph_base: &str,
    client_id: &str,
    token: &Sensitive<String>,
    display_name: &str,
    end: DateTime<Utc>,
) -> Result<NewPassword> {
    let body = serde_json::json!({
        "passwordCredential": {
            "displayName": display_name,
            "endDateTime": end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    });
    let url = app_url(graph_base, client_id, Some("addPassword"))?;
    post_json(http, &url, token, &body, &CancellationToken::new())
        .await
        .map_err(|f| refused(f, WRITE))
}

/// Deletes a secret.
pub async fn remove_password(
    http: &reqwest::Client,
    graph_base: &str,
    client_id: &str,
    token: &Sensitive<String>,
    key_id: &str,
) -> Result<()> {
    let url = app_url(graph_base, client_id, Some("removePassword"))?;
    let body = serde_json::json!({ "keyId": key_id });
    post_json::<serde_json::Value>(http, &url, token, &body, &CancellationToken::new())
        .await
        .map(drop)
        .map_err(|f| refused(f, WRITE))
}

/// Graph's refusal in the terms of an app registration: 403 means the app lacks `needs`, 404
/// that the app is not known in the tenant. Graph's code and request IDs stay with the error.
fn refused(f: Failure, needs: &str) -> Error {
    let Some(status) = f.status else {
        return f.error;
    };
    let detail = f.error.detail().cloned().unwrap_or_default();
    let code = detail.graph_error.clone().unwrap_or_default();
    let (kind, message, fix) = match (f.problem, status.as_u16()) {
        (_, 403) => (
            ErrorCode::NeedsConsent,
            format!("Graph refused: the app has no {needs} permission ({code})."),
            format!(
                "Add the application permission {needs} and grant admin consent, or keep entering the end date by hand."
            ),
        ),
        (_, 404) => (
            ErrorCode::NotFound,
            format!("Graph does not know this app in the tenant ({code})."),
            "Use the app's home tenant (where it is registered).".to_owned(),
        ),
        (Problem::Throttled | Problem::Unavailable, _) | (_, 429 | 500..=599) => (
            ErrorCode::Network,
            format!("Graph is unavailable (HTTP {status})."),
            "Try again later.".to_owned(),
        ),
        _ => (
            ErrorCode::IdentityProvider,
            format!("Graph answered HTTP {status} ({code})."),
            "Check the app's Graph URL.".to_owned(),
        ),
    };
    Error::new(kind, message).with_detail(ErrorDetail {
        fix: Some(fix),
        ..detail
    })
}
