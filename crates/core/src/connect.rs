//! Connecting a mailbox by signing in: picks the registration, scopes and tenant, loads the
//! client secret for confidential apps, and stores the result. The flows themselves are in
//! `flow`; the shells (app, CLI) open the browser and show progress.

use chrono::Utc;

use chrono::DateTime;

use crate::connection::{
    Connection, ConnectionKind, RefreshTokenChange, TokenState, persist_tokens,
};
use crate::error::{Error, Result};
use crate::flow::auth_code::SignIn;
use crate::flow::device_code;
use crate::flow::identity::{Identity, of_tokens};
use crate::keychain::Keychain;
use crate::keychain::SecretKey;
use crate::oauth::Tokens;
use crate::registration::{ClientKind, Registration, classify_tenant};
use crate::resource::Audience;
use crate::scopes::Preset;
use crate::store::Store;
use tokio_util::sync::CancellationToken;

/// What the user chose in "Connect a mailbox".
#[derive(Debug, Clone, Default, serde::Deserialize, ts_rs::TS)]
pub struct ConnectOptions {
    /// Registration id or name.
    pub registration: String,
    /// Defaults to the registration's preset.
    #[ts(optional)]
    #[serde(default)]
    pub preset: Option<Preset>,
    /// Overrides the registration's tenant for this sign-in.
    #[ts(optional)]
    #[serde(default)]
    pub tenant: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub login_hint: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub prompt: Option<String>,
    /// Reconnect (e.g. to change scopes): the sign-in must be this connection's account, and
    /// its token is replaced only after the new sign-in succeeds.
    #[ts(optional)]
    #[serde(default)]
    pub reconnect: Option<String>,
}

/// A checked request, ready for a browser or device sign-in.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub registration: Registration,
    /// The connection being reconnected, if any.
    pub reconnect: Option<Connection>,
    pub preset: Preset,
    pub scopes: Vec<String>,
    pub sign_in: SignIn,
}

pub fn prepare(
    store: &Store,
    secrets: &dyn Keychain,
    options: &ConnectOptions,
) -> Result<Prepared> {
    let reconnect = options
        .reconnect
        .as_deref()
        .map(|id| store.get_connection(id))
        .transpose()?;
    let registration = reconnect
        .as_ref()
        .map_or(options.registration.as_str(), |c| {
            c.registration_id.as_str()
        });
    let reg = store.find_registration(registration)?;
    if !reg.usage.delegated() {
        return Err(Error::invalid(
            "registration",
            format!(
                "\"{}\" is set up for application access only; nobody signs in with it.",
                reg.name
            ),
        )
        .with_fix(
            "Add organisation mailboxes to it instead, or choose an app registered for sign-in.",
        ));
    }
    let preset = options
        .preset
        .or(reconnect.as_ref().map(|c| c.preset))
        .unwrap_or(reg.preset);
    if preset.is_application() {
        return Err(Error::invalid(
            "preset",
            "Choose what the connection may do (read, send, full...); application access needs no sign-in.",
        ));
    }
    let tenant = match options
        .tenant
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t) if classify_tenant(&t.to_ascii_lowercase()).is_none() => {
            return Err(Error::invalid(
                "tenant",
                "The tenant must be common, organizations, consumers, a Directory (tenant) ID or a domain.",
            ));
        }
        Some(t) => t.to_ascii_lowercase(),
        None => reg.tenant.clone(),
    };
    let secret = match reg.kind {
        ClientKind::Confidential => Some(
            secrets
                .get(&SecretKey::client_secret(&reg.id))?
                .ok_or_else(|| {
                    Error::invalid(
                        "secret",
                        format!("No client secret is stored for \"{}\".", reg.name),
                    )
                    .with_fix("Edit the app and paste the secret's Value.")
                })?,
        ),
        ClientKind::Public => None,
    };
    let scopes = preset.delegated_scopes();
    let sign_in = SignIn {
        cloud: reg.cloud()?,
        tenant,
        client_id: reg.client_id.clone(),
        secret,
        registered_redirect_uri: reg.redirect_uri.clone(),
        scopes: scopes.clone(),
        prompt: options.prompt.clone(),
        login_hint: options
            .login_hint
            .clone()
            .or_else(|| reconnect.as_ref().map(|c| c.address.clone())),
    };
    Ok(Prepared {
        registration: reg,
        reconnect,
        preset,
        scopes,
        sign_in,
    })
}

/// Stores a completed sign-in. Returns the connection and whether it is new.
pub fn finish(
    store: &Store,
    secrets: &dyn Keychain,
    prepared: &Prepared,
    tokens: &Tokens,
    identity: &Identity,
) -> Result<(Connection, bool)> {
    if let Some(old) = &prepared.reconnect
        && old.account_key != identity.account_key()
    {
        return Err(Error::invalid(
            "login_hint",
            format!(
                "You signed in as {}, but this connection is {}. Nothing was changed.",
                identity.address, old.address
            ),
        )
        .with_fix(format!("Sign in again as {}.", old.address)));
    }
    save_sign_in(store, secrets, prepared, tokens, identity, Utc::now())
}

/// Stores a delegated sign-in: a new connection, or the same account and app again (updated in
/// place, never duplicated). The refresh token reaches the keychain before the row says so.
pub fn save_sign_in(
    store: &Store,
    secrets: &dyn Keychain,
    request: &Prepared,
    tokens: &Tokens,
    identity: &Identity,
    now: DateTime<Utc>,
) -> Result<(Connection, bool)> {
    let (reg, preset, requested) = (&request.registration, request.preset, &request.scopes);
    let existing = store.find_connection_by_account(&reg.id, &identity.account_key())?;
    let id = existing
        .as_ref()
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), |c| c.id.clone());
    let key = SecretKey::refresh_token(&id);
    let reason = if tokens.refresh_token.is_none() {
        Some("Microsoft issued no refresh token (offline_access was not granted), so this connection stops working when the access token expires in about an hour.".to_owned())
    } else {
        None
    };
    // Consent at Microsoft is per user and app and adds up: what an earlier sign-in of this
    // connection was granted for the other resource (Graph, or Outlook for IMAP/POP/SMTP)
    // stays usable, so it stays in the granted list beside what this sign-in brought.
    let granted = match &existing {
        Some(old) => {
            Audience::primary(requested).merge_granted(&old.scopes_granted, &tokens.granted)
        }
        None => tokens.granted.clone(),
    };
    let row = crate::store::connections::NewConnection {
        id: &id,
        registration_id: &reg.id,
        kind: ConnectionKind::Delegated,
        account_key: &identity.account_key(),
        address: &identity.address,
        display_name: identity.display_name.as_deref(),
        tenant_id: Some(&identity.tenant_id),
        account_type: identity.account_type,
        preset,
        scopes_requested: requested,
        scopes_granted: &granted,
        has_refresh_token: tokens.refresh_token.is_some(),
        state: TokenState::Active { note: reason },
        access_expires_at: Some(tokens.expires_at),
    };
    let created = existing.is_none();
    let change = match &tokens.refresh_token {
        Some(rt) => RefreshTokenChange::Store(rt),
        None => RefreshTokenChange::Remove,
    };
    let written = persist_tokens(secrets, &id, change, || {
        if created {
            store.insert_connection(&row, now)
        } else {
            store.update_connection_sign_in(&row, now)
        }
    });
    if let Err(e) = written {
        if created {
            let _ = secrets.delete(&key);
        }
        return Err(e);
    }
    store.add_event(
        &id,
        now,
        if created {
            "connected"
        } else {
            "signed_in_again"
        },
        &format!("Signed in as {}", identity.address),
        None,
    )?;
    let missing = crate::scopes::missing_for_tokens(
        requested,
        &tokens.granted,
        tokens.refresh_token.is_some(),
    );
    if !missing.is_empty() {
        tracing::warn!(connection = %id, missing = ?missing, "scopes requested but not granted");
    }
    Ok((store.get_connection(&id)?, created))
}

/// Removes a connection and its refresh token.
pub fn disconnect(store: &Store, secrets: &dyn Keychain, id: &str) -> Result<Connection> {
    let conn = store.get_connection(id)?;
    secrets.delete(&SecretKey::refresh_token(&conn.id))?;
    for audience in [Audience::Graph, Audience::Outlook] {
        secrets.delete(&SecretKey::access_token(&conn.id, audience.as_str()))?;
    }
    store.delete_connection(&conn.id)?;
    tracing::info!(connection = %conn.id, "disconnected");
    Ok(conn)
}

/// Starts a device-code sign-in. Microsoft allows it for public (desktop) apps only.
pub async fn begin_device(
    prepared: &Prepared,
    http: &reqwest::Client,
) -> Result<device_code::Pending> {
    if prepared.registration.kind == ClientKind::Confidential {
        return Err(Error::invalid(
            "device_code",
            "Device code sign-in works only with public apps (Mobile and desktop platform, public client flows allowed).",
        ));
    }
    let s = &prepared.sign_in;
    device_code::begin(&s.cloud, &s.tenant, &s.client_id, &prepared.scopes, http).await
}

/// Waits for a device-code sign-in and reads who signed in.
pub async fn complete_device(
    pending: device_code::Pending,
    prepared: &Prepared,
    http: &reqwest::Client,
    cancel: &CancellationToken,
) -> Result<(Tokens, Identity)> {
    let tokens = pending.complete(http, cancel).await?;
    let identity = of_tokens(&tokens, &prepared.sign_in.client_id, None)?;
    Ok((tokens, identity))
}
