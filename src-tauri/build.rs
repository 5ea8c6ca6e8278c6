//! Reads `tauri.conf.json` (a link to the one at the workspace root, whose paths are relative to
//! this crate) and declares the app's commands, so the capability file can grant exactly these.

fn main() {
    ensure_frontend();
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(mailconn_desktop_commands()));
    tauri_build::try_build(attributes).expect("tauri build step failed");
}

/// Every command the UI may call; keep in step with `src/commands` and `capabilities/main.json`.
fn mailconn_desktop_commands() -> &'static [&'static str] {
    &[
        "app_info",
        "run_doctor",
        "open_url",
        "scope_presets",
        "registration_plan",
        "validate_registration",
        "list_registrations",
        "create_registration",
        "update_registration",
        "remove_registration",
        "probe_registration",
        "admin_consent_url",
        "start_browser_sign_in",
        "start_device_sign_in",
        "finish_sign_in",
        "cancel_sign_in",
        "list_connections",
        "disconnect_connection",
        "connection_history",
        "refresh_connection",
        "refresh_all_connections",
        "verify_connection",
        "watch_connections",
        "autostart_enabled",
        "set_autostart",
        "check_mailbox_list",
        "app_access",
        "add_mailboxes",
        "cancel_mailbox_add",
        "list_reminders",
        "watch_reminders",
        "app_secrets",
        "set_secret_expiry",
        "secret_portal_url",
        "rotate_secret",
        "rotate_secret_via_graph",
    ]
}

/// `tauri::generate_context!` needs the built interface. A bare `cargo build` before
/// `npm run build` gets a page saying so instead of a compile error.
fn ensure_frontend() {
    let dist = std::path::Path::new("../ui/dist");
    println!("cargo:rerun-if-changed=../ui/dist");
    if !dist.join("index.html").exists() {
        println!(
            "cargo:warning=ui/dist is missing: run `npm run build` in ui/ (scripts/run-app.sh does)"
        );
        std::fs::create_dir_all(dist).expect("create ui/dist");
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><title>Mail Connections</title><p>The interface was not built. Run <code>scripts/run-app.sh</code>.</p>",
        )
        .expect("write placeholder page");
    }
}
