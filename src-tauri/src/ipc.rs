//! How errors cross IPC: always `{ code, message, detail? }` (see `ErrorBody`).

use mailconn_core::{Error, ErrorBody};
use serde::Serialize;

/// A command's error; serializes as the core's [`ErrorBody`].
#[derive(Debug)]
pub struct IpcError(pub Box<ErrorBody>);

impl From<Error> for IpcError {
    fn from(e: Error) -> Self {
        tracing::warn!(code = ?e.code(), error = %e, "command failed");
        IpcError(Box::new(e.body()))
    }
}

impl Serialize for IpcError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

pub type IpcResult<T> = Result<T, IpcError>;

/// Runs blocking core work (`SQLite`, keychain) off the async runtime's threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> mailconn_core::Result<T> + Send + 'static,
) -> IpcResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| IpcError::from(Error::internal(format!("a background task failed: {e}"))))?
        .map_err(IpcError::from)
}
