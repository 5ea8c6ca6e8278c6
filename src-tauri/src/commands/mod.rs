//! Commands, one module per domain. Each is a few lines: take state, call core, map the error.

// Tauri hands commands owned arguments; borrowing them is not an option.
#![allow(clippy::needless_pass_by_value)]

pub mod client_secret;
pub mod connections;
pub mod mailboxes;
pub mod registrations;
pub mod system;

/// What every command reaches: core's service.
type Svc<'a> = tauri::State<'a, std::sync::Arc<mailconn_core::Service>>;

/// The invoke handler with every command; the list matches `build.rs` and the capability file.
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![
        system::app_info,
        system::run_doctor,
        system::open_url,
        registrations::scope_presets,
        registrations::registration_plan,
        registrations::validate_registration,
        registrations::list_registrations,
        registrations::create_registration,
        registrations::update_registration,
        registrations::remove_registration,
        registrations::probe_registration,
        registrations::admin_consent_url,
        connections::start_browser_sign_in,
        connections::start_device_sign_in,
        connections::finish_sign_in,
        connections::cancel_sign_in,
        connections::list_connections,
        connections::disconnect_connection,
        connections::connection_history,
        connections::refresh_connection,
        connections::refresh_all_connections,
        connections::verify_connection,
        connections::watch_connections,
        system::autostart_enabled,
        system::set_autostart,
        mailboxes::check_mailbox_list,
        mailboxes::app_access,
        mailboxes::add_mailboxes,
        mailboxes::cancel_mailbox_add,
        client_secret::list_reminders,
        client_secret::watch_reminders,
        client_secret::app_secrets,
        client_secret::set_secret_expiry,
        client_secret::secret_portal_url,
        client_secret::rotate_secret,
        client_secret::rotate_secret_via_graph,
    ]
}
