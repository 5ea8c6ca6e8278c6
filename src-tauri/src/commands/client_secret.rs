//! Client-secret commands: reminders (and their live updates), the app's secrets as Graph lists
//! them, a corrected end date, the portal link, and verified rotation (pasted or through Graph).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, Utc};
use mailconn_core::Result;
use mailconn_core::client_secret::graph::{self, AppSecrets};
use mailconn_core::client_secret::reminders::{Reminder, Thresholds};
use mailconn_core::client_secret::rotation::{Rotation, RotationInput, RotationReport};
use mailconn_core::client_secret::watch::ReminderWatch;
use mailconn_core::clock::SystemClock;
use mailconn_core::registration::Registration;
use mailconn_core::store::registrations::SecretMeta;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};

use crate::AppState;
use crate::ipc::{IpcResult, blocking};

/// The reminder scheduler and the pages listening to it.
pub struct Reminders {
    pub watch: Arc<ReminderWatch>,
    watchers: Mutex<Vec<Channel<Vec<Reminder>>>>,
    /// How many secrets need attention, as last computed (the tray reads it on every change).
    count: AtomicUsize,
}

impl std::fmt::Debug for Reminders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reminders").finish_non_exhaustive()
    }
}

impl Reminders {
    pub fn new(state: &AppState) -> Self {
        Self {
            watch: Arc::new(ReminderWatch::new(
                state.store.clone(),
                Arc::new(SystemClock),
                Thresholds::from_env(),
            )),
            watchers: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
        }
    }

    /// Secrets that expire within a threshold, have expired or are refused.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Sends the current list to every page still listening.
    pub fn send(&self, list: &[Reminder]) {
        self.count.store(list.len(), Ordering::Relaxed);
        self.watchers
            .lock()
            .expect("reminder watchers poisoned")
            .retain(|c| c.send(list.to_vec()).is_ok());
    }
}

/// A secret or its date changed: compute again now (banner, badges, tray, notifications).
fn changed<R: Runtime>(app: &AppHandle<R>) {
    app.state::<Reminders>().watch.wake();
    if let Ok(list) = app.state::<Reminders>().watch.current() {
        app.state::<Reminders>().send(&list);
    }
    crate::tray::update(app);
}

#[tauri::command]
pub async fn list_reminders(reminders: State<'_, Reminders>) -> IpcResult<Vec<Reminder>> {
    let watch = reminders.watch.clone();
    blocking(move || watch.current()).await
}

/// Subscribes the page to reminder changes (sent at start, at each threshold, after changes).
#[tauri::command]
pub fn watch_reminders(reminders: State<'_, Reminders>, on_change: Channel<Vec<Reminder>>) {
    reminders
        .watchers
        .lock()
        .expect("reminder watchers poisoned")
        .push(on_change);
}

/// The stored secret and, when the app may read them, all its secrets in Entra (end date from
/// Graph, matched by the hint).
#[tauri::command]
pub async fn app_secrets<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> IpcResult<AppSecrets> {
    let answer = graph::read(
        &state.store,
        state.secrets.as_ref(),
        &state.http,
        &id,
        Utc::now(),
    )
    .await?;
    if answer.expires_updated {
        changed(&app);
    }
    Ok(answer)
}

/// Corrects the stored secret's end date.
#[tauri::command]
pub async fn set_secret_expiry<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    expires: NaiveDate,
) -> IpcResult<Registration> {
    let store = state.store.clone();
    let reg = blocking(move || -> Result<Registration> {
        let reg = store.find_registration(&id)?;
        store.set_secret_meta(
            &reg.id,
            &SecretMeta {
                present: reg.has_secret,
                hint: reg.secret_hint.clone(),
                label: reg.secret_label.clone(),
                expires: Some(expires),
            },
            Utc::now(),
        )?;
        store.find_registration(&reg.id)
    })
    .await?;
    changed(&app);
    Ok(reg)
}

/// The portal's "Certificates & secrets" page of the app, in its cloud.
#[tauri::command]
pub async fn secret_portal_url(state: State<'_, AppState>, id: String) -> IpcResult<String> {
    let store = state.store.clone();
    blocking(move || {
        let reg = store.find_registration(&id)?;
        Ok(reg.cloud()?.portal_app_url(&reg.client_id, "Credentials"))
    })
    .await
}

/// Verifies the pasted secret, swaps it into the keychain, re-verifies every connection.
#[tauri::command]
pub async fn rotate_secret<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    input: RotationInput,
) -> IpcResult<RotationReport> {
    let report = rotation(&state).rotate(&id, &input).await;
    changed(&app);
    Ok(report?)
}

/// Creates the new secret through Graph, verifies and swaps it, then removes the old one.
#[tauri::command]
pub async fn rotate_secret_via_graph<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    expires: NaiveDate,
) -> IpcResult<RotationReport> {
    let report = rotation(&state).rotate_via_graph(&id, expires).await;
    changed(&app);
    Ok(report?)
}

fn rotation(state: &AppState) -> Rotation<'_> {
    Rotation {
        store: &state.store,
        secrets: state.secrets.as_ref(),
        http: &state.http,
        engine: &state.engine,
        now: Utc::now(),
    }
}
