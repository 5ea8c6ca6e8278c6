//! Commands, one module per domain. Each is a few lines: take state, call core, map the error.

pub mod system;

/// The invoke handler with every command; the list matches `build.rs` and the capability file.
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![system::app_info, system::run_doctor, system::open_url]
}
