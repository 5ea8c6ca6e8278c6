//! Organisation mailboxes (application access): the app's permissions, checking a pasted list,
//! adding mailboxes with progress over a channel, and cancelling a run.

use std::collections::HashMap;
use std::sync::Mutex;

use mailconn_core::application::addresses::{CheckedEntry, check, parse_list};
use mailconn_core::application::mailbox::{AccessReport, BulkProgress, BulkReport, Mailboxes};
use mailconn_core::application::permissions::MailboxUse;
use mailconn_core::{Error, ErrorCode};
use tauri::State;
use tauri::ipc::Channel;
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::ipc::IpcResult;

/// Runs of "add mailboxes" in progress, by the id the UI chose, until they end.
#[derive(Debug, Default)]
pub struct MailboxRuns(Mutex<HashMap<String, CancellationToken>>);

#[tauri::command]
pub fn check_mailbox_list(text: String) -> Vec<CheckedEntry> {
    check(&parse_list(&text))
}

/// The app's token and permissions; `fresh` asks for a new token (after an admin consented).
#[tauri::command]
pub async fn app_access(
    state: State<'_, AppState>,
    registration: String,
    mailbox_use: MailboxUse,
    fresh: bool,
) -> IpcResult<AccessReport> {
    let m = Mailboxes {
        store: &state.store,
        secrets: state.secrets.as_ref(),
        http: &state.http,
        tokens: &state.app_tokens,
    };
    Ok(m.check_access(&registration, mailbox_use, fresh).await?)
}

/// Adds the mailboxes of `text` (one address, or a pasted or imported list). Each finished row
/// goes to `progress`; `cancel_mailbox_add(run)` stops the lookups not yet started.
#[tauri::command]
pub async fn add_mailboxes(
    state: State<'_, AppState>,
    runs: State<'_, MailboxRuns>,
    registration: String,
    text: String,
    mailbox_use: MailboxUse,
    run: String,
    progress: Channel<BulkProgress>,
) -> IpcResult<BulkReport> {
    let cancel = CancellationToken::new();
    {
        let mut active = runs.0.lock().expect("runs poisoned");
        if active.contains_key(&run) {
            return Err(Error::new(ErrorCode::Conflict, "This run has already started.").into());
        }
        active.insert(run.clone(), cancel.clone());
    }
    let m = Mailboxes {
        store: &state.store,
        secrets: state.secrets.as_ref(),
        http: &state.http,
        tokens: &state.app_tokens,
    };
    let result = m
        .add(
            &registration,
            &parse_list(&text),
            mailbox_use,
            &cancel,
            |p| {
                if let Err(e) = progress.send(p) {
                    tracing::debug!(error = %e, "progress not delivered");
                }
            },
        )
        .await;
    runs.0.lock().expect("runs poisoned").remove(&run);
    Ok(result?)
}

#[tauri::command]
pub fn cancel_mailbox_add(runs: State<'_, MailboxRuns>, run: String) {
    if let Some(cancel) = runs.0.lock().expect("runs poisoned").get(&run) {
        cancel.cancel();
    }
}
