//! Connection commands: start a browser or device sign-in, wait for it, cancel it; list,
//! disconnect, history, refresh, verify, and live updates for the page.

use mailconn_core::connect::ConnectOptions;
use mailconn_core::connection::Connection;
use mailconn_core::engine::RefreshReport;
use mailconn_core::mail_programs::Snippet;
use mailconn_core::service::connections::HISTORY_LIMIT;
use mailconn_core::service::sign_in::{BrowserSignIn, Connected, DeviceSignIn};
use mailconn_core::service::{ConnectionEvent, ServiceEvent};
use mailconn_core::store::events::Event;
use mailconn_core::verification::{Verification, VerifyOptions};
use tauri::ipc::Channel;
use tauri_plugin_opener::OpenerExt;

use super::Svc;
use crate::ipc::IpcResult;

/// Starts a sign-in and opens its link in the system browser.
#[tauri::command]
pub async fn start_browser_sign_in<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    service: Svc<'_>,
    options: ConnectOptions,
) -> IpcResult<BrowserSignIn> {
    let mut started = service.start_browser_sign_in(&options, None).await?;
    started.opened = app.opener().open_url(&started.url, None::<&str>).is_ok();
    Ok(started)
}

#[tauri::command]
pub async fn start_device_sign_in(
    service: Svc<'_>,
    options: ConnectOptions,
) -> IpcResult<DeviceSignIn> {
    Ok(service.start_device_sign_in(&options).await?)
}

/// Waits until the sign-in finishes, fails, times out or is cancelled, then stores it. A sign-in
/// that came back as another account than its login hint fails (code `conflict`, field
/// `login_hint`) and is held: calling again with `saveAnyway: true` saves it.
#[tauri::command]
pub async fn finish_sign_in(
    service: Svc<'_>,
    attempt: String,
    save_anyway: Option<bool>,
) -> IpcResult<Connected> {
    if save_anyway == Some(true) {
        return Ok(service.confirm_sign_in(&attempt).await?);
    }
    Ok(service.finish_sign_in(&attempt).await?)
}

#[tauri::command]
pub fn cancel_sign_in(service: Svc<'_>, attempt: String) {
    service.cancel_sign_in(&attempt);
}

#[tauri::command]
pub async fn list_connections(service: Svc<'_>) -> IpcResult<Vec<Connection>> {
    Ok(service.connections().await?)
}

#[tauri::command]
pub async fn disconnect_connection(service: Svc<'_>, id: String) -> IpcResult<()> {
    service.disconnect(&id).await?;
    Ok(())
}

/// "Refresh now": the report says whether it worked and, if not, why (also stored as the state).
#[tauri::command]
pub async fn refresh_connection(service: Svc<'_>, id: String) -> IpcResult<RefreshReport> {
    Ok(service.refresh(&id).await?)
}

/// "Verify": Graph and IMAP/POP/SMTP checks as the scopes allow (no test message), recorded in
/// the connection's history.
#[tauri::command]
pub async fn verify_connection(service: Svc<'_>, id: String) -> IpcResult<Verification> {
    Ok(service.verify(&id, VerifyOptions::default()).await?)
}

#[tauri::command]
pub async fn refresh_all_connections(service: Svc<'_>) -> IpcResult<Vec<RefreshReport>> {
    Ok(service.refresh_all().await?)
}

/// "Verify all" on the dashboard: every connection, as `verify_connection` does one.
#[tauri::command]
pub async fn verify_all_connections(service: Svc<'_>) -> IpcResult<Vec<Verification>> {
    Ok(service.verify_all(VerifyOptions::default()).await?)
}

/// Subscribes the page to connection changes (states, schedules, new problems).
#[tauri::command]
pub fn watch_connections(service: Svc<'_>, on_event: Channel<ConnectionEvent>) {
    crate::background::forward(&service, on_event, |e| match e {
        ServiceEvent::Connection(c) => Some(c),
        _ => None,
    });
}

/// The detail page's "Programs may use this connection" switch: lets programs and scripts
/// (`mailconn token`) fetch the connection's tokens, or stops them.
#[tauri::command]
pub async fn set_program_access(
    service: Svc<'_>,
    id: String,
    allowed: bool,
) -> IpcResult<Connection> {
    Ok(service.set_program_access(&id, allowed).await?)
}

/// Sets (or with `null` clears) the connection's short name for the command line.
#[tauri::command]
pub async fn set_connection_alias(
    service: Svc<'_>,
    id: String,
    alias: Option<String>,
) -> IpcResult<Connection> {
    Ok(service.set_alias(&id, alias.as_deref()).await?)
}

/// "Use in a mail program": core's settings of every program for the connection.
#[tauri::command]
pub async fn mail_program_settings(service: Svc<'_>, id: String) -> IpcResult<Vec<Snippet>> {
    Ok(service.mail_program_settings(&id, None, None).await?)
}

#[tauri::command]
pub async fn connection_history(service: Svc<'_>, id: String) -> IpcResult<Vec<Event>> {
    Ok(service.history(&id, HISTORY_LIMIT).await?)
}
