//! The desktop shell: window, commands and plugins. Glue only; the domain is `mailconn-core`.

pub mod bindings;
pub mod commands;
mod deep_links;
pub mod ipc;
mod state;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mailconn_core::paths::{DATA_DIR_ENV, DataDir, resolve_data_dir};
use mailconn_core::secret::{KeyringStore, MemoryStore, SecretStore};

pub use state::AppState;

/// Command-line options of the desktop app.
#[derive(Debug, Parser)]
#[command(
    name = "mailconn-desktop",
    version,
    about = "Mail Connections desktop app"
)]
struct Options {
    /// Where the database and logs live [default: the platform's data directory]
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Keep secrets in memory instead of the OS keychain (tests only; nothing persists)
    #[arg(long, env = "MAILCONN_KEYCHAIN", hide = true, default_value = "system")]
    keychain: String,

    /// `mailconn://` links the desktop hands over; a second launch forwards them to the running app
    #[arg(hide = true)]
    links: Vec<String>,
}

/// Starts the app; returns when the last window closes.
pub fn run() -> ExitCode {
    let options = Options::parse();
    let data_dir = match resolve_data_dir(options.data_dir.as_deref()).and_then(DataDir::open) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("mailconn-desktop: {e}");
            return ExitCode::from(4);
        }
    };
    let _log_guard = mailconn_core::logging::init(Some(&data_dir.logs()), "warn");
    let secrets: std::sync::Arc<dyn SecretStore> = if options.keychain == "memory" {
        std::sync::Arc::new(MemoryStore::new())
    } else {
        std::sync::Arc::new(KeyringStore::new())
    };
    let state = match AppState::new(data_dir, secrets) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot open the database");
            eprintln!("mailconn-desktop: {e}");
            return ExitCode::from(4);
        }
    };
    tracing::info!(data_dir = %state.data_dir.root().display(), "starting");

    let result = builder::<tauri::Wry>(state).run(tauri::generate_context!());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the app failed");
            ExitCode::FAILURE
        }
    }
}

/// The app with its plugins, state and commands, without a context (tests use a mock one).
pub fn builder<R: tauri::Runtime>(state: AppState) -> tauri::Builder<R> {
    tauri::Builder::<R>::new()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            use tauri::Manager;
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .setup(|app| {
            deep_links::listen(app);
            Ok(())
        })
        .manage(state)
        .manage(commands::connections::SignIns::default())
        .manage(commands::mailboxes::MailboxRuns::default())
        .invoke_handler(commands::handler())
}
