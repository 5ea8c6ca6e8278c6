//! App registration commands: the wizard's plan, validation, add/edit/remove, test, consent link.

use chrono::Utc;
use mailconn_core::registration::export::{PlanInfo, PlanInput, plan_info};
use mailconn_core::registration::probe::ProbeReport;
use mailconn_core::registration::{
    Registration, RegistrationInput, ValidationReport, service, validate,
};
use mailconn_core::scopes::{Preset, PresetInfo};
use mailconn_core::{Error, Result};
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

use crate::AppState;
use crate::ipc::{IpcResult, blocking};

/// A saved registration and the warnings that did not stop it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Saved {
    pub registration: Registration,
    pub warnings: ValidationReport,
}

#[tauri::command]
pub fn scope_presets() -> Vec<PresetInfo> {
    Preset::ALL.into_iter().map(Preset::info).collect()
}

#[tauri::command]
pub fn registration_plan(input: PlanInput) -> IpcResult<PlanInfo> {
    Ok(plan_info(&input)?)
}

#[tauri::command]
pub fn validate_registration(input: RegistrationInput) -> ValidationReport {
    validate(&input, Utc::now().date_naive()).0
}

#[tauri::command]
pub async fn list_registrations(state: State<'_, AppState>) -> IpcResult<Vec<Registration>> {
    let store = state.store.clone();
    blocking(move || store.list_registrations()).await
}

#[tauri::command]
pub async fn create_registration(
    state: State<'_, AppState>,
    input: RegistrationInput,
) -> IpcResult<Saved> {
    let (store, secrets) = (state.store.clone(), state.secrets.clone());
    blocking(move || {
        let (registration, warnings) =
            service::create(&store, secrets.as_ref(), &input, Utc::now())?;
        Ok(Saved {
            registration,
            warnings,
        })
    })
    .await
}

#[tauri::command]
pub async fn update_registration(
    state: State<'_, AppState>,
    id: String,
    input: RegistrationInput,
) -> IpcResult<Saved> {
    let (store, secrets) = (state.store.clone(), state.secrets.clone());
    blocking(move || {
        let (registration, warnings) =
            service::update(&store, secrets.as_ref(), &id, &input, Utc::now())?;
        Ok(Saved {
            registration,
            warnings,
        })
    })
    .await
}

#[tauri::command]
pub async fn delete_registration(
    state: State<'_, AppState>,
    id: String,
    cascade: bool,
) -> IpcResult<()> {
    let (store, secrets) = (state.store.clone(), state.secrets.clone());
    blocking(move || service::delete(&store, secrets.as_ref(), &id, cascade).map(|_| ())).await
}

#[tauri::command]
pub async fn probe_registration(state: State<'_, AppState>, id: String) -> IpcResult<ProbeReport> {
    let (store, secrets, http) = (
        state.store.clone(),
        state.secrets.clone(),
        state.http.clone(),
    );
    Ok(service::probe(&store, secrets.as_ref(), &http, &id, Utc::now()).await?)
}

#[tauri::command]
pub async fn admin_consent_url(state: State<'_, AppState>, id: String) -> IpcResult<String> {
    let store = state.store.clone();
    blocking(move || -> Result<String> {
        let reg = store.find_registration(&id)?;
        if reg.tenant == "consumers" {
            return Err(Error::invalid("tenant", "Personal accounts have no administrator; admin consent applies to organisations only."));
        }
        Ok(reg.cloud()?.admin_consent_url(&reg.tenant, &reg.client_id, &reg.redirect_uri))
    })
    .await
}
