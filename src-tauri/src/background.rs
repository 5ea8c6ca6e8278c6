//! The app's background work is core's ([`Service::run`]); this turns what it reports into
//! desktop notifications and the tray's attention state, and forwards events to the pages that
//! watch them (a `mailconn://import` link also brings the window forward). It also starts the
//! bridge when its settings say so, and tells the tray and the interface when the bridge changes.
//! Core drops notifications whose kind is off in the settings; the ones the shell makes itself
//! (the bridge did not start) ask first.

use std::sync::Arc;
use std::time::Duration;

use mailconn_core::Service;
use mailconn_core::service::ServiceEvent;
use mailconn_core::service::bridge::PortOverrides;
use mailconn_core::settings::NotificationKind;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use ts_rs::TS;

/// How long a burst of bridge changes (a session's login steps, a restart) is gathered into one.
const BRIDGE_SETTLE: Duration = Duration::from_millis(200);

/// What the interface hears about the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BridgeSignal {
    /// Sessions, passwords, start or stop changed: read the status again.
    Changed,
    /// The tray's "Bridge" entry: show the Bridge page.
    Show,
}

/// The app's bridge signals; the interface subscribes through `watch_bridge`.
#[derive(Debug)]
pub struct BridgeSignals(broadcast::Sender<BridgeSignal>);

impl Default for BridgeSignals {
    fn default() -> Self {
        Self(broadcast::channel(16).0)
    }
}

impl BridgeSignals {
    pub fn send(&self, signal: BridgeSignal) {
        let _ = self.0.send(signal);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<BridgeSignal> {
        self.0.subscribe()
    }
}

/// The next signal; a receiver that fell behind hears `changed` (the status is read afresh
/// anyway). Fails once the sender is gone.
pub async fn next_signal(
    rx: &mut broadcast::Receiver<BridgeSignal>,
) -> Result<BridgeSignal, RecvError> {
    match rx.recv().await {
        Err(RecvError::Lagged(_)) => Ok(BridgeSignal::Changed),
        other => other,
    }
}

pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let service = app.state::<Arc<Service>>().inner().clone();
    let mut events = service.subscribe();
    tauri::async_runtime::spawn(service.clone().run());
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ServiceEvent::Notify { title, body, .. }) => show(&handle, &title, &body),
                // The window comes forward so the person sees the link and is asked.
                Ok(ServiceEvent::ImportOffer(_)) => crate::tray::show_window(&handle),
                Ok(ServiceEvent::Attention) => crate::tray::update(&handle),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
    crate::tray::update(app);
    watch_bridge(app, service.clone());
    tauri::async_runtime::spawn(start_bridge_with_app(app.clone(), service));
}

/// Starts the bridge at launch when its settings say so; a failure is a notification.
async fn start_bridge_with_app<R: Runtime>(app: AppHandle<R>, service: Arc<Service>) {
    let wanted = match service.bridge_settings().await {
        Ok(s) => s.start_with_app,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the bridge's settings");
            return;
        }
    };
    if wanted && let Err(e) = service.start_bridge(PortOverrides::default()).await {
        tracing::warn!(error = %e, "the bridge did not start with the app");
        if service.notifies(NotificationKind::Bridge) {
            show(&app, "The mail bridge did not start", e.message());
        }
    }
}

/// Follows the bridge's changes, a burst at a time: the tray's entry and the interface's signal.
fn watch_bridge<R: Runtime>(app: &AppHandle<R>, service: Arc<Service>) {
    let mut changes = service.bridge_changes();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        crate::tray::update_bridge(&handle, &service).await;
        while changes.changed().await.is_ok() {
            tokio::time::sleep(BRIDGE_SETTLE).await;
            changes.borrow_and_update();
            handle.state::<BridgeSignals>().send(BridgeSignal::Changed);
            crate::tray::update_bridge(&handle, &service).await;
        }
    });
}

/// Sends the events `pick` keeps to a page's channel until the page goes away.
pub fn forward<T: tauri::ipc::IpcResponse + Send + 'static>(
    service: &Service,
    channel: Channel<T>,
    pick: fn(ServiceEvent) -> Option<T>,
) {
    let mut events = service.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(item) = pick(event)
                        && channel.send(item).is_err()
                    {
                        break;
                    }
                }
                Err(RecvError::Lagged(n)) => tracing::debug!(missed = n, "page events lagged"),
                Err(RecvError::Closed) => break,
            }
        }
    });
}

pub fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, "the desktop did not take the notification");
    }
}
