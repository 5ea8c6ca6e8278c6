//! The Settings page: the app's settings, its own folders, and registrations exported and
//! imported without secrets (a file the person names, pasted text, or a `mailconn://import`
//! link the OS delivered, confirmed on screen).

use std::path::PathBuf;

use mailconn_core::service::ServiceEvent;
use mailconn_core::service::settings::Folder;
use mailconn_core::service::transfer::{
    ExportWritten, ImportOffer, ImportPreview, ImportReport, ImportSource,
};
use mailconn_core::settings::SettingInfo;
use mailconn_core::{Error, ErrorCode};
use tauri::ipc::Channel;
use tauri_plugin_opener::OpenerExt;

use super::Svc;
use crate::ipc::IpcResult;

#[tauri::command]
pub async fn list_settings(service: Svc<'_>) -> IpcResult<Vec<SettingInfo>> {
    Ok(service.settings().await?)
}

/// Saves and applies a setting; the answer is the setting as it now stands.
#[tauri::command]
pub async fn set_setting(service: Svc<'_>, key: String, value: String) -> IpcResult<SettingInfo> {
    Ok(service.set_setting(&key, &value).await?)
}

#[tauri::command]
pub async fn reset_setting(service: Svc<'_>, key: String) -> IpcResult<SettingInfo> {
    Ok(service.reset_setting(&key).await?)
}

/// Opens the data or log folder in the file manager; no other path can be named.
#[tauri::command]
pub fn open_folder<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    service: Svc<'_>,
    folder: Folder,
) -> IpcResult<()> {
    let path = service.folder(folder)?;
    app.opener()
        .open_path(path.display().to_string(), None::<&str>)
        .map_err(|e| not_opened(&path, &e).into())
}

/// What the file manager's refusal tells the person.
fn not_opened(path: &std::path::Path, e: &dyn std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::Internal,
        format!("The file manager did not open {}: {e}", path.display()),
    )
    .with_fix("Open the folder yourself; its path is shown next to the button.")
}

/// The JSON export of every registration (no secret in it).
#[tauri::command]
pub async fn export_registrations(service: Svc<'_>) -> IpcResult<String> {
    Ok(service.export_registrations(&[]).await?)
}

/// Writes the export to the file the person typed.
#[tauri::command]
pub async fn save_registrations_export(
    service: Svc<'_>,
    path: String,
    replace: bool,
) -> IpcResult<ExportWritten> {
    Ok(service
        .write_registrations_export(&PathBuf::from(path), &[], replace)
        .await?)
}

/// The `mailconn://import` link of one registration.
#[tauri::command]
pub async fn registration_import_link(service: Svc<'_>, id: String) -> IpcResult<String> {
    Ok(service.import_link(&id).await?)
}

/// What importing would do; nothing is saved.
#[tauri::command]
pub async fn preview_import(service: Svc<'_>, source: ImportSource) -> IpcResult<ImportPreview> {
    Ok(service.preview_import(source).await?)
}

/// Checks again and saves what is new (after the person confirmed the preview).
#[tauri::command]
pub async fn import_registrations(
    service: Svc<'_>,
    source: ImportSource,
) -> IpcResult<ImportReport> {
    Ok(service.import_registrations(source).await?)
}

/// Import links the OS delivers: the one waiting now, then each new one.
#[tauri::command]
pub fn watch_import_links(service: Svc<'_>, on_offer: Channel<ImportOffer>) {
    let pending = service.pending_import_offer();
    crate::background::forward(&service, on_offer.clone(), |event| match event {
        ServiceEvent::ImportOffer(offer) => Some(*offer),
        _ => None,
    });
    if let Some(offer) = pending {
        let _ = on_offer.send(offer);
    }
}

/// The person declined the link shown.
#[tauri::command]
pub fn dismiss_import_link(service: Svc<'_>) {
    service.dismiss_import_offer();
}
