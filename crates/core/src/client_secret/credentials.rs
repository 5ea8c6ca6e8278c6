//! The registration's client secrets in Microsoft Entra: Graph's list matched against the stored
//! secret (by hint and end date), the stored end date taken from it, and secrets created or
//! removed for a rotation. The Graph calls themselves are [`crate::graph::applications`]; they
//! use an app-only token from a client-credentials request with the stored secret
//! ([`crate::registration::probe::app_token`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, ErrorBody, ErrorCode, Result};
use crate::graph::applications;
use crate::keychain::Keychain;
use crate::registration::{Registration, TenantKind, classify_tenant};
use crate::store::Store;
use crate::{Sensitive, connection::Connection};

/// One client secret of the app, as Graph lists it (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    /// The first characters of the value.
    pub hint: Option<String>,
    #[ts(type = "string | null")]
    pub start: Option<DateTime<Utc>>,
    #[ts(type = "string | null")]
    pub end: Option<DateTime<Utc>>,
    /// Whether this is the secret stored in the keychain (matched by its hint).
    pub stored: bool,
}

/// What is known about a registration's secrets: the stored one's metadata and, when Graph
/// allows, every secret of the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AppSecrets {
    pub registration_id: String,
    pub registration_name: String,
    pub secret_hint: Option<String>,
    pub secret_label: Option<String>,
    #[ts(type = "string | null")]
    pub secret_expires: Option<NaiveDate>,
    /// Whether Graph answered; when not, `graph_error` says why and the manual date stands.
    pub graph_read: bool,
    pub graph_error: Option<ErrorBody>,
    pub credentials: Vec<PasswordCredential>,
    /// The stored secret's end date changed to Graph's.
    pub expires_updated: bool,
}

impl AppSecrets {
    /// What is stored here, before (or without) asking Graph.
    pub fn stored(reg: &Registration) -> Self {
        Self {
            registration_id: reg.id.clone(),
            registration_name: reg.name.clone(),
            secret_hint: reg.secret_hint.clone(),
            secret_label: reg.secret_label.clone(),
            secret_expires: reg.secret_expires,
            graph_read: false,
            graph_error: None,
            credentials: Vec::new(),
            expires_updated: false,
        }
    }
}

/// A secret created through `addPassword`: its value only in memory.
#[derive(Debug)]
pub struct CreatedSecret {
    pub key_id: String,
    pub hint: Option<String>,
    pub expires: Option<NaiveDate>,
    pub value: Sensitive<String>,
}

/// The tenant to ask for an app-only token: the registration's own, or (for `common` /
/// `organizations` registrations) the tenant of one of its connections.
pub fn token_tenant(reg: &Registration, connections: &[Connection]) -> Result<String> {
    match classify_tenant(&reg.tenant) {
        Some(k) if !k.is_generic() => Ok(reg.tenant.clone()),
        Some(TenantKind::Consumers) | None => Err(no_tenant(reg)),
        // Personal accounts' tenant has no app-only tokens (AADSTS9001023).
        Some(_) => connections
            .iter()
            .filter_map(|c| c.tenant_id.clone())
            .find(|t| classify_tenant(t).is_some_and(|k| !k.is_generic()))
            .ok_or_else(|| no_tenant(reg)),
    }
}

fn no_tenant(reg: &Registration) -> Error {
    Error::invalid(
        "tenant",
        format!(
            "\"{}\" uses '{}', and no connection tells which organisation it belongs to.",
            reg.name, reg.tenant
        ),
    )
    .with_fix("Connect a mailbox first, or use the Directory (tenant) ID in the app's settings.")
}

/// Every client secret of the app (no values), the stored one marked, soonest end first.
pub async fn list(
    reg: &Registration,
    token: &Sensitive<String>,
    http: &reqwest::Client,
) -> Result<Vec<PasswordCredential>> {
    let graph_base = reg.cloud()?.graph;
    let mut out: Vec<PasswordCredential> =
        applications::password_credentials(http, &graph_base, &reg.client_id, token)
            .await?
            .into_iter()
            .map(|c| PasswordCredential {
                key_id: c.key_id,
                display_name: c.display_name,
                hint: c.hint,
                start: c.start_date_time,
                end: c.end_date_time,
                stored: false,
            })
            .collect();
    mark_stored(&mut out, reg.secret_hint.as_deref(), reg.secret_expires);
    out.sort_by_key(|c| c.end);
    Ok(out)
}

/// Marks the stored secret among Graph's: the one with its hint; with several, the one ending on
/// the stored date, else the one ending last.
pub fn mark_stored(
    creds: &mut [PasswordCredential],
    hint: Option<&str>,
    expires: Option<NaiveDate>,
) {
    let Some(hint) = hint else { return };
    let matching: Vec<usize> = (0..creds.len())
        .filter(|i| creds[*i].hint.as_deref() == Some(hint))
        .collect();
    let pick = matching
        .iter()
        .copied()
        .find(|i| creds[*i].end.map(|e| e.date_naive()) == expires && expires.is_some())
        .or_else(|| matching.iter().copied().max_by_key(|i| creds[*i].end));
    if let Some(i) = pick {
        creds[i].stored = true;
    }
}

/// Reads the app's secrets through Graph with the stored secret's app-only token, and takes the
/// stored secret's end date from Graph. When Graph refuses, the manual date stays and the
/// answer says why.
pub async fn read(
    store: &Store,
    secrets: &dyn Keychain,
    http: &reqwest::Client,
    id: &str,
    now: DateTime<Utc>,
) -> Result<AppSecrets> {
    let reg = store.find_registration(id)?;
    let mut answer = AppSecrets::stored(&reg);
    let listed = async {
        let secret = stored_secret(secrets, &reg)?;
        let tenant = token_tenant(&reg, &store.connections_of_registration(&reg.id)?)?;
        let token = crate::registration::probe::app_token(&reg, &tenant, &secret, http).await?;
        list(&reg, &token, http).await
    }
    .await;
    match listed {
        Ok(creds) => {
            answer.graph_read = true;
            if let Some(end) = creds
                .iter()
                .find(|c| c.stored)
                .and_then(|c| c.end)
                .map(|e| e.date_naive())
                && Some(end) != reg.secret_expires
            {
                super::set_end_date(store, &reg, end, now)?;
                answer.secret_expires = Some(end);
                answer.expires_updated = true;
                tracing::info!(registration = %reg.id, %end, "secret end date taken from Graph");
            }
            answer.credentials = creds;
        }
        Err(e) => {
            tracing::info!(registration = %reg.id, error = %e.message(), "Graph did not list the secrets");
            answer.graph_error = Some(e.body());
        }
    }
    Ok(answer)
}

pub(crate) fn stored_secret(
    secrets: &dyn Keychain,
    reg: &Registration,
) -> Result<Sensitive<String>> {
    secrets
        .get(&crate::keychain::SecretKey::client_secret(&reg.id))?
        .ok_or_else(|| {
            Error::invalid(
                "secret",
                format!("No client secret is stored for \"{}\".", reg.name),
            )
            .with_fix("Rotate the secret: paste a new secret's Value.")
        })
}

/// Creates a secret through `addPassword` (the value is returned once, kept only in memory).
pub async fn add_password(
    reg: &Registration,
    token: &Sensitive<String>,
    http: &reqwest::Client,
    display_name: &str,
    end: NaiveDate,
) -> Result<CreatedSecret> {
    let graph_base = reg.cloud()?.graph;
    let end = super::reminders::expiry_instant(end);
    let created =
        applications::add_password(http, &graph_base, &reg.client_id, token, display_name, end)
            .await?;
    let value = created.secret_text.ok_or_else(|| {
        Error::new(
            ErrorCode::IdentityProvider,
            "Graph created a secret but did not return its value.",
        )
    })?;
    Ok(CreatedSecret {
        key_id: created.key_id,
        hint: created.hint,
        expires: created.end_date_time.map(|e| e.date_naive()),
        value,
    })
}

/// Deletes a secret through `removePassword`.
pub async fn remove_password(
    reg: &Registration,
    token: &Sensitive<String>,
    http: &reqwest::Client,
    key_id: &str,
) -> Result<()> {
    let graph_base = reg.cloud()?.graph;
    applications::remove_password(http, &graph_base, &reg.client_id, token, key_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(key: &str, hint: &str, end: &str) -> PasswordCredential {
        PasswordCredential {
            key_id: key.into(),
            display_name: None,
            hint: Some(hint.into()),
            start: None,
            end: Some(end.parse().unwrap()),
            stored: false,
        }
    }

    #[test]
    fn the_stored_secret_is_found_by_its_hint() {
        let mut creds = vec![
            cred("a", "Wq1", "2099-01-01T00:00:00Z"),
            cred("b", "Rt2", "2099-06-30T00:00:00Z"),
        ];
        mark_stored(&mut creds, Some("Rt2"), None);
        assert!(!creds[0].stored && creds[1].stored);

        let mut same_hint = vec![
            cred("a", "Abc", "2027-01-01T00:00:00Z"),
            cred("b", "Abc", "2026-06-01T00:00:00Z"),
        ];
        mark_stored(
            &mut same_hint,
            Some("Abc"),
            NaiveDate::from_ymd_opt(2026, 6, 1),
        );
        assert!(
            same_hint[1].stored && !same_hint[0].stored,
            "the stored date decides"
        );

        let mut none = vec![cred("a", "Wq1", "2099-01-01T00:00:00Z")];
        mark_stored(&mut none, Some("Xyz"), None);
        assert!(!none[0].stored);
    }
}
