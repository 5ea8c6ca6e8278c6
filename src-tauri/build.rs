//! Reads `tauri.conf.json` (a link to the one at the workspace root, whose paths are relative to
//! this crate) and declares the app's commands, so the capability file can grant exactly these.

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(mailconn_desktop_commands()));
    tauri_build::try_build(attributes).expect("tauri build step failed");
}

/// Every command the UI may call; keep in step with `src/commands` and `capabilities/main.json`.
fn mailconn_desktop_commands() -> &'static [&'static str] {
    &["app_info", "run_doctor", "open_url"]
}
