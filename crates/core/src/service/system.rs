//! The app as a whole: what the status bar shows, the health report, and which links a shell may
//! open for the user.

use serde::Serialize;
use ts_rs::TS;

use super::Service;
use crate::client_secret::reminders::{self, Reminder};
use crate::connection::Connection;
use crate::doctor::{self, Check, DoctorReport};
use crate::error::{Error, Result};
use crate::registration::Registration;

/// What the status bar shows.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub keychain: Check,
}

/// What the first screen shows, read in one go: the status bar's version and data directory, the
/// apps (whether anyone can sign in), the connections and the client-secret reminders. The
/// keychain check ([`AppInfo::keychain`], a write and a read) is not in it: it is the slow part,
/// so the status bar asks for it once the screen is up.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Dashboard {
    pub version: String,
    pub data_dir: String,
    pub registrations: Vec<Registration>,
    pub connections: Vec<Connection>,
    pub reminders: Vec<Reminder>,
}

impl Service {
    /// The first screen's data in one call (one blocking task, two reads of the database).
    pub async fn dashboard(&self) -> Result<Dashboard> {
        let data_dir = self.data_dir.root().display().to_string();
        let now = self.clock.now();
        let thresholds = self.reminders.thresholds();
        let (registrations, connections, reminders) = self
            .blocking(move |store, _| {
                let registrations = store.list_registrations()?;
                let connections = store.list_connections()?;
                // As `watch::current` computes them, from the rows just read.
                let broken = reminders::broken_counts(&connections);
                let reminders = reminders::compute(
                    &registrations,
                    &|id| broken.get(id).copied().unwrap_or(0),
                    now,
                    &thresholds,
                );
                Ok((registrations, connections, reminders))
            })
            .await?;
        Ok(Dashboard {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            data_dir,
            registrations,
            connections,
            reminders,
        })
    }

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
