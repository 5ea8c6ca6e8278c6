//! Where refresh and access tokens are kept: one keychain item per token (the default), or the
//! sealed store (one key in the keychain, tokens sealed in the database); see
//! [`crate::keychain::sealed`].

use super::Service;
use crate::error::{Error, Result};
use crate::keychain::sealed::{StorageMode, StorageStatus, StorageSwitch};

impl Service {
    /// The storage mode and how many tokens are where. `count_keychain` reads every expected
    /// keychain entry to count them (one read per entry).
    pub async fn storage(&self, count_keychain: bool) -> Result<StorageStatus> {
        let sealed = self.sealed.clone();
        tokio::task::spawn_blocking(move || sealed.status(count_keychain).map_err(Error::from))
            .await
            .map_err(|e| Error::internal(format!("a background task failed: {e}")))?
    }

    /// Moves every token to `mode` (finishing an interrupted switch first). `forget_sealed`
    /// drops sealed tokens that cannot be opened instead of stopping at them.
    pub async fn set_storage(
        &self,
        mode: StorageMode,
        forget_sealed: bool,
    ) -> Result<StorageSwitch> {
        let sealed = self.sealed.clone();
        tokio::task::spawn_blocking(move || sealed.switch(mode, forget_sealed).map_err(Error::from))
            .await
            .map_err(|e| Error::internal(format!("a background task failed: {e}")))?
    }

    /// Finishes a switch another run left unfinished (a crash, `kill -9`); errors are logged.
    pub(super) async fn finish_storage_switch(&self) {
        let sealed = self.sealed.clone();
        match tokio::task::spawn_blocking(move || sealed.resume()).await {
            Ok(Ok(Some(done))) => {
                tracing::info!(
                    to = done.to.as_str(),
                    "finished an interrupted storage switch"
                );
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "an interrupted storage switch is unfinished"),
            Err(e) => tracing::warn!(error = %e, "storage switch task failed"),
        }
    }
}
