//! The app's background work is core's ([`Service::run`]); this turns what it reports into
//! desktop notifications and the tray's attention state, and forwards events to the pages that
//! watch them.

use std::sync::Arc;

use mailconn_core::Service;
use mailconn_core::service::ServiceEvent;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;

pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let service = app.state::<Arc<Service>>().inner().clone();
    let mut events = service.subscribe();
    tauri::async_runtime::spawn(service.run());
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ServiceEvent::Notify { title, body }) => show(&handle, &title, &body),
                Ok(ServiceEvent::Attention) => crate::tray::update(&handle),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
    crate::tray::update(app);
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

fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, "the desktop did not take the notification");
    }
}
