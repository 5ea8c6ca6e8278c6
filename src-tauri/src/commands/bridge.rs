//! Bridge commands: its status for the Bridge page, start and stop, settings, the local
//! passwords (a new one is shown once), the settings to type into a program, the certificate,
//! and live updates for the page.

use mailconn_core::bridge::{BridgePassword, BridgeSettings, BridgeStatus};
use mailconn_core::service::bridge::{PortOverrides, ProgramSetting};
use serde::Serialize;
use tauri::ipc::Channel;
use ts_rs::TS;

use super::Svc;
use crate::background::{BridgeSignal, BridgeSignals};
use crate::ipc::IpcResult;

/// A password just made, with the password itself: the one answer that ever carries it.
#[derive(Debug, Serialize, TS)]
pub struct ShownOnce {
    pub entry: BridgePassword,
    pub password: String,
}

/// The bridge's certificate, for programs that trust it by its file or fingerprint.
#[derive(Debug, Serialize, TS)]
pub struct BridgeCertificate {
    pub pem: String,
    /// SHA-256 of the DER, as `AB:CD:...`.
    pub fingerprint: String,
    pub names: Vec<String>,
}

#[tauri::command]
pub async fn bridge_status(service: Svc<'_>) -> IpcResult<BridgeStatus> {
    Ok(service.bridge_status().await?)
}

/// Starts the listeners on the saved settings (a listener that cannot bind says why in its status).
#[tauri::command]
pub async fn start_bridge(service: Svc<'_>) -> IpcResult<BridgeStatus> {
    Ok(service.start_bridge(PortOverrides::default()).await?)
}

/// Stops the listeners and ends every session.
#[tauri::command]
pub async fn stop_bridge(service: Svc<'_>) -> IpcResult<BridgeStatus> {
    Ok(service.stop_bridge().await?)
}

/// Checks and saves the settings; a running bridge restarts on them.
#[tauri::command]
pub async fn set_bridge_settings(
    service: Svc<'_>,
    settings: BridgeSettings,
) -> IpcResult<BridgeStatus> {
    Ok(service.set_bridge_settings(settings).await?)
}

/// "Add a program or device": a new password for it on the connection, shown this once.
#[tauri::command]
pub async fn add_bridge_password(
    service: Svc<'_>,
    connection: String,
    program: String,
) -> IpcResult<ShownOnce> {
    let added = service.add_bridge_password(&connection, &program).await?;
    let password = added.password.expose().clone();
    Ok(ShownOnce {
        entry: added.entry,
        password,
    })
}

/// Removes a password; the sessions logged in with it end at once.
#[tauri::command]
pub async fn remove_bridge_password(service: Svc<'_>, id: String) -> IpcResult<BridgePassword> {
    Ok(service.remove_bridge_password(&id, None).await?)
}

/// Server, port, security and user name per protocol, for one password's program.
#[tauri::command]
pub async fn bridge_program_settings(
    service: Svc<'_>,
    id: String,
) -> IpcResult<Vec<ProgramSetting>> {
    Ok(service.bridge_program_settings(&id).await?)
}

#[tauri::command]
pub async fn bridge_certificate(service: Svc<'_>) -> IpcResult<BridgeCertificate> {
    let c = service.bridge_certificate().await?;
    Ok(BridgeCertificate {
        pem: c.pem,
        fingerprint: c.fingerprint,
        names: c.names,
    })
}

/// Subscribes the interface to the bridge: `changed` (sessions, passwords, start and stop; a
/// burst arrives as one) and `show` (the tray's "Bridge" entry).
#[tauri::command]
pub fn watch_bridge(signals: tauri::State<'_, BridgeSignals>, on_signal: Channel<BridgeSignal>) {
    let mut rx = signals.subscribe();
    tauri::async_runtime::spawn(async move {
        while let Ok(signal) = crate::background::next_signal(&mut rx).await {
            if on_signal.send(signal).is_err() {
                break;
            }
        }
    });
}
