//! The app's background work: the refresh engine's scheduler, and what it reports turned into
//! page updates, desktop notifications (once per problem) and the tray's attention state.

use mailconn_core::client_secret::watch::ReminderEvent;
use mailconn_core::connection::{Connection, StateKind};
use mailconn_core::engine::{EngineEvent, Notice};
use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use ts_rs::TS;

use crate::AppState;
use crate::commands::client_secret::Reminders;

/// What a page watching connections hears.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionEvent {
    /// A connection's state, schedule or tokens changed.
    Changed { connection: Box<Connection> },
    /// A new problem (also shown as a desktop notification).
    Notice { notice: Notice },
}

pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let engine = state.engine.clone();
    tauri::async_runtime::spawn(engine.clone().run(state.shutdown.clone()));
    let mut events = engine.subscribe();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(missed = n, "connection events lagged");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            handle_event(&handle, event);
        }
    });
    crate::tray::update(app);
    start_reminders(app);
}

/// The client-secret reminders: computed at start, then at each next threshold (the scheduler
/// sleeps until then); each becomes a page update, a notification once per threshold, the tray.
fn start_reminders<R: Runtime>(app: &AppHandle<R>) {
    let watch = app.state::<Reminders>().watch.clone();
    let mut events = watch.subscribe();
    tauri::async_runtime::spawn(watch.run(app.state::<AppState>().shutdown.clone()));
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ReminderEvent::Changed(list)) => {
                    handle.state::<Reminders>().send(&list);
                    crate::tray::update(&handle);
                }
                Ok(ReminderEvent::Notice(n)) => {
                    tracing::info!(registration = %n.registration_id, threshold = n.threshold, "notifying");
                    show(&handle, &n.title, &n.body);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

fn handle_event<R: Runtime>(app: &AppHandle<R>, event: EngineEvent) {
    let state = app.state::<AppState>();
    match event {
        EngineEvent::Changed(connection) => {
            state
                .watchers
                .send(&ConnectionEvent::Changed { connection });
        }
        EngineEvent::Notice(notice) => {
            if notice.state == StateKind::SecretExpired {
                // The registration is now listed as "secret refused" in the reminders.
                app.state::<Reminders>().watch.wake();
            }
            notify(app, &notice);
            state.watchers.send(&ConnectionEvent::Notice { notice });
        }
        EngineEvent::Resolved(id) => tracing::info!(connection = %id, "problem resolved"),
    }
    crate::tray::update(app);
}

fn notify<R: Runtime>(app: &AppHandle<R>, notice: &Notice) {
    tracing::info!(connection = %notice.connection_id, state = ?notice.state, "notifying");
    show(app, &notice.title, &notice.body);
}

fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, "the desktop did not take the notification");
    }
}
