//! App-wide commands: what the status bar shows, the health report, opening links.

use mailconn_core::doctor::{self, Check, DoctorReport};
use mailconn_core::{Error, ErrorCode};
use serde::Serialize;
use tauri::State;
use tauri_plugin_autostart::ManagerExt;
use tauri_plugin_opener::OpenerExt;
use ts_rs::TS;

use crate::AppState;
use crate::ipc::{IpcError, IpcResult, blocking};

/// What the status bar shows.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub keychain: Check,
}

#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> IpcResult<AppInfo> {
    let secrets = state.secrets.clone();
    let data_dir = state.data_dir.root().display().to_string();
    let keychain = blocking(move || Ok(doctor::check_keychain(secrets.as_ref()))).await?;
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_dir,
        keychain,
    })
}

#[tauri::command]
pub async fn run_doctor(state: State<'_, AppState>) -> IpcResult<DoctorReport> {
    let secrets = state.secrets.clone();
    let root = state.data_dir.root().to_path_buf();
    blocking(move || Ok(doctor::run(&root, secrets.as_ref()))).await
}

/// Opens an http(s) link in the system browser. Only web links: never files or other schemes.
#[tauri::command]
pub fn open_url<R: tauri::Runtime>(app: tauri::AppHandle<R>, url: String) -> IpcResult<()> {
    let allowed = url.starts_with("https://") || url.starts_with("http://");
    if !allowed {
        return Err(Error::invalid("url", "Only web links can be opened.").into());
    }
    app.opener().open_url(&url, None::<&str>).map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("Could not open the browser: {e}"),
        )
        .with_fix("Copy the link and open it in your browser yourself.")
        .into()
    })
}

/// Whether the app starts (in the tray) when the user logs in.
#[tauri::command]
pub fn autostart_enabled<R: tauri::Runtime>(app: tauri::AppHandle<R>) -> IpcResult<bool> {
    app.autolaunch()
        .is_enabled()
        .map_err(|e| autostart_error(&e).into())
}

#[tauri::command]
pub fn set_autostart<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    enabled: bool,
) -> IpcResult<bool> {
    let launch = app.autolaunch();
    let result = if enabled {
        launch.enable()
    } else {
        launch.disable()
    };
    result.map_err(|e| IpcError::from(autostart_error(&e)))?;
    launch.is_enabled().map_err(|e| autostart_error(&e).into())
}

fn autostart_error(e: &dyn std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::Internal,
        format!("Start at login could not be changed: {e}"),
    )
    .with_fix("Add Mail Connections to your desktop's startup applications yourself.")
}
