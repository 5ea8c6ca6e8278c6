//! App registration commands: the wizard's plan, validation, add/edit/remove, probe, consent link.

use mailconn_core::Service;
use mailconn_core::registration::export::{PlanInfo, PlanInput};
use mailconn_core::registration::probe::ProbeReport;
use mailconn_core::registration::{Registration, RegistrationInput, ValidationReport};
use mailconn_core::scopes::PresetInfo;
use mailconn_core::service::registrations::Saved;

use super::Svc;
use crate::ipc::IpcResult;

#[tauri::command]
pub fn scope_presets() -> Vec<PresetInfo> {
    Service::presets()
}

#[tauri::command]
pub fn registration_plan(input: PlanInput) -> IpcResult<PlanInfo> {
    Ok(Service::plan(&input)?)
}

#[tauri::command]
pub fn validate_registration(service: Svc<'_>, input: RegistrationInput) -> ValidationReport {
    service.validate_registration(&input)
}

#[tauri::command]
pub async fn list_registrations(service: Svc<'_>) -> IpcResult<Vec<Registration>> {
    Ok(service.registrations().await?)
}

#[tauri::command]
pub async fn create_registration(service: Svc<'_>, input: RegistrationInput) -> IpcResult<Saved> {
    Ok(service.add_registration(input).await?)
}

#[tauri::command]
pub async fn update_registration(
    service: Svc<'_>,
    id: String,
    input: RegistrationInput,
) -> IpcResult<Saved> {
    Ok(service.update_registration(&id, input).await?)
}

#[tauri::command]
pub async fn remove_registration(service: Svc<'_>, id: String, cascade: bool) -> IpcResult<()> {
    service.remove_registration(&id, cascade).await?;
    Ok(())
}

#[tauri::command]
pub async fn probe_registration(service: Svc<'_>, id: String) -> IpcResult<ProbeReport> {
    Ok(service.probe_registration(&id).await?)
}

#[tauri::command]
pub async fn admin_consent_url(service: Svc<'_>, id: String) -> IpcResult<String> {
    Ok(service.admin_consent_url(&id).await?)
}
