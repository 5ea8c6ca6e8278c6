//! The tray icon: open, refresh all, quit; a different icon and tooltip when a connection needs
//! attention. With a tray, closing the window keeps the app (and its refreshes) running.

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime, include_image};

use std::sync::Arc;

use mailconn_core::Service;

const TRAY_ID: &str = "main";

/// Whether the tray exists (then closing the window hides it instead of quitting).
#[derive(Debug, Default)]
pub struct TrayPresent(pub AtomicBool);

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Mail Connections", true, None::<&str>)?;
    let refresh = MenuItem::with_id(app, "refresh_all", "Refresh all", true, None::<&str>)?;
    let quit_item = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&open, &refresh, &separator, &quit_item])?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(include_image!("../icons/tray.png"))
        .tooltip("Mail Connections")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "open" => show_window(app),
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
