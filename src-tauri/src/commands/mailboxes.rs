//! Organisation mailboxes (application access): the app's permissions, checking a pasted list,
//! adding mailboxes with progress over a channel, and cancelling a run.

use mailconn_core::application::addresses::{CheckedEntry, parse_list_checked};
use mailconn_core::application::mailbox::{AccessReport, BulkProgress, BulkReport};
use mailconn_core::application::permissions::MailboxUse;
use tauri::ipc::Channel;

use super::Svc;
use crate::ipc::IpcResult;

/// Checks a pasted or imported list off the main thread; over 1 MiB or 10,000 lines is refused.
#[tauri::command]
pub async fn check_mailbox_list(service: Svc<'_>, text: String) -> IpcResult<Vec<CheckedEntry>> {
    Ok(service.check_mailbox_list(text).await?)
}

/// The app's token and permissions; `fresh` asks for a new token (after an admin consented).
#[tauri::command]
pub async fn app_access(
    service: Svc<'_>,
    registration: String,
    mailbox_use: MailboxUse,
    fresh: bool,
) -> IpcResult<AccessReport> {
    Ok(service
        .app_access(&registration, mailbox_use, fresh)
        .await?)
}

/// Adds the mailboxes of `text` (one address, or a pasted or imported list). Each finished row
/// goes to `progress`; `cancel_mailbox_add(run)` stops the lookups not yet started.
#[tauri::command]
pub async fn add_mailboxes(
    service: Svc<'_>,
    registration: String,
    text: String,
    mailbox_use: MailboxUse,
    run: String,
    progress: Channel<BulkProgress>,
) -> IpcResult<BulkReport> {
    let send = |p| {
        if let Err(e) = progress.send(p) {
            tracing::debug!(error = %e, "progress not delivered");
        }
    };
    let entries = parse_list_checked(&text)?;
    Ok(service
        .add_mailboxes(&registration, &entries, mailbox_use, &run, send)
        .await?)
}

#[tauri::command]
pub fn cancel_mailbox_add(service: Svc<'_>, run: String) {
    service.cancel_mailbox_add(&run);
}
