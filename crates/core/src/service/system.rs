//! The app as a whole: what the status bar shows, the health report, and which links a shell may
//! open for the user.

use serde::Serialize;
use ts_rs::TS;

use super::Service;
use crate::doctor::{self, Check, DoctorReport};
use crate::error::{Error, Result};

/// What the status bar shows.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub keychain: Check,
}

impl Service {
    pub async fn app_info(&self) -> Result<AppInfo> {
        let data_dir = self.data_dir.root().display().to_string();
        let keychain = self
            .blocking(|_, keychain| Ok(doctor::check_keychain(keychain)))
            .await?;
        Ok(AppInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            data_dir,
            keychain,
        })
    }

    /// Data directory, database and keychain, with how to fix what is wrong.
    pub async fn doctor(&self) -> Result<DoctorReport> {
        let root = self.data_dir.root().to_path_buf();
        self.blocking(move |_, keychain| Ok(doctor::run(&root, keychain)))
            .await
    }
}

/// Only web links are opened for the user: never files or other schemes.
pub fn check_web_link(url: &str) -> Result<()> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(Error::invalid("url", "Only web links can be opened."))
    }
}
