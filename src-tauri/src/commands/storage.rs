//! Where refresh tokens are kept: one keychain item per token, or sealed in the database with
//! one key in the keychain.

use mailconn_core::keychain::sealed::{StorageMode, StorageStatus, StorageSwitch};

use super::Svc;
use crate::ipc::IpcResult;

/// The mode and how many tokens are sealed (the keychain is not counted: one read per item).
#[tauri::command]
pub async fn storage_mode(service: Svc<'_>) -> IpcResult<StorageStatus> {
    Ok(service.storage(false).await?)
}

/// Moves every token to `mode`; the answer counts what moved (no token crosses IPC).
#[tauri::command]
pub async fn set_storage_mode(service: Svc<'_>, mode: StorageMode) -> IpcResult<StorageSwitch> {
    Ok(service.set_storage(mode, false).await?)
}
