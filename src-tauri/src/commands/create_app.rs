//! "Create it for me": the plan, the administrator's sign-in (opened in the system browser, or a
//! device code), the creation with progress over a channel, cancel; and the local Azure CLI.

use mailconn_core::Service;
use mailconn_core::registration::export::PlanInput;
use mailconn_core::service::azure_cli::{AzScriptRun, AzureCli};
use mailconn_core::service::create_app::{
    AdminSignIn, CreateAppInput, CreateAppPlan, CreateProgress, CreatedApp,
};
use tauri::ipc::Channel;
use tauri_plugin_opener::OpenerExt;

use super::Svc;
use crate::ipc::IpcResult;

#[tauri::command]
pub fn create_app_plan(service: Svc<'_>, input: CreateAppInput) -> IpcResult<CreateAppPlan> {
    Ok(service.create_app_plan(&input)?)
}

/// Starts the administrator's sign-in; a browser sign-in's link is opened in the system browser.
#[tauri::command]
pub async fn start_create_app<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    service: Svc<'_>,
    input: CreateAppInput,
    device_code: bool,
) -> IpcResult<AdminSignIn> {
    let mut started = service.start_create_app(&input, device_code, None).await?;
    if let Some(url) = &started.url {
        started.opened = app.opener().open_url(url, None::<&str>).is_ok();
    }
    Ok(started)
}

/// Waits for the administrator, then creates, saves and tests the app; each step is sent on
/// `progress` as it happens.
#[tauri::command]
pub async fn finish_create_app(
    service: Svc<'_>,
    attempt: String,
    progress: Channel<CreateProgress>,
) -> IpcResult<CreatedApp> {
    let send = move |p| {
        if let Err(e) = progress.send(p) {
            tracing::debug!(error = %e, "progress not delivered");
        }
    };
    Ok(service.finish_create_app(&attempt, &send).await?)
}

#[tauri::command]
pub fn cancel_create_app(service: Svc<'_>, attempt: String) {
    service.cancel_create_app(&attempt);
}

/// Whether a local Azure CLI is installed and signed in.
#[tauri::command]
pub async fn azure_cli(service: Svc<'_>) -> IpcResult<AzureCli> {
    Ok(service.azure_cli().await)
}

/// The exported `az` script for the choices, shown in full before it is run.
#[tauri::command]
pub fn az_script(input: PlanInput) -> IpcResult<String> {
    Ok(Service::az_script(&input)?)
}

/// Runs that script with the local Azure CLI (after the person confirmed) and saves the app.
#[tauri::command]
pub async fn run_az_script(service: Svc<'_>, input: PlanInput) -> IpcResult<AzScriptRun> {
    Ok(service.run_az_script(&input).await?)
}
