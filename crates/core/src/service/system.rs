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
use crate::settings::Theme;

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
    /// Every connection, or with a limit asked for, the first ones in the list's first order
    /// (by address, as [`first_in_list_order`] sorts): the rest follow with `list_connections`.
    pub connections: Vec<Connection>,
    /// How many connections there are in all (more than `connections` holds when limited).
    pub connections_total: u32,
    pub reminders: Vec<Reminder>,
    /// The appearance setting, so the first paint is in the chosen theme.
    pub theme: Theme,
}

/// A part the app is made of, and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Component {
    pub name: String,
    pub version: String,
}

/// A web page the About screen links to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AboutLink {
    pub label: String,
    pub url: String,
}

/// What the About screen (and `mailconn about`) shows: versions, licence, links, and where the
/// data and logs are. A shell appends its own parts (the desktop app: Tauri and the web view).
#[derive(Debug, Clone, Serialize, TS)]
pub struct About {
    pub name: String,
    pub version: String,
    /// An SPDX expression.
    pub licence: String,
    pub components: Vec<Component>,
    /// `linux x86_64`, `macos aarch64`, `windows x86_64`.
    pub platform: String,
    pub data_dir: String,
    pub database: String,
    pub logs_dir: String,
    pub links: Vec<AboutLink>,
}

/// The licences the app is offered under and Microsoft's own documentation of what it sets up.
pub const ABOUT_LINKS: [(&str, &str); 5] = [
    ("MIT licence", "https://opensource.org/license/mit"),
    (
        "Apache License 2.0",
        "https://www.apache.org/licenses/LICENSE-2.0",
    ),
    (
        "Register an application in Microsoft Entra ID",
        "https://learn.microsoft.com/entra/identity-platform/quickstart-register-app",
    ),
    (
        "OAuth for IMAP, POP and SMTP in Exchange Online",
        "https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth",
    ),
    (
        "Microsoft Graph permissions reference",
        "https://learn.microsoft.com/graph/permissions-reference",
    ),
];

impl Service {
    /// Versions, licence, links and the app's folders. Reads nothing but the paths.
    pub fn about(&self) -> About {
        About {
            name: "Mail Connections".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            licence: env!("CARGO_PKG_LICENSE").to_owned(),
            components: vec![Component {
                name: "mailconn-core".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            }],
            platform: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            data_dir: self.data_dir.root().display().to_string(),
            database: self.data_dir.database().display().to_string(),
            logs_dir: self.data_dir.logs().display().to_string(),
            links: ABOUT_LINKS
                .iter()
                .map(|(label, url)| AboutLink {
                    label: (*label).to_owned(),
                    url: (*url).to_owned(),
                })
                .collect(),
        }
    }

    /// The first screen's data in one call (one blocking task reading the database).
    pub async fn dashboard(&self) -> Result<Dashboard> {
        self.dashboard_first(None).await
    }

    /// As [`Self::dashboard`], with at most `limit` connections: the first the list shows in its
    /// first order. The reminders still count every connection. A long list's first screen is
    /// then not held up by sending, reading and preparing rows nobody sees yet.
    pub async fn dashboard_first(&self, limit: Option<usize>) -> Result<Dashboard> {
        let data_dir = self.data_dir.root().display().to_string();
        let now = self.clock.now();
        let thresholds = self.reminders.thresholds();
        let (registrations, connections, connections_total, reminders, theme) = self
            .blocking(move |store, _| {
                let theme = super::settings::current(store)?.theme();
                let registrations = store.list_registrations()?;
                // A long list: the keys of every row, whole rows only for the first screen.
                let keys = match limit {
                    Some(n) => Some(store.connection_addresses()?).filter(|k| n < k.len()),
                    None => None,
                };
                let (connections, total) = if let (Some(keys), Some(n)) = (keys, limit) {
                    let total = keys.len();
                    (
                        store.connections_by_ids(&first_in_list_order(keys, n))?,
                        total,
                    )
                } else {
                    let all = store.list_connections()?;
                    let total = all.len();
                    (all, total)
                };
                // As `watch::current` counts them.
                let broken = store.secret_expired_counts()?;
                let reminders = reminders::compute(
                    &registrations,
                    &|id| broken.get(id).copied().unwrap_or(0),
                    now,
                    &thresholds,
                );
                let total = u32::try_from(total).unwrap_or(u32::MAX);
                Ok((registrations, connections, total, reminders, theme))
            })
            .await?;
        Ok(Dashboard {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            data_dir,
            registrations,
            connections,
            connections_total,
            reminders,
            theme,
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

/// The ids of the first `limit` connections (given as id and address) in the order the
/// connection list opens with (`ui/src/lib/connections/query.ts`, `byAddress`): the lowercase
/// address, then the id, each compared as JavaScript compares strings (UTF-16 code units), so
/// the first screen's rows are the ones the whole list puts first.
pub fn first_in_list_order(keys: Vec<(String, String)>, limit: usize) -> Vec<String> {
    let mut keyed: Vec<(String, String)> = keys
        .into_iter()
        .map(|(id, address)| (address.to_lowercase(), id))
        .collect();
    let by_units = |a: &str, b: &str| a.encode_utf16().cmp(b.encode_utf16());
    let order = |x: &(String, String), y: &(String, String)| {
        by_units(&x.0, &y.0).then_with(|| by_units(&x.1, &y.1))
    };
    if limit < keyed.len() {
        keyed.select_nth_unstable_by(limit, order);
        keyed.truncate(limit);
    }
    keyed.sort_unstable_by(order);
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Only web links are opened for the user: never files or other schemes.
pub fn check_web_link(url: &str) -> Result<()> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(Error::invalid("url", "Only web links can be opened."))
    }
}
