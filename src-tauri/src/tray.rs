//! The tray icon: open, the bridge (whether it runs and how many sessions; opens the Bridge
//! page; start or stop), refresh all, quit; a different icon and tooltip when a connection needs
//! attention. With a tray, closing the window keeps the app (and its refreshes) running.

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIcon;
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime, include_image};

use std::sync::Arc;

use mailconn_core::Service;
use mailconn_core::service::bridge::PortOverrides;

use crate::background::{BridgeSignal, BridgeSignals};

const TRAY_ID: &str = "main";

/// Whether the tray exists (then closing the window hides it instead of quitting).
#[derive(Debug, Default)]
pub struct TrayPresent(pub AtomicBool);

/// How the bridge stands, as the tray says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeLine {
    pub running: bool,
    pub sessions: usize,
}

impl BridgeLine {
    pub fn text(self) -> String {
        match (self.running, self.sessions) {
            (false, _) => "Bridge: stopped".to_owned(),
            (true, 0) => "Bridge: running, no sessions".to_owned(),
            (true, 1) => "Bridge: running, 1 session".to_owned(),
            (true, n) => format!("Bridge: running, {n} sessions"),
        }
    }
}

fn menu<R: Runtime>(app: &AppHandle<R>, bridge: BridgeLine) -> tauri::Result<Menu<R>> {
    let open = MenuItem::with_id(app, "open", "Open Mail Connections", true, None::<&str>)?;
    let status = MenuItem::with_id(app, "bridge", bridge.text(), true, None::<&str>)?;
    let toggle = if bridge.running {
        MenuItem::with_id(app, "bridge_stop", "Stop the bridge", true, None::<&str>)?
    } else {
        MenuItem::with_id(app, "bridge_start", "Start the bridge", true, None::<&str>)?
    };
    let refresh = MenuItem::with_id(app, "refresh_all", "Refresh all", true, None::<&str>)?;
    let quit_item = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let (one, two) = (
        PredefinedMenuItem::separator(app)?,
        PredefinedMenuItem::separator(app)?,
    );
    Menu::with_items(
        app,
        &[&open, &one, &status, &toggle, &two, &refresh, &quit_item],
    )
}

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(include_image!("../icons/tray.png"))
        .tooltip("Mail Connections")
        .menu(&menu(app, BridgeLine::default())?)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "open" => show_window(app),
            "bridge" => {
                show_window(app);
                app.state::<BridgeSignals>().send(BridgeSignal::Show);
            }
            "bridge_start" | "bridge_stop" => {
                toggle_bridge(app, event.id.as_ref() == "bridge_start");
            }
            "refresh_all" => {
                let service = app.state::<Arc<Service>>().inner().clone();
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = service.refresh_all().await {
                        tracing::warn!(error = %e, "refresh all from the tray failed");
                    }
                });
            }
            "quit" => quit(app),
            _ => {}
        })
        .build(app)?;
    app.state::<TrayPresent>().0.store(true, Ordering::SeqCst);
    Ok(())
}

/// The tray's start or stop; a start that fails is a notification (the page shows it too).
fn toggle_bridge<R: Runtime>(app: &AppHandle<R>, start: bool) {
    let service = app.state::<Arc<Service>>().inner().clone();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        let done = if start {
            service.start_bridge(PortOverrides::default()).await
        } else {
            service.stop_bridge().await
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, "the tray's bridge start or stop failed");
            if service.notifies(mailconn_core::settings::NotificationKind::Bridge) {
                crate::background::show(&handle, "The mail bridge did not start", e.message());
            }
        }
    });
}

/// The bridge's entries: whether it runs, how many sessions, start or stop.
pub async fn update_bridge<R: Runtime>(app: &AppHandle<R>, service: &Service) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match service.bridge_status().await {
        Ok(status) => set_menu(
            app,
            &tray,
            BridgeLine {
                running: status.running,
                sessions: status.sessions.len(),
            },
        ),
        Err(e) => tracing::warn!(error = %e, "could not read the bridge's status for the tray"),
    }
}

fn set_menu<R: Runtime>(app: &AppHandle<R>, tray: &TrayIcon<R>, line: BridgeLine) {
    match menu(app, line) {
        Ok(m) => {
            let _ = tray.set_menu(Some(m));
        }
        Err(e) => tracing::warn!(error = %e, "could not update the tray's menu"),
    }
}

pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

pub fn quit<R: Runtime>(app: &AppHandle<R>) {
    app.state::<Arc<Service>>().shutdown();
    app.exit(0);
}

/// The attention icon and a tooltip counting connections that need someone to act and client
/// secrets that expire soon (or no longer work).
pub fn update<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let attention = app.state::<Arc<Service>>().attention();
    let (count, secrets) = (attention.connections, attention.secrets);
    let mut parts = Vec::new();
    if count > 0 {
        parts.push(format!(
            "{count} connection{} need{} attention",
            if count == 1 { "" } else { "s" },
            if count == 1 { "s" } else { "" }
        ));
    }
    if secrets > 0 {
        parts.push(format!(
            "{secrets} client secret{} to rotate",
            if secrets == 1 { "" } else { "s" }
        ));
    }
    let (icon, tooltip) = if parts.is_empty() {
        (
            include_image!("../icons/tray.png"),
            "Mail Connections".to_owned(),
        )
    } else {
        (
            include_image!("../icons/tray-attention.png"),
            format!("Mail Connections: {}", parts.join(", ")),
        )
    };
    let _ = tray.set_icon(Some(icon));
    let _ = tray.set_tooltip(Some(&tooltip));
}

#[cfg(test)]
mod tests {
    use super::BridgeLine;

    #[test]
    fn the_bridge_line_says_whether_it_runs_and_counts_sessions() {
        let line = |running, sessions| BridgeLine { running, sessions }.text();
        assert_eq!(line(false, 0), "Bridge: stopped");
        assert_eq!(line(true, 0), "Bridge: running, no sessions");
        assert_eq!(line(true, 1), "Bridge: running, 1 session");
        assert_eq!(line(true, 3), "Bridge: running, 3 sessions");
    }
}
