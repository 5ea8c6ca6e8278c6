//! Receives `mailconn://` URLs from the OS (a second launch forwards them through the single
//! instance plugin; the first launch gets them as arguments) and hands them to core, which
//! validates them as untrusted input.

use std::sync::Arc;

use mailconn_core::Service;
use mailconn_core::service::DeepLinkRoute;
use tauri::Manager;
use tauri_plugin_deep_link::DeepLinkExt;

pub fn listen<R: tauri::Runtime>(app: &tauri::App<R>) {
    // Linux and Windows learn about the scheme at run time; macOS from the bundle. On Linux that
    // writes a .desktop file and runs xdg-mime and update-desktop-database: off the main thread,
    // so it does not hold up the window's first paint.
    #[cfg(any(target_os = "linux", windows))]
    {
        let handle = app.handle().clone();
        std::thread::spawn(move || {
            if let Err(e) = handle.deep_link().register_all() {
                tracing::warn!(error = %e, "could not register the mailconn:// scheme with the desktop");
            }
        });
    }
    let service = app.state::<Arc<Service>>().inner().clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            deliver(&service, url.as_str());
        }
    });
}

/// Hands one link to core: a sign-in redirect to its sign-in, an import link to the interface
/// (which asks before anything is saved).
pub fn deliver(service: &Service, url: &str) {
    match service.deliver_deep_link(url) {
        Ok(DeepLinkRoute::SignIn) => {
            tracing::info!("a sign-in redirect arrived through mailconn://");
        }
        Ok(DeepLinkRoute::Import) => tracing::info!("an import link arrived through mailconn://"),
        Err(e) => tracing::warn!(error = %e, "ignored a mailconn:// link"),
    }
}
