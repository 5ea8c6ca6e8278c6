//! The desktop shell: window, commands and plugins. Glue only; the domain is `mailconn-core`.

mod background;
pub mod bindings;
pub mod commands;
mod deep_links;
pub mod ipc;
pub mod rendering;
mod tray;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use mailconn_core::keychain;
use mailconn_core::paths::{DATA_DIR_ENV, DataDir, resolve_data_dir};
use mailconn_core::service::{Options as ServiceOptions, Service};

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

    /// Where secrets are kept: `system`; `file` (encrypted, opt-in, passphrase in
    /// `MAILCONN_KEYCHAIN_PASSPHRASE`); `memory` (debug builds and tests only; nothing persists)
    #[arg(long, env = "MAILCONN_KEYCHAIN", hide = true, default_value = "system")]
    keychain: String,

    /// Start without showing the window (start at login: the app waits in the tray)
    #[arg(long)]
    hidden: bool,

    /// `mailconn://` links the desktop hands over; a second launch forwards them to the running app
    #[arg(hide = true)]
    links: Vec<String>,
}

/// How long each step of the start took, in the log (`MAILCONN_LOG=info`): everything here comes
/// before the window's first paint, so it must stay short.
struct Phases {
    started: std::time::Instant,
    last: std::time::Instant,
}

impl Phases {
    fn new() -> Self {
        let now = std::time::Instant::now();
        Self {
            started: now,
            last: now,
        }
    }

    fn done(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        tracing::info!(
            phase,
            ms = (now - self.last).as_secs_f64() * 1e3,
            since_main_ms = (now - self.started).as_secs_f64() * 1e3,
            "start-up step"
        );
        self.last = now;
    }
}

/// Starts the app; returns when the last window closes.
pub fn run() -> ExitCode {
    // First: it sets an environment variable, which is only sound while there is one thread.
    #[cfg(target_os = "linux")]
    let rendering = rendering::apply();
    let mut phases = Phases::new();
    let options = Options::parse();
    let data_dir = match resolve_data_dir(options.data_dir.as_deref()).and_then(DataDir::open) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("mailconn-desktop: {e}");
            return ExitCode::from(4);
        }
    };
    let _log_guard = mailconn_core::logging::init(Some(&data_dir.logs()), "warn");
    #[cfg(target_os = "linux")]
    tracing::info!(?rendering, "how the web view paints");
    phases.done("options, data directory, logging");
    let passphrase = std::env::var(keychain::PASSPHRASE_ENV)
        .ok()
        .map(mailconn_core::Sensitive::new);
    let for_tests = std::env::var(keychain::MEMORY_FOR_TESTS_ENV).is_ok_and(|v| v == "1");
    let keychain = match keychain::select(
        &options.keychain,
        &data_dir.root().join(keychain::FileKeychain::FILE_NAME),
        passphrase,
        for_tests,
    ) {
        Ok(selected) => {
            if let Some(warning) = &selected.warning {
                tracing::warn!("{warning}");
                eprintln!("mailconn-desktop: {warning}");
            }
            selected.keychain
        }
        Err(e) => {
            eprintln!("mailconn-desktop: {e}");
            return ExitCode::from(3);
        }
    };
    phases.done("keychain selected");
    let with_links = ServiceOptions {
        deep_links: true,
        ..ServiceOptions::default()
    };
    let service = match Service::with_options(data_dir, keychain, with_links) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::error!(error = %e, "cannot open the database");
            eprintln!("mailconn-desktop: {e}");
            return ExitCode::from(4);
        }
    };
    service.apply_log_level();
    phases.done("database opened and migrated");
    tracing::info!(data_dir = %service.data_dir().root().display(), "starting");

    let hidden = options.hidden;
    let links = options.links;
    let result = builder::<tauri::Wry>(service)
        .setup(move |app| {
            phases.done("window created");
            desktop_setup(app, hidden, &links);
            phases.done("tray, deep links, background work started");
            Ok(())
        })
        .run(tauri::generate_context!());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the app failed");
            ExitCode::FAILURE
        }
    }
}

/// The app with its plugins, state and commands, without a context (tests use a mock one).
pub fn builder<R: tauri::Runtime>(service: Arc<Service>) -> tauri::Builder<R> {
    tauri::Builder::<R>::new()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            tray::show_window(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec!["--hidden"]),
        ))
        .on_window_event(|window, event| {
            use tauri::Manager;
            // With a tray, closing the window keeps the app and its refreshes running.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                let tray = window.app_handle().state::<tray::TrayPresent>();
                if tray.0.load(std::sync::atomic::Ordering::SeqCst) {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .manage(service)
        .manage(tray::TrayPresent::default())
        .manage(background::BridgeSignals::default())
        .invoke_handler(commands::handler())
}

/// What only the real desktop app does (not the mock runtime of tests): deep links, the tray,
/// and the background refresh engine.
fn desktop_setup(app: &mut tauri::App, hidden: bool, links: &[String]) {
    use tauri::Manager;
    deep_links::listen(app);
    // A link that started the app (an import link clicked while it was not running).
    let service = app.state::<Arc<Service>>().inner().clone();
    for link in links {
        deep_links::deliver(&service, link);
    }
    let handle = app.handle().clone();
    if let Err(e) = tray::build(&handle) {
        tracing::warn!(error = %e, "no tray icon; closing the window quits the app");
    }
    if hidden
        && handle
            .state::<tray::TrayPresent>()
            .0
            .load(std::sync::atomic::Ordering::SeqCst)
        && let Some(window) = app.get_webview_window("main")
    {
        let _ = window.hide();
    }
    background::start(&handle);
}
