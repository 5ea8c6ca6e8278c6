//! The app's settings (refresh margin, keep-alive, reminder days, notifications per kind, log
//! level): list, read, change and reset them, and apply a change without a restart. The engine
//! takes the refresh margin and keep-alive at once (and computes the schedule again), the
//! reminder scheduler reads its days at every pass, the log file's level changes through its
//! reload handle, notifications are looked up per event. Another process's change (the CLI
//! while the app runs) reaches the app's engine at its next pass (at most a minute), and the
//! log level with it. Types, ranges and the environment's overrides: [`crate::settings`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Service;
use crate::error::{Error, ErrorCode, Result};
use crate::settings::{NotificationKind, SettingInfo, SettingKey, SettingSource, Settings};
use crate::store::Store;

/// Every setting as it stands for this process (saved rows and its environment).
pub fn current(store: &Store) -> Result<Settings> {
    Ok(Settings::with_process_env(&store.saved_settings()?))
}

/// Whether notifications of `kind` are on; a database that cannot be read leaves them on (a
/// missed warning is worse than an unwanted one).
pub fn notifies(store: &Store, kind: NotificationKind) -> bool {
    match current(store) {
        Ok(s) => s.notifies(kind),
        Err(e) => {
            tracing::warn!(error = %e, "the notification setting could not be read");
            true
        }
    }
}

/// The folders the app keeps its own files in; a shell opens only these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    /// The data directory: the database, locks, logs.
    Data,
    /// The log files (one a day, a week kept).
    Logs,
}

impl Service {
    /// Every setting with its value, source and allowed values.
    pub async fn settings(&self) -> Result<Vec<SettingInfo>> {
        self.blocking(|store, _| Ok(current(store)?.list().to_vec()))
            .await
    }

    /// One setting by name (`refresh-margin`).
    pub async fn setting(&self, key: &str) -> Result<SettingInfo> {
        let key = SettingKey::parse(key)?;
        self.blocking(move |store, _| Ok(current(store)?.get(key).clone()))
            .await
    }

    /// Checks and saves a setting, then applies it. While an environment variable overrides it
    /// here, the value is saved (it applies wherever the variable is not set) and the answer
    /// says the variable is still in charge.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<SettingInfo> {
        let key = SettingKey::parse(key)?;
        let text = key.parse_value(value)?.text();
        let now = self.clock.now();
        let settings = self
            .blocking(move |store, _| {
                store.save_setting(key.as_str(), &text, now)?;
                current(store)
            })
            .await?;
        tracing::info!(setting = key.as_str(), value = %settings.get(key).text, "setting saved");
        self.apply_settings(&settings).await?;
        Ok(settings.get(key).clone())
    }

    /// Forgets a saved setting: its default applies again (unless the environment overrides it).
    pub async fn reset_setting(&self, key: &str) -> Result<SettingInfo> {
        let key = SettingKey::parse(key)?;
        let settings = self
            .blocking(move |store, _| {
                store.forget_setting(key.as_str())?;
                current(store)
            })
            .await?;
        tracing::info!(setting = key.as_str(), "setting reset to its default");
        self.apply_settings(&settings).await?;
        Ok(settings.get(key).clone())
    }

    /// Applies settings just changed: the engine's times (and the schedule), the reminders,
    /// the log level.
    async fn apply_settings(&self, settings: &Settings) -> Result<()> {
        if self.engine.apply_settings(settings) {
            let engine = self.engine.clone();
            tokio::task::spawn_blocking(move || engine.reschedule_all())
                .await
                .map_err(|e| Error::internal(format!("a background task failed: {e}")))??;
        }
        self.reminders_changed().await;
        apply_log_filter(settings);
        Ok(())
    }

    /// Sets the log file's level from the saved setting (the shells call it once logging is
    /// set up; later changes apply by themselves).
    pub fn apply_log_level(&self) {
        match current(&self.store) {
            Ok(settings) => apply_log_filter(&settings),
            Err(e) => tracing::warn!(error = %e, "the log level setting could not be read"),
        }
    }

    /// Whether notifications of `kind` are on (the shell asks before a notification of its own).
    pub fn notifies(&self, kind: NotificationKind) -> bool {
        notifies(&self.store, kind)
    }

    /// One of the app's own folders, for a shell to open; refused when it does not exist.
    pub fn folder(&self, which: Folder) -> Result<PathBuf> {
        let path = match which {
            Folder::Data => self.data_dir.root().to_path_buf(),
            Folder::Logs => self.data_dir.logs(),
        };
        if !path.is_dir() {
            return Err(Error::new(
                ErrorCode::DataDir,
                format!("The folder {} does not exist.", path.display()),
            )
            .with_fix("Run `mailconn doctor` to check the data directory."));
        }
        Ok(path)
    }
}

/// The log file's filter from the settings (the environment variable, when set, stays in charge).
pub(super) fn apply_log_filter(settings: &Settings) {
    let entry = settings.get(SettingKey::LogLevel);
    if entry.source == SettingSource::Environment {
        return;
    }
    if let Some(filter) = settings.log_filter()
        && let Err(e) = crate::logging::set_file_filter(&filter)
    {
        tracing::warn!(error = %e, "the log level could not be changed");
    }
}
