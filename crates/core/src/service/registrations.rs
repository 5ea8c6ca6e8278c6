//! Registration use cases over the store and the keychain: add, edit, remove, probe, the admin
//! consent link, export. The secret value goes to the keychain under `client-secret/{registration
//! id}`; `SQLite` gets only whether one exists, its three-character hint, label and expiry date.

use chrono::{DateTime, Utc};
use serde::Serialize;
use ts_rs::TS;

use super::Service;
use crate::Sensitive;
use crate::error::{Error, ErrorCode, Result};
use crate::keychain::{Keychain, SecretKey, SecretKind};
use crate::registration::export::{Plan, PlanInfo, PlanInput, plan_info};
use crate::registration::probe::ProbeReport;
use crate::registration::{
    ClientKind, LastTest, Registration, RegistrationInput, Valid, ValidationReport, secret_hint,
    validate,
};
use crate::scopes::{Preset, PresetInfo};
use crate::store::Store;
use crate::store::registrations::SecretMeta;

fn checked(input: &RegistrationInput, now: DateTime<Utc>) -> Result<(ValidationReport, Valid)> {
    match validate(input, now.date_naive()) {
        (report, Some(valid)) => Ok((report, valid)),
        (report, None) => Err(report
            .into_error()
            .unwrap_or_else(|| Error::internal("validation failed without a reason"))),
    }
}

fn meta(v: &Valid, secret: Option<&Sensitive<String>>) -> SecretMeta {
    SecretMeta {
        present: secret.is_some(),
        hint: secret.map(secret_hint),
        label: v.secret_label.clone(),
        expires: v.secret_expires,
    }
}

/// A saved registration and the warnings that did not stop it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Saved {
    pub registration: Registration,
    pub warnings: ValidationReport,
}

/// What `export` writes: an Azure CLI script or a manifest fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Az,
    Manifest,
}

impl Service {
    pub fn presets() -> Vec<PresetInfo> {
        Preset::ALL.into_iter().map(Preset::info).collect()
    }

    /// What the wizard shows for the user's choices.
    pub fn plan(input: &PlanInput) -> Result<PlanInfo> {
        plan_info(input)
    }

    /// The wizard's live check of what was pasted back.
    pub fn validate_registration(&self, input: &RegistrationInput) -> ValidationReport {
        validate(input, self.clock.now().date_naive()).0
    }

    pub async fn registrations(&self) -> Result<Vec<Registration>> {
        self.blocking(|store, _| store.list_registrations()).await
    }

    /// One registration by id or name.
    pub async fn registration(&self, id: &str) -> Result<Registration> {
        let id = id.to_owned();
        self.blocking(move |store, _| store.find_registration(&id))
            .await
    }

    pub async fn add_registration(&self, input: RegistrationInput) -> Result<Saved> {
        let now = self.clock.now();
        self.blocking(move |store, keychain| {
            let (registration, warnings) = create(store, keychain, &input, now)?;
            Ok(Saved {
                registration,
                warnings,
            })
        })
        .await
    }

    /// Edits a registration. Moving it to another cloud, authority, Graph address or tenant
    /// needs the client secret again and sends its connections back to sign-in (their tokens
    /// are deleted), so nothing stored is ever sent to the new endpoint.
    pub async fn update_registration(&self, id: &str, input: RegistrationInput) -> Result<Saved> {
        let (id, now) = (id.to_owned(), self.clock.now());
        let (saved, moved) = self
            .blocking(move |store, keychain| {
                let (registration, warnings, moved) = update(store, keychain, &id, &input, now)?;
                Ok((
                    Saved {
                        registration,
                        warnings,
                    },
                    moved,
                ))
            })
            .await?;
        // An app-only token of the old endpoint is never handed out again.
        self.app_tokens.invalidate(&saved.registration.id);
        for c in &moved {
            self.engine.forget(c);
        }
        self.reminders_changed().await;
        Ok(saved)
    }

    /// Removes a registration; with `cascade`, its connections and their refresh tokens too.
    pub async fn remove_registration(&self, id: &str, cascade: bool) -> Result<Registration> {
        let id = id.to_owned();
        let (reg, gone) = self
            .blocking(move |store, keychain| {
                let gone = store.connection_ids_of(&store.find_registration(&id)?.id)?;
                Ok((delete(store, keychain, &id, cascade)?, gone))
            })
            .await?;
        for c in &gone {
            self.engine.forget(c);
        }
        self.app_tokens.invalidate(&reg.id);
        self.reminders_changed().await;
        Ok(reg)
    }

    /// Asks the identity provider whether the registration works (tenant, client ID, secret);
    /// the outcome is recorded on the registration.
    pub async fn probe_registration(&self, id: &str) -> Result<ProbeReport> {
        probe(
            &self.store,
            self.keychain.as_ref(),
            &self.http,
            id,
            self.clock.now(),
        )
        .await
    }

    /// The link an administrator opens to consent to the app's permissions for its tenant.
    pub async fn admin_consent_url(&self, id: &str) -> Result<String> {
        crate::registration::admin_consent_url(&self.registration(id).await?)
    }

    /// What to create in the portal for this registration.
    pub async fn export_registration(&self, id: &str, format: ExportFormat) -> Result<String> {
        let reg = self.registration(id).await?;
        let plan = Plan {
            name: &reg.name,
            kind: reg.kind,
            usage: reg.usage,
            audience: reg.audience,
            preset: reg.preset,
            redirect_uri: &reg.redirect_uri,
            cloud: reg.cloud,
        };
        Ok(match format {
            ExportFormat::Az => plan.az_script(),
            ExportFormat::Manifest => plan.manifest(),
        })
    }
}

/// Adds a registration. The secret is stored first; if the row cannot be written, it is removed.
pub fn create(
    store: &Store,
    secrets: &dyn Keychain,
    input: &RegistrationInput,
    now: DateTime<Utc>,
) -> Result<(Registration, ValidationReport)> {
    let (report, valid) = checked(input, now)?;
    Ok((insert(store, secrets, &valid, now)?, report))
}

/// Stores a checked registration (its secret first, if it has one) and returns it.
pub fn insert(
    store: &Store,
    secrets: &dyn Keychain,
    valid: &Valid,
    now: DateTime<Utc>,
) -> Result<Registration> {
    let id = uuid::Uuid::new_v4().to_string();
    if let Some(secret) = &valid.secret {
        secrets.set(&SecretKey::client_secret(&id), secret)?;
    }
    if let Err(e) = store.insert_registration(&id, valid, &meta(valid, valid.secret.as_ref()), now)
    {
        let _ = secrets.delete(&SecretKey::client_secret(&id));
        return Err(e);
    }
    tracing::info!(registration = %id, name = %valid.name, "registration added");
    store.find_registration(&id)
}

/// The endpoints a registration's secret and tokens go to: the token endpoint of its tenant and
/// Graph.
fn endpoints(cloud: &crate::cloud::Cloud, tenant: &str) -> (String, String) {
    (
        cloud.token_url(tenant).to_ascii_lowercase(),
        cloud.graph_default_scope().to_ascii_lowercase(),
    )
}

/// The reason a connection gives after its app moved to another endpoint.
pub const MOVED_REASON: &str = "The app's cloud, authority or tenant changed: sign in again.";

/// Edits a registration. A new secret is written to a staging entry, read back, and only then
/// replaces the old one; without a new secret the stored one is kept (unless the client became
/// public, which must not have one). If the cloud, authority, Graph address or tenant changed,
/// the stored secret is not kept (the secret must be given again) and the delegated connections
/// lose their refresh tokens and need sign-in; their ids are returned.
pub fn update(
    store: &Store,
    secrets: &dyn Keychain,
    id: &str,
    input: &RegistrationInput,
    now: DateTime<Utc>,
) -> Result<(Registration, ValidationReport, Vec<String>)> {
    let existing = store.find_registration(id)?;
    let mut input = input.clone();
    let keep_old_secret =
        input.secret.is_none() && existing.has_secret && input.kind == ClientKind::Confidential;
    if keep_old_secret {
        // Validation wants a secret for confidential apps; the stored one stands in.
        input.secret = secrets.get(&SecretKey::client_secret(&existing.id))?;
        if input.secret.is_none() {
            return Err(Error::new(
                ErrorCode::Keychain,
                "The stored client secret is missing from the keychain.",
            )
            .with_fix("Paste the secret's Value again."));
        }
    }
    let (report, valid) = checked(&input, now)?;
    let moved = existing.cloud().map_or(true, |old| {
        endpoints(&old, &existing.tenant) != endpoints(&valid.cloud, &valid.tenant)
    });
    if moved && keep_old_secret {
        return Err(Error::invalid(
            "secret",
            "The cloud, authority or tenant changed: paste the client secret's Value again. The stored secret is never sent to a new endpoint.",
        )
        .with_fix("Paste the Value of a client secret of this app (Certificates & secrets), or keep the old cloud, authority and tenant."));
    }
    let secret_meta = if keep_old_secret {
        Some(SecretMeta {
            present: true,
            hint: existing.secret_hint.clone(),
            label: valid.secret_label.clone(),
            expires: valid.secret_expires,
        })
    } else if let Some(new) = &valid.secret {
        crate::keychain::replace_client_secret(secrets, &existing.id, new)?;
        Some(meta(&valid, Some(new)))
    } else {
        secrets.delete(&SecretKey::client_secret(&existing.id))?;
        Some(meta(&valid, None))
    };
    store.update_registration(&existing.id, &valid, secret_meta.as_ref(), now)?;
    let mut signed_out = Vec::new();
    if moved {
        for c in store.connections_of_registration(&existing.id)? {
            if c.kind != crate::connection::ConnectionKind::Delegated {
                continue;
            }
            secrets.delete(&SecretKey::new(SecretKind::RefreshToken, c.id.clone()))?;
            let state = crate::connection::TokenState::NeedsSignIn {
                reason: MOVED_REASON.to_owned(),
                aadsts: None,
            };
            store.record_state(&c.id, &state, now)?;
            signed_out.push(c.id);
        }
        tracing::info!(registration = %existing.id, connections = signed_out.len(), "registration moved to another endpoint; its connections need sign-in");
    }
    Ok((store.find_registration(&existing.id)?, report, signed_out))
}

/// Removes a registration. With connections, `cascade` must be set: then they are removed too,
/// with their refresh tokens.
pub fn delete(
    store: &Store,
    secrets: &dyn Keychain,
    id: &str,
    cascade: bool,
) -> Result<Registration> {
    let reg = store.find_registration(id)?;
    let connections = store.connection_ids_of(&reg.id)?;
    if !connections.is_empty() && !cascade {
        let n = connections.len();
        return Err(Error::new(
            ErrorCode::Conflict,
            format!(
                "{n} connection{} use{} \"{}\".",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" },
                reg.name
            ),
        )
        .with_fix("Disconnect them first, or delete the app together with its connections."));
    }
    for c in &connections {
        secrets.delete(&SecretKey::new(SecretKind::RefreshToken, c.clone()))?;
    }
    secrets.delete(&SecretKey::client_secret(&reg.id))?;
    store.delete_registration(&reg.id)?;
    tracing::info!(registration = %reg.id, connections = connections.len(), "registration removed");
    Ok(reg)
}

/// Tests a stored registration against its identity provider and records the outcome.
pub async fn probe(
    store: &Store,
    secrets: &dyn Keychain,
    http: &reqwest::Client,
    id: &str,
    now: DateTime<Utc>,
) -> Result<ProbeReport> {
    let reg = store.find_registration(id)?;
    let secret = if reg.has_secret {
        secrets.get(&SecretKey::client_secret(&reg.id))?
    } else {
        None
    };
    let report = crate::registration::probe::run(&reg, secret.as_ref(), http).await?;
    store.record_registration_test(
        &reg.id,
        &LastTest {
            at: now,
            ok: report.ok,
            summary: report.summary.clone(),
        },
    )?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::cloud::CloudId;
    use crate::keychain::MemoryKeychain;
    use crate::registration::{Audience, ClientKind, Usage};
    use crate::scopes::Preset;

    const VALUE: &str = "Abc8Q~abcdefghijklmnopqrstuvwxyz0123456";

    fn input(name: &str, secret: Option<&str>) -> RegistrationInput {
        RegistrationInput {
            name: name.into(),
            client_id: "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc".into(),
            kind: ClientKind::Confidential,
            tenant: "contoso.onmicrosoft.com".into(),
            cloud: CloudId::Global,
            authority_url: None,
            graph_url: None,
            imap_server: None,
            pop_server: None,
            smtp_server: None,
            usage: Usage::Delegated,
            audience: Audience::AnyOrganization,
            preset: Preset::Read,
            redirect_uri: None,
            secret: secret.map(Sensitive::from),
            secret_expires: NaiveDate::from_ymd_opt(2099, 1, 1),
            secret_label: None,
        }
    }

    fn stored(secrets: &MemoryKeychain, id: &str) -> Option<String> {
        secrets
            .get(&SecretKey::client_secret(id))
            .unwrap()
            .map(|s| s.expose().clone())
    }

    #[test]
    fn the_secret_goes_to_the_keychain_and_only_its_hint_to_sqlite() {
        let (store, secrets) = (Store::open_in_memory().unwrap(), MemoryKeychain::new());
        let (reg, _) = create(&store, &secrets, &input("a", Some(VALUE)), Utc::now()).unwrap();
        assert_eq!(stored(&secrets, &reg.id).as_deref(), Some(VALUE));
        assert!(reg.has_secret);
        assert_eq!(reg.secret_hint.as_deref(), Some("Abc"));
        let dump: String = store
            .conn()
            .query_row("SELECT group_concat(quote(r.name) || quote(r.secret_hint) || quote(r.client_id)) FROM registrations r", [], |r| r.get(0))
            .unwrap();
        assert!(!dump.contains("abcdefghij"), "{dump}");

        let err = create(&store, &secrets, &input("a", Some(VALUE)), Utc::now()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict);
        assert_eq!(err.field(), Some("name"));
        assert_eq!(
            secrets.len(),
            1,
            "a refused registration leaves no secret behind"
        );
    }

    #[test]
    fn editing_replaces_or_keeps_the_secret() {
        let (store, secrets) = (Store::open_in_memory().unwrap(), MemoryKeychain::new());
        let (reg, _) = create(&store, &secrets, &input("a", Some(VALUE)), Utc::now()).unwrap();

        let (kept, _, _) = update(
            &store,
            &secrets,
            &reg.id,
            &input("renamed", None),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(kept.name, "renamed");
        assert_eq!(
            stored(&secrets, &reg.id).as_deref(),
            Some(VALUE),
            "no new secret: the stored one stays"
        );
        assert_eq!(kept.secret_hint.as_deref(), Some("Abc"));

        let new = "Xyz9Q~zyxwvutsrqponmlkjihgfedcba9876543";
        let (replaced, _, _) = update(
            &store,
            &secrets,
            &reg.id,
            &input("renamed", Some(new)),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(stored(&secrets, &reg.id).as_deref(), Some(new));
        assert_eq!(replaced.secret_hint.as_deref(), Some("Xyz"));
        assert_eq!(secrets.len(), 1, "the staging entry is gone");

        let mut public = input("renamed", None);
        public.kind = ClientKind::Public;
        public.secret_expires = None;
        let (public, _, _) = update(&store, &secrets, &reg.id, &public, Utc::now()).unwrap();
        assert!(!public.has_secret);
        assert!(secrets.is_empty(), "a public client keeps no secret");
    }

    #[test]
    fn deleting_an_app_with_connections_needs_cascade() {
        let (store, secrets) = (Store::open_in_memory().unwrap(), MemoryKeychain::new());
        let (reg, _) = create(&store, &secrets, &input("a", Some(VALUE)), Utc::now()).unwrap();
        store
            .conn()
            .execute(
                "INSERT INTO connections (id, registration_id, kind, account_key, address, account_type, preset, \
                 scopes_requested, scopes_granted, state, created_at, updated_at) \
                 VALUES ('c1', ?1, 'delegated', 't.o', 'a@b.c', 'work', 'read', '', '', 'active', ?2, ?2)",
                rusqlite::params![reg.id, Utc::now()],
            )
            .unwrap();
        let rt = SecretKey::new(SecretKind::RefreshToken, "c1");
        secrets.set(&rt, &Sensitive::from("rt")).unwrap();

        let err = delete(&store, &secrets, "a", false).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict);
        assert_eq!(err.message(), "1 connection uses \"a\".");
        assert!(store.find_registration("a").is_ok(), "nothing was deleted");

        delete(&store, &secrets, "a", true).unwrap();
        assert!(store.find_registration("a").is_err());
        assert!(store.list_connections().unwrap().is_empty());
        assert!(
            secrets.is_empty(),
            "client secret and refresh token are gone"
        );
    }

    #[test]
    fn moving_an_app_asks_for_the_secret_again_and_signs_its_connections_out() {
        let (store, secrets) = (Store::open_in_memory().unwrap(), MemoryKeychain::new());
        let (reg, _) = create(&store, &secrets, &input("a", Some(VALUE)), Utc::now()).unwrap();
        store
            .conn()
            .execute(
                "INSERT INTO connections (id, registration_id, kind, account_key, address, account_type, preset, \
                 scopes_requested, scopes_granted, state, has_refresh_token, created_at, updated_at) \
                 VALUES ('c1', ?1, 'delegated', 't.o', 'a@b.c', 'work', 'read', '', '', 'active', 1, ?2, ?2)",
                rusqlite::params![reg.id, Utc::now()],
            )
            .unwrap();
        let rt = SecretKey::new(SecretKind::RefreshToken, "c1");
        secrets.set(&rt, &Sensitive::from("rt")).unwrap();

        // The same endpoints: the stored secret is kept, the connection untouched.
        let (_, _, moved) =
            update(&store, &secrets, &reg.id, &input("a2", None), Utc::now()).unwrap();
        assert!(moved.is_empty());
        assert!(secrets.get(&rt).unwrap().is_some());

        for change in [
            RegistrationInput {
                tenant: "fabrikam.onmicrosoft.com".into(),
                ..input("a", None)
            },
            RegistrationInput {
                cloud: CloudId::China,
                ..input("a", None)
            },
        ] {
            let err = update(&store, &secrets, &reg.id, &change, Utc::now()).unwrap_err();
            assert_eq!(err.field(), Some("secret"), "{err}");
            assert!(
                err.message()
                    .contains("paste the client secret's Value again")
            );
            let c = store.get_connection("c1").unwrap();
            assert_eq!(
                c.state,
                crate::connection::StateKind::Active,
                "nothing changed"
            );
            assert!(secrets.get(&rt).unwrap().is_some());
            assert_eq!(
                store.find_registration(&reg.id).unwrap().tenant,
                "contoso.onmicrosoft.com"
            );
        }

        let new_value = "Xyz8Q~abcdefghijklmnopqrstuvwxyz0123456";
        let moved_input = RegistrationInput {
            tenant: "fabrikam.onmicrosoft.com".into(),
            ..input("a", Some(new_value))
        };
        let (saved, _, moved) =
            update(&store, &secrets, &reg.id, &moved_input, Utc::now()).unwrap();
        assert_eq!(moved, ["c1"]);
        assert_eq!(saved.tenant, "fabrikam.onmicrosoft.com");
        assert_eq!(stored(&secrets, &reg.id).as_deref(), Some(new_value));
        assert!(
            secrets.get(&rt).unwrap().is_none(),
            "the refresh token is gone"
        );
        let c = store.get_connection("c1").unwrap();
        assert_eq!(c.state, crate::connection::StateKind::NeedsSignIn);
        assert_eq!(c.state.reason(), Some(MOVED_REASON));
        assert_eq!(c.next_refresh_at, None);
    }
}
