//! Rotating a registration's client secret without breaking anything:
//!
//! 1. the new value is checked like the wizard checks it (a GUID is the Secret ID, not the value);
//! 2. it is **verified before anything is stored**: a client-credentials token request (or, for
//!    registrations that cannot make one, a refresh of one connection);
//! 3. it replaces the old one in the keychain through a staging entry (the old one stays until
//!    the new one is stored and read back: a crash leaves the old or the new secret, both valid);
//! 4. every connection of the registration is refreshed through the engine, which sets the ones
//!    marked `secret_expired` active again.
//!
//! A failed step 1 or 2 changes nothing. [`rotate_via_graph`] creates the new secret with
//! Graph's `addPassword` and removes the old one with `removePassword` after the swap.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::credentials::{self, PasswordCredential};
use crate::connection::{
    ConnectionKind, RefreshTokenChange, StateKind, TokenState, persist_tokens,
};
use crate::engine::Engine;
use crate::error::{Error, ErrorBody, ErrorCode, Result};
use crate::keychain::Keychain;
use crate::keychain::SecretKey;
use crate::registration::{self, ClientKind, Registration, RegistrationInput};
use crate::store::Store;
use crate::store::registrations::SecretMeta;
use crate::{Sensitive, registration::probe};

/// What the admin pastes: the new secret's Value and its end date.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct RotationInput {
    #[ts(type = "string")]
    pub secret: Sensitive<String>,
    /// `YYYY-MM-DD`.
    #[ts(type = "string")]
    pub expires: NaiveDate,
    #[ts(optional)]
    #[serde(default)]
    pub label: Option<String>,
}

/// How the new secret was proven before it was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedBy {
    /// A client-credentials token request in the registration's (or a connection's) tenant.
    ClientCredentials,
    /// A refresh of one connection (registrations that cannot ask for an app-only token).
    Refresh,
}

/// One connection after the swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ConnectionCheck {
    pub connection_id: String,
    pub address: String,
    pub ok: bool,
    pub state: StateKind,
    pub message: String,
    pub error: Option<ErrorBody>,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RotationReport {
    pub registration: Registration,
    pub verified_by: VerifiedBy,
    /// Every connection of the registration, re-verified with the new secret.
    pub connections: Vec<ConnectionCheck>,
    /// The replaced secret's hint: delete it in the portal.
    pub old_hint: Option<String>,
    /// The replaced secret as Graph lists it (when Graph allows reading).
    pub old_credential: Option<PasswordCredential>,
    /// Graph removed the old secret (in-app rotation only).
    pub old_removed: bool,
    /// Why Graph could not list or remove the old secret, when it could not.
    pub graph_error: Option<ErrorBody>,
    /// All connections work.
    pub ok: bool,
}

/// Where the shells' rotation runs: the store, the keychain, HTTP and the refresh engine.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    pub store: &'a Store,
    pub secrets: &'a dyn Keychain,
    pub http: &'a reqwest::Client,
    pub engine: &'a Engine,
    pub now: DateTime<Utc>,
}

/// Checks a pasted value and date as the wizard does; returns the trimmed secret.
pub fn check_input(
    reg: &Registration,
    input: &RotationInput,
    today: NaiveDate,
) -> Result<(Sensitive<String>, Option<String>)> {
    if reg.kind != ClientKind::Confidential {
        return Err(Error::invalid(
            "secret",
            format!("\"{}\" is a public app: it has no client secret.", reg.name),
        ));
    }
    let as_input = RegistrationInput {
        name: reg.name.clone(),
        client_id: reg.client_id.clone(),
        kind: reg.kind,
        tenant: reg.tenant.clone(),
        cloud: reg.cloud,
        authority_url: reg.authority_url.clone(),
        graph_url: reg.graph_url.clone(),
        imap_server: reg.imap_server.clone(),
        pop_server: reg.pop_server.clone(),
        smtp_server: reg.smtp_server.clone(),
        usage: reg.usage,
        audience: reg.audience,
        preset: reg.preset,
        redirect_uri: Some(reg.redirect_uri.clone()),
        secret: Some(input.secret.clone()),
        secret_expires: Some(input.expires),
        secret_label: input.label.clone().or_else(|| reg.secret_label.clone()),
    };
    let (report, valid) = registration::validate(&as_input, today);
    let field_error = report
        .errors
        .iter()
        .find(|i| i.field == "secret" || i.field == "secret_expires")
        .map(|i| Error::invalid(&i.field, i.message.clone()));
    match (field_error, valid) {
        (Some(e), _) => Err(e),
        (None, Some(v)) => Ok((
            v.secret
                .ok_or_else(|| Error::invalid("secret", "Paste the new secret's Value."))?,
            v.secret_label,
        )),
        (None, None) => Err(report
            .into_error()
            .unwrap_or_else(|| Error::internal("validation failed without a reason"))),
    }
}

impl Rotation<'_> {
    /// Rotates to a secret the admin created in the portal.
    pub async fn rotate(&self, id: &str, input: &RotationInput) -> Result<RotationReport> {
        let reg = self.store.find_registration(id)?;
        let (secret, label) = check_input(&reg, input, self.now.date_naive())?;
        let old = self.secrets.get(&SecretKey::client_secret(&reg.id))?;
        if old.as_ref() == Some(&secret) {
            return Err(Error::invalid(
                "secret",
                "This is the secret already stored. Create a new secret in the portal and paste its Value.",
            ));
        }
        let verified_by = self.verify(&reg, &secret).await?;
        self.swap(&reg, &secret, Some(input.expires), label)?;
        let mut report = self.after_swap(&reg, verified_by).await?;
        // What Graph knows about the old secret, so the admin can see when it is gone.
        match credentials::read(self.store, self.secrets, self.http, &reg.id, self.now).await {
            Ok(seen) => {
                report.old_credential =
                    old_credential(&seen.credentials, reg.secret_hint.as_deref(), &secret);
                report.graph_error = seen.graph_error;
            }
            Err(e) => report.graph_error = Some(e.body()),
        }
        report.registration = self.store.find_registration(&reg.id)?;
        Ok(report)
    }

    /// Rotates entirely through Graph (`Application.ReadWrite.OwnedBy`): creates a secret with
    /// `addPassword`, verifies it, swaps it in, re-verifies, then removes the old one.
    pub async fn rotate_via_graph(&self, id: &str, expires: NaiveDate) -> Result<RotationReport> {
        let reg = self.store.find_registration(id)?;
        let old_secret = credentials::stored_secret(self.secrets, &reg)?;
        let tenant =
            credentials::token_tenant(&reg, &self.store.connections_of_registration(&reg.id)?)?;
        let token = probe::app_token(&reg, &tenant, &old_secret, self.http)
            .await
            .map_err(|e| {
                e.with_fix_if_missing("The stored secret no longer works: create a new one in the portal and paste it.")
            })?;
        let listed = credentials::list(&reg, &token, self.http).await?;
        let old_cred = listed.into_iter().find(|c| c.stored);
        let name = format!("mailconn {}", self.now.format("%Y-%m-%d"));
        let created = credentials::add_password(&reg, &token, self.http, &name, expires).await?;
        let input = RotationInput {
            secret: created.value.clone(),
            expires: created.expires.unwrap_or(expires),
            label: Some(name),
        };
        let verified = match check_input(&reg, &input, self.now.date_naive()) {
            Ok(_) => {
                self.verify_with_retries(&reg, &tenant, &created.value)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = verified {
            // Nothing was stored; take the unusable secret away again.
            let _ = credentials::remove_password(&reg, &token, self.http, &created.key_id).await;
            return Err(e);
        }
        self.swap(
            &reg,
            &created.value,
            Some(input.expires),
            input.label.clone(),
        )?;
        let mut report = self.after_swap(&reg, VerifiedBy::ClientCredentials).await?;
        report.old_credential.clone_from(&old_cred);
        if let Some(old) = old_cred {
            let removed = async {
                let token = probe::app_token(&reg, &tenant, &created.value, self.http).await?;
                credentials::remove_password(&reg, &token, self.http, &old.key_id).await
            }
            .await;
            match removed {
                Ok(()) => report.old_removed = true,
                Err(e) => report.graph_error = Some(e.body()),
            }
        }
        report.registration = self.store.find_registration(&reg.id)?;
        Ok(report)
    }

    /// Proves a secret works before it is stored.
    async fn verify(&self, reg: &Registration, secret: &Sensitive<String>) -> Result<VerifiedBy> {
        let connections = self.store.connections_of_registration(&reg.id)?;
        match credentials::token_tenant(reg, &connections) {
            Ok(tenant) => {
                probe::app_token(reg, &tenant, secret, self.http)
                    .await
                    .map_err(|e| not_changed(&e))?;
                Ok(VerifiedBy::ClientCredentials)
            }
            Err(no_tenant) => {
                let Some(conn) = connections
                    .iter()
                    .find(|c| c.kind == ConnectionKind::Delegated && c.has_refresh_token)
                else {
                    return Err(no_tenant);
                };
                self.verify_by_refresh(reg, conn, secret).await?;
                Ok(VerifiedBy::Refresh)
            }
        }
    }

    /// A new secret from `addPassword` can take a moment to work everywhere (Microsoft's
    /// replication); a refusal is retried a few times before giving up.
    async fn verify_with_retries(
        &self,
        reg: &Registration,
        tenant: &str,
        secret: &Sensitive<String>,
    ) -> Result<()> {
        const ATTEMPTS: u32 = 6;
        const PAUSE: std::time::Duration = std::time::Duration::from_secs(5);
        let mut attempt = 1;
        loop {
            match probe::app_token(reg, tenant, secret, self.http).await {
                Ok(_) => return Ok(()),
                Err(e)
                    if attempt < ATTEMPTS
                        && e.detail().and_then(|d| d.aadsts) == Some(7_000_215) =>
                {
                    attempt += 1;
                    tokio::time::sleep(PAUSE).await;
                }
                Err(e) => return Err(not_changed(&e)),
            }
        }
    }

    /// A refresh-token request with the new secret; a rotated refresh token is stored at once
    /// (the old one stays valid at Microsoft, so nothing is lost either way).
    async fn verify_by_refresh(
        &self,
        reg: &Registration,
        conn: &crate::connection::Connection,
        secret: &Sensitive<String>,
    ) -> Result<()> {
        let refresh_token = self
            .secrets
            .get(&SecretKey::refresh_token(&conn.id))?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::NeedsSignIn,
                    "No refresh token is stored to verify the secret with.",
                )
            })?;
        let cloud = reg.cloud()?;
        let tenant = conn.tenant_id.clone().unwrap_or_else(|| reg.tenant.clone());
        let tokens = crate::engine::request::refresh(
            &crate::engine::request::RefreshRequest {
                cloud: &cloud,
                tenant: &tenant,
                client_id: &reg.client_id,
                secret: Some(secret),
                refresh_token: &refresh_token,
                scopes: &conn.scopes_requested,
            },
            self.http,
            self.now,
        )
        .await
        .map_err(|f| not_changed(&f.into_error()))?;
        // Only the refresh token changes here; the row is the engine's to update on the next
        // refresh, which the re-verification runs.
        let change = match &tokens.refresh_token {
            Some(new) if new.expose() != refresh_token.expose() => RefreshTokenChange::Store(new),
            _ => RefreshTokenChange::Keep,
        };
        persist_tokens(self.secrets, &conn.id, change, || Ok(()))
    }

    /// Staged keychain replacement, then the metadata (hint, label, end date).
    fn swap(
        &self,
        reg: &Registration,
        secret: &Sensitive<String>,
        expires: Option<NaiveDate>,
        label: Option<String>,
    ) -> Result<()> {
        crate::keychain::replace_client_secret(self.secrets, &reg.id, secret)?;
        self.store.set_secret_meta(
            &reg.id,
            &SecretMeta {
                present: true,
                hint: Some(registration::secret_hint(secret)),
                label,
                expires,
            },
            self.now,
        )?;
        tracing::info!(registration = %reg.id, "client secret rotated");
        Ok(())
    }

    /// Re-verifies every connection: delegated ones are refreshed through the engine (which sets
    /// `secret_expired` ones active again); the others share the app-only token just proven.
    async fn after_swap(
        &self,
        reg: &Registration,
        verified_by: VerifiedBy,
    ) -> Result<RotationReport> {
        let mut checks = Vec::new();
        for conn in self.store.connections_of_registration(&reg.id)? {
            let _ = self.store.add_event(
                &conn.id,
                self.now,
                "secret_rotated",
                "The app's client secret was replaced",
                None,
            );
            if conn.kind == ConnectionKind::Delegated && conn.has_refresh_token {
                let r = self.engine.refresh(&conn.id).await?;
                checks.push(ConnectionCheck {
                    connection_id: conn.id.clone(),
                    address: conn.address.clone(),
                    ok: r.error.is_none(),
                    state: r.connection.state.kind(),
                    message: r.error.as_ref().map_or_else(
                        || "Refreshed with the new secret.".to_owned(),
                        |e| e.message.clone(),
                    ),
                    error: r.error,
                });
            } else {
                let ok = verified_by == VerifiedBy::ClientCredentials;
                if ok && conn.state == StateKind::SecretExpired {
                    self.store
                        .record_state(&conn.id, &TokenState::ACTIVE, self.now)?;
                    self.engine.connected(&conn.id)?;
                }
                let state = self.store.get_connection(&conn.id)?.state.kind();
                checks.push(ConnectionCheck {
                    connection_id: conn.id.clone(),
                    address: conn.address.clone(),
                    ok,
                    state,
                    message: if ok {
                        "The app-only token works with the new secret.".to_owned()
                    } else {
                        "Sign in again to verify this connection.".to_owned()
                    },
                    error: None,
                });
            }
        }
        let ok = checks.iter().all(|c| c.ok);
        Ok(RotationReport {
            registration: self.store.find_registration(&reg.id)?,
            verified_by,
            connections: checks,
            old_hint: reg.secret_hint.clone(),
            old_credential: None,
            old_removed: false,
            graph_error: None,
            ok,
        })
    }
}

/// The replaced secret among Graph's: the old hint, and not the new secret's.
fn old_credential(
    creds: &[PasswordCredential],
    old_hint: Option<&str>,
    new: &Sensitive<String>,
) -> Option<PasswordCredential> {
    let old_hint = old_hint?;
    let new_hint = registration::secret_hint(new);
    creds
        .iter()
        .filter(|c| c.hint.as_deref() == Some(old_hint) && (!c.stored || new_hint != old_hint))
        .min_by_key(|c| c.end)
        .cloned()
}

/// A failed verification: say that nothing changed.
fn not_changed(e: &Error) -> Error {
    let message = format!(
        "The new secret did not work, so nothing was changed: {}",
        e.message()
    );
    let detail = e.detail().cloned();
    let code = e.code();
    let out = Error::new(code, message);
    match detail {
        Some(mut d) => {
            d.field.get_or_insert_with(|| "secret".to_owned());
            out.with_detail(d)
        }
        None => out.with_detail(crate::ErrorDetail {
            field: Some("secret".into()),
            ..Default::default()
        }),
    }
}
