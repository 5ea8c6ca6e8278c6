//! Connection commands: start a browser or device sign-in, wait for it, cancel it; list,
//! disconnect, history. A sign-in is two calls so the UI can show the link while it waits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use mailconn_core::connect::{
    ConnectOptions, Prepared, begin_device, complete_device, finish, prepare,
};
use mailconn_core::connection::{Connection, disconnect};
use mailconn_core::engine::RefreshReport;
use mailconn_core::flow::device_code::{self, DeviceCode};
use mailconn_core::flow::identity::Identity;
use mailconn_core::flow::{Tokens, auth_code};
use mailconn_core::store::events::Event;
use mailconn_core::{Error, Result};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;
use tauri_plugin_opener::OpenerExt;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::ipc::{IpcResult, blocking};
use crate::{AppState, ConnectionEvent};

enum Flow {
    Browser(auth_code::Pending),
    Device(device_code::Pending),
}

struct Attempt {
    prepared: Prepared,
    flow: Flow,
}

/// Sign-ins in progress: the flow until someone waits for it, and its cancel token until it ends.
#[derive(Default)]
pub struct SignIns {
    waiting: Mutex<HashMap<String, Attempt>>,
    cancels: Mutex<HashMap<String, CancellationToken>>,
}

impl std::fmt::Debug for SignIns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIns").finish_non_exhaustive()
    }
}

impl SignIns {
    fn add(&self, prepared: Prepared, flow: Flow) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.cancels
            .lock()
            .expect("sign-ins poisoned")
            .insert(id.clone(), CancellationToken::new());
        self.waiting
            .lock()
            .expect("sign-ins poisoned")
            .insert(id.clone(), Attempt { prepared, flow });
        id
    }
}

/// A started browser sign-in.
#[derive(Debug, Clone, Serialize, TS)]
pub struct BrowserSignIn {
    pub attempt: String,
    /// The authorization link (also opened in the system browser).
    pub url: String,
    /// Whether the system browser could be opened.
    pub opened: bool,
}

/// A started device-code sign-in.
#[derive(Debug, Clone, Serialize, TS)]
pub struct DeviceSignIn {
    pub attempt: String,
    pub code: DeviceCode,
}

/// A finished sign-in.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Connected {
    pub connection: Connection,
    /// False when the same account was already connected with this app and was updated.
    pub created: bool,
}

/// How long the app waits for the browser: Microsoft's codes live about 10 minutes, so longer
/// would only produce a code that can no longer be redeemed.
const BROWSER_TIMEOUT: Duration = auth_code::DEFAULT_TIMEOUT;

#[tauri::command]
pub async fn start_browser_sign_in<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    sign_ins: State<'_, SignIns>,
    options: ConnectOptions,
) -> IpcResult<BrowserSignIn> {
    let (store, secrets) = (state.store.clone(), state.secrets.clone());
    let prepared = blocking(move || prepare(&store, secrets.as_ref(), &options)).await?;
    let pending = auth_code::begin(prepared.sign_in.clone(), Some(&state.deep_links)).await?;
    let url = pending.url().to_owned();
    let opened = app.opener().open_url(&url, None::<&str>).is_ok();
    let attempt = sign_ins.add(prepared, Flow::Browser(pending));
    Ok(BrowserSignIn {
        attempt,
        url,
        opened,
    })
}

#[tauri::command]
pub async fn start_device_sign_in(
    state: State<'_, AppState>,
    sign_ins: State<'_, SignIns>,
    options: ConnectOptions,
) -> IpcResult<DeviceSignIn> {
    let (store, secrets) = (state.store.clone(), state.secrets.clone());
    let prepared = blocking(move || prepare(&store, secrets.as_ref(), &options)).await?;
    let pending = begin_device(&prepared, &state.http).await?;
    let code = pending.code.clone();
    let attempt = sign_ins.add(prepared, Flow::Device(pending));
    Ok(DeviceSignIn { attempt, code })
}

/// Waits until the sign-in finishes, fails, times out or is cancelled, then stores it.
#[tauri::command]
pub async fn finish_sign_in(
    state: State<'_, AppState>,
    sign_ins: State<'_, SignIns>,
    attempt: String,
) -> IpcResult<Connected> {
    let taken = sign_ins
        .waiting
        .lock()
        .expect("sign-ins poisoned")
        .remove(&attempt);
    let cancel = sign_ins
        .cancels
        .lock()
        .expect("sign-ins poisoned")
        .get(&attempt)
        .cloned();
    let (Some(Attempt { prepared, flow }), Some(cancel)) = (taken, cancel) else {
        return Err(Error::not_found("That sign-in is no longer running.").into());
    };
    let result = run(flow, &prepared, &state.http, &cancel).await;
    sign_ins
        .cancels
        .lock()
        .expect("sign-ins poisoned")
        .remove(&attempt);
    let (tokens, identity) = result?;
    let (store, secrets) = (state.store.clone(), state.secrets.clone());
    let (connection, created) =
        blocking(move || finish(&store, secrets.as_ref(), &prepared, &tokens, &identity)).await?;
    state.engine.connected(&connection.id)?;
    Ok(Connected {
        connection,
        created,
    })
}

async fn run(
    flow: Flow,
    prepared: &Prepared,
    http: &reqwest::Client,
    cancel: &CancellationToken,
) -> Result<(Tokens, Identity)> {
    match flow {
        Flow::Browser(pending) => pending.complete(http, BROWSER_TIMEOUT, cancel).await,
        Flow::Device(pending) => complete_device(pending, prepared, http, cancel).await,
    }
}

#[tauri::command]
pub fn cancel_sign_in(sign_ins: State<'_, SignIns>, attempt: String) {
    if let Some(cancel) = sign_ins
        .cancels
        .lock()
        .expect("sign-ins poisoned")
        .get(&attempt)
    {
        cancel.cancel();
    }
    sign_ins
        .waiting
        .lock()
        .expect("sign-ins poisoned")
        .remove(&attempt);
}

#[tauri::command]
pub async fn list_connections(state: State<'_, AppState>) -> IpcResult<Vec<Connection>> {
    let store = state.store.clone();
    blocking(move || store.list_connections()).await
}

#[tauri::command]
pub async fn disconnect_connection(state: State<'_, AppState>, id: String) -> IpcResult<()> {
    let (store, secrets) = (state.store.clone(), state.secrets.clone());
    let gone = blocking(move || disconnect(&store, secrets.as_ref(), &id)).await?;
    state.engine.forget(&gone.id);
    Ok(())
}

/// "Refresh now": the report says whether it worked and, if not, why (also stored as the state).
#[tauri::command]
pub async fn refresh_connection(
    state: State<'_, AppState>,
    id: String,
) -> IpcResult<RefreshReport> {
    Ok(state.engine.refresh(&id).await?)
}

/// "Verify": a call to Microsoft Graph with the connection's token, recorded in its history.
#[tauri::command]
pub async fn verify_connection(state: State<'_, AppState>, id: String) -> IpcResult<RefreshReport> {
    Ok(state.engine.verify(&id).await?)
}

/// "Refresh all", a few at a time.
#[tauri::command]
pub async fn refresh_all_connections(state: State<'_, AppState>) -> IpcResult<Vec<RefreshReport>> {
    Ok(state.engine.refresh_all().await?)
}

/// Subscribes the page to connection changes (states, schedules, new problems).
#[tauri::command]
pub fn watch_connections(state: State<'_, AppState>, on_event: Channel<ConnectionEvent>) {
    state.watchers.add(on_event);
}

/// How many history entries the detail page shows.
const HISTORY_LIMIT: u32 = 200;

#[tauri::command]
pub async fn connection_history(state: State<'_, AppState>, id: String) -> IpcResult<Vec<Event>> {
    let store = state.store.clone();
    blocking(move || store.events(&id, HISTORY_LIMIT)).await
}
