//! Export and import of app registrations without their secrets: a JSON file, or a
//! `mailconn://import?...` link of one registration (see [`crate::registration::transfer`]).
//! Importing is two steps, a preview (everything checked, nothing saved) and the import (checked
//! again, then saved). A link the OS hands the desktop app becomes an [`ImportOffer`] the
//! interface shows in full; it is saved only when the person confirms it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Service, ServiceEvent};
use crate::error::{Error, ErrorBody, ErrorCode, Result};
use crate::registration::transfer::{self, SharedFrom, SharedRegistration};
use crate::registration::{ClientKind, FieldIssue, Registration};
use crate::store::Store;

/// What to import: pasted text (a link or a file's JSON), or a file the person named.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ImportSource {
    Text { text: String },
    File { path: String },
}

/// What importing one registration would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// It would be added.
    New,
    /// An app with this name, client ID and tenant is here already: skipped.
    AlreadyHere,
    /// Another app has this name: skipped (rename one of them first).
    NameTaken,
    /// It fails the checks (see `errors`): skipped.
    Invalid,
}

/// One registration of a file or link, checked.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportEntry {
    pub registration: SharedRegistration,
    pub status: ImportStatus,
    pub errors: Vec<FieldIssue>,
    pub warnings: Vec<FieldIssue>,
    /// A Web (confidential) app: its client secret is pasted in after importing.
    pub needs_secret: bool,
}

/// Everything a file or link holds, checked; nothing saved.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportPreview {
    pub from: SharedFrom,
    pub entries: Vec<ImportEntry>,
}

/// What an import saved and what it left out.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportReport {
    pub added: Vec<Registration>,
    pub skipped: Vec<ImportEntry>,
}

/// A `mailconn://import` link the OS handed to the app, waiting for the person to confirm it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportOffer {
    /// The link as it arrived (cut after [`transfer::MAX_LINK`] characters; anything shaped
    /// like a secret or token blanked).
    pub link: String,
    pub preview: Option<ImportPreview>,
    /// Why the link cannot be imported.
    pub error: Option<ErrorBody>,
}

/// Where an export was written.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ExportWritten {
    pub path: String,
    pub count: u32,
}

/// The newest link offered and not yet confirmed or dismissed (a newer one replaces it).
pub(super) type PendingImport = Mutex<Option<ImportOffer>>;

fn read_file(path: &str) -> Result<String> {
    let path = PathBuf::from(path.trim());
    let cannot = |e: &dyn std::fmt::Display| {
        Error::invalid("path", format!("{} cannot be read: {e}.", path.display()))
    };
    if path.as_os_str().is_empty() {
        return Err(Error::invalid(
            "path",
            "Enter the path of the file to import.",
        ));
    }
    let meta = std::fs::metadata(&path).map_err(|e| cannot(&e))?;
    if !meta.is_file() {
        return Err(cannot(&"it is not a file"));
    }
    if meta.len() > transfer::MAX_FILE as u64 {
        return Err(transfer::file_too_large());
    }
    std::fs::read_to_string(&path).map_err(|e| cannot(&e))
}

/// Checks each registration against the rules and what is stored.
fn preview(
    store: &Store,
    from: SharedFrom,
    shared: Vec<SharedRegistration>,
    today: chrono::NaiveDate,
) -> Result<ImportPreview> {
    let stored = store.list_registrations()?;
    let mut names_seen: Vec<String> = Vec::new();
    let entries = shared
        .into_iter()
        .map(|registration| {
            let (report, valid) = registration.validate(today);
            let status = match &valid {
                None => ImportStatus::Invalid,
                Some(v) => {
                    let name = v.name.to_lowercase();
                    let status = match stored.iter().find(|r| r.name.to_lowercase() == name) {
                        Some(r) if r.client_id == v.client_id && r.tenant == v.tenant => {
                            ImportStatus::AlreadyHere
                        }
                        Some(_) => ImportStatus::NameTaken,
                        None if names_seen.contains(&name) => ImportStatus::NameTaken,
                        None => ImportStatus::New,
                    };
                    names_seen.push(name);
                    status
                }
            };
            ImportEntry {
                needs_secret: registration.kind == ClientKind::Confidential,
                registration,
                status,
                errors: report.errors,
                warnings: report.warnings,
            }
        })
        .collect();
    Ok(ImportPreview { from, entries })
}

impl Service {
    /// The JSON export of the registrations named (ids or names), or of all of them.
    pub async fn export_registrations(&self, apps: &[String]) -> Result<String> {
        Ok(self.export(apps).await?.0)
    }

    /// The export's text and how many registrations it holds.
    async fn export(&self, apps: &[String]) -> Result<(String, usize)> {
        let apps = apps.to_vec();
        let now = self.clock.now();
        self.blocking(move |store, _| {
            let regs = if apps.is_empty() {
                store.list_registrations()?
            } else {
                apps.iter()
                    .map(|a| store.find_registration(a))
                    .collect::<Result<Vec<_>>>()?
            };
            Ok((transfer::export_json(&regs, now), regs.len()))
        })
        .await
    }

    /// Writes the export to a file the person named; an existing file is replaced only with
    /// `replace`.
    pub async fn write_registrations_export(
        &self,
        path: &Path,
        apps: &[String],
        replace: bool,
    ) -> Result<ExportWritten> {
        let (text, count) = self.export(apps).await?;
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            if path.as_os_str().is_empty() {
                return Err(Error::invalid("path", "Enter where to save the export."));
            }
            if !replace && path.exists() {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    format!("{} exists already.", path.display()),
                )
                .with_detail(crate::ErrorDetail {
                    field: Some("path".into()),
                    fix: Some("Choose another file name, or replace the file.".into()),
                    ..crate::ErrorDetail::default()
                }));
            }
            std::fs::write(&path, text).map_err(|e| {
                Error::invalid(
                    "path",
                    format!("{} cannot be written: {e}.", path.display()),
                )
            })?;
            Ok(ExportWritten {
                path: path.display().to_string(),
                count: u32::try_from(count).unwrap_or(u32::MAX),
            })
        })
        .await
        .map_err(|e| Error::internal(format!("a background task failed: {e}")))?
    }

    /// The `mailconn://import?...` link of one registration, to send to colleagues.
    pub async fn import_link(&self, app: &str) -> Result<String> {
        let reg = self.registration(app).await?;
        Ok(SharedRegistration::from(&reg).link())
    }

    /// Reads and checks what would be imported; saves nothing.
    pub async fn preview_import(&self, source: ImportSource) -> Result<ImportPreview> {
        let today = self.clock.now().date_naive();
        self.blocking(move |store, _| {
            let text = match source {
                ImportSource::Text { text } => text,
                ImportSource::File { path } => read_file(&path)?,
            };
            let (from, shared) = transfer::parse(&text)?;
            preview(store, from, shared, today)
        })
        .await
    }

    /// Checks again and saves every registration that is new; the others are reported skipped.
    /// A link offered by the OS is settled by importing it.
    pub async fn import_registrations(&self, source: ImportSource) -> Result<ImportReport> {
        let now = self.clock.now();
        let report = self
            .blocking(move |store, keychain| {
                let text = match source {
                    ImportSource::Text { text } => text,
                    ImportSource::File { path } => read_file(&path)?,
                };
                let (from, shared) = transfer::parse(&text)?;
                let checked = preview(store, from, shared, now.date_naive())?;
                let mut report = ImportReport {
                    added: Vec::new(),
                    skipped: Vec::new(),
                };
                for entry in checked.entries {
                    if entry.status != ImportStatus::New {
                        report.skipped.push(entry);
                        continue;
                    }
                    let (_, valid) = entry.registration.validate(now.date_naive());
                    let valid =
                        valid.ok_or_else(|| Error::internal("checked twice, differently"))?;
                    report
                        .added
                        .push(super::registrations::insert(store, keychain, &valid, now)?);
                }
                tracing::info!(
                    from = ?checked.from,
                    added = report.added.len(),
                    skipped = report.skipped.len(),
                    "registrations imported"
                );
                Ok(report)
            })
            .await?;
        self.dismiss_import_offer();
        self.reminders_changed().await;
        Ok(report)
    }

    /// A `mailconn://import` link from the OS: checked and kept for the interface to show.
    pub(super) fn offer_import(&self, raw: &str) {
        // Shown in full, but a secret- or token-shaped part (a refused link's) is blanked: it
        // goes no further than the check that refused it.
        let link = if raw.len() > transfer::MAX_LINK {
            let cut: String = raw.chars().take(transfer::MAX_LINK).collect();
            format!("{}…", crate::logging::redact(&cut))
        } else {
            crate::logging::redact(raw).into_owned()
        };
        let today = self.clock.now().date_naive();
        let checked = transfer::parse_link(raw)
            .and_then(|shared| preview(&self.store, SharedFrom::Link, vec![shared], today));
        let offer = match checked {
            Ok(preview) => ImportOffer {
                link,
                preview: Some(preview),
                error: None,
            },
            Err(e) => {
                tracing::warn!(error = %e, "refused a mailconn://import link");
                ImportOffer {
                    link,
                    preview: None,
                    error: Some(e.body()),
                }
            }
        };
        *self.pending_import.lock().expect("pending import poisoned") = Some(offer.clone());
        self.emit(ServiceEvent::ImportOffer(Box::new(offer)));
    }

    /// The import link waiting for confirmation, if any.
    pub fn pending_import_offer(&self) -> Option<ImportOffer> {
        self.pending_import
            .lock()
            .expect("pending import poisoned")
            .clone()
    }

    /// Forgets the waiting import link (dismissed, or imported).
    pub fn dismiss_import_offer(&self) {
        self.pending_import
            .lock()
            .expect("pending import poisoned")
            .take();
    }
}
