//! Client-secret commands: reminders (and their live updates), the app's secrets as Graph lists
//! them, a corrected end date, the portal link, and verified rotation (pasted or through Graph).

use chrono::NaiveDate;
use mailconn_core::client_secret::credentials::AppSecrets;
use mailconn_core::client_secret::reminders::Reminder;
use mailconn_core::client_secret::rotation::{RotationInput, RotationReport};
use mailconn_core::registration::Registration;
use mailconn_core::service::ServiceEvent;
use tauri::ipc::Channel;

use super::Svc;
use crate::ipc::IpcResult;

#[tauri::command]
pub async fn list_reminders(service: Svc<'_>) -> IpcResult<Vec<Reminder>> {
    Ok(service.reminders(None).await?)
}

/// Subscribes the page to reminder changes (at each threshold and after every change).
#[tauri::command]
pub fn watch_reminders(service: Svc<'_>, on_change: Channel<Vec<Reminder>>) {
    crate::background::forward(&service, on_change, |e| match e {
        ServiceEvent::Reminders(list) => Some(list),
        _ => None,
    });
}

/// The stored secret and, when the app may read them, all its secrets in Entra.
#[tauri::command]
pub async fn app_secrets(service: Svc<'_>, id: String) -> IpcResult<AppSecrets> {
    Ok(service.app_secrets(&id, false).await?)
}

/// Corrects the stored secret's end date.
#[tauri::command]
pub async fn set_secret_expiry(
    service: Svc<'_>,
    id: String,
    expires: NaiveDate,
) -> IpcResult<Registration> {
    Ok(service.set_secret_expiry(&id, expires).await?)
}

/// The portal's "Certificates & secrets" page of the app, in its cloud.
#[tauri::command]
pub async fn secret_portal_url(service: Svc<'_>, id: String) -> IpcResult<String> {
    Ok(service.secret_portal_url(&id).await?)
}

/// Verifies the pasted secret, swaps it into the keychain, re-verifies every connection.
#[tauri::command]
pub async fn rotate_secret(
    service: Svc<'_>,
    id: String,
    input: RotationInput,
) -> IpcResult<RotationReport> {
    Ok(service.rotate_secret(&id, &input).await?)
}

/// Creates the new secret through Graph, verifies and swaps it, then removes the old one.
#[tauri::command]
pub async fn rotate_secret_via_graph(
    service: Svc<'_>,
    id: String,
    expires: NaiveDate,
) -> IpcResult<RotationReport> {
    Ok(service.rotate_secret_via_graph(&id, Some(expires)).await?)
}
