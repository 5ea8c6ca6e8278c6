//! App-wide commands: the first screen's data, what the status bar shows, the health report, opening links, start at
//! login.

use mailconn_core::doctor::DoctorReport;
use mailconn_core::service::system::{About, AppInfo, Component, Dashboard, check_web_link};
use mailconn_core::{Error, ErrorCode};
use tauri_plugin_autostart::ManagerExt;
use tauri_plugin_opener::OpenerExt;

use super::Svc;
use crate::ipc::{IpcError, IpcResult};

/// The first screen's data in one round trip (later refreshes use the separate commands); with
/// `first_rows`, only that many connections, the first the list shows (the page asks for the
/// rest once the first screen is painted).
#[tauri::command]
pub async fn dashboard(service: Svc<'_>, first_rows: Option<u32>) -> IpcResult<Dashboard> {
    let started = std::time::Instant::now();
    let limit = first_rows.map(|n| n as usize);
    let dashboard = service.dashboard_first(limit).await?;
    tracing::debug!(
        connections = dashboard.connections.len(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "dashboard read"
    );
    Ok(dashboard)
}

#[tauri::command]
pub async fn app_info(service: Svc<'_>) -> IpcResult<AppInfo> {
    Ok(service.app_info().await?)
}

/// Core's About with the desktop's own parts: Tauri and the system web view.
#[tauri::command]
pub fn about(service: Svc<'_>) -> About {
    let mut about = service.about();
    about.components.push(Component {
        name: "Tauri".to_owned(),
        version: tauri::VERSION.to_owned(),
    });
    about.components.push(Component {
        name: WEBVIEW.to_owned(),
        version: tauri::webview_version().unwrap_or_else(|e| format!("unknown ({e})")),
    });
    about
}

/// The system web view the window draws with.
const WEBVIEW: &str = if cfg!(target_os = "windows") {
    "WebView2"
} else if cfg!(target_os = "macos") {
    "WebKit"
} else {
    "WebKitGTK"
};

#[tauri::command]
pub async fn run_doctor(service: Svc<'_>) -> IpcResult<DoctorReport> {
    Ok(service.doctor().await?)
}

/// Opens an http(s) link in the system browser.
#[tauri::command]
pub fn open_url<R: tauri::Runtime>(app: tauri::AppHandle<R>, url: String) -> IpcResult<()> {
    check_web_link(&url)?;
    app.opener().open_url(&url, None::<&str>).map_err(|e| {
        shell_error(
            &e,
            "Could not open the browser",
            "Copy the link and open it in your browser yourself.",
        )
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
    shell_error(
        e,
        "Start at login could not be changed",
        "Add Mail Connections to your desktop's startup applications yourself.",
    )
}

/// What the desktop itself refused (the browser, the autostart entry).
fn shell_error(e: &dyn std::fmt::Display, what: &str, fix: &str) -> Error {
    Error::new(ErrorCode::Internal, format!("{what}: {e}")).with_fix(fix)
}
