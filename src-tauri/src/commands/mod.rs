//! Commands, one module per domain. Each is a few lines: take state, call core, map the error.

// Tauri hands commands owned arguments; borrowing them is not an option.
#![allow(clippy::needless_pass_by_value)]

pub mod bridge;
pub mod client_secret;
pub mod connections;
pub mod create_app;
pub mod mailboxes;
pub mod names;
pub mod registrations;
pub mod settings;
pub mod storage;
pub mod system;

/// What every command reaches: core's service.
type Svc<'a> = tauri::State<'a, std::sync::Arc<mailconn_core::Service>>;

/// The invoke handler with every command: the app's one list of commands (`build.rs` reads it;
/// a test holds the capability file and `ui/src/lib/ipc/commands.ts` to it).
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![
        system::dashboard,
        system::app_info,
        system::about,
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
        create_app::create_app_plan,
        create_app::start_create_app,
        create_app::finish_create_app,
        create_app::cancel_create_app,
        create_app::azure_cli,
        create_app::az_script,
        create_app::run_az_script,
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
        connections::verify_all_connections,
        connections::watch_connections,
        connections::set_program_access,
        connections::set_connection_alias,
        connections::mail_program_settings,
        system::autostart_enabled,
        system::set_autostart,
        storage::storage_mode,
        storage::set_storage_mode,
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
        bridge::bridge_status,
        bridge::start_bridge,
        bridge::stop_bridge,
        bridge::set_bridge_settings,
        bridge::add_bridge_password,
        bridge::remove_bridge_password,
        bridge::bridge_program_settings,
        bridge::bridge_certificate,
        bridge::watch_bridge,
        settings::list_settings,
        settings::set_setting,
        settings::reset_setting,
        settings::open_folder,
        settings::export_registrations,
        settings::save_registrations_export,
        settings::registration_import_link,
        settings::preview_import,
        settings::import_registrations,
        settings::watch_import_links,
        settings::dismiss_import_link,
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    fn read(path: &str) -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn handler() -> BTreeSet<String> {
        super::names::handler_names(&read("src/commands/mod.rs"))
            .into_iter()
            .collect()
    }

    #[test]
    fn the_handler_lists_every_command_once() {
        let names = super::names::handler_names(&read("src/commands/mod.rs"));
        assert!(names.len() > 30, "{names:?}");
        assert_eq!(names.len(), handler().len(), "a command is listed twice");
        assert!(names.contains(&"probe_registration".to_owned()));
    }

    #[test]
    fn the_capability_grants_exactly_the_commands() {
        let file: serde_json::Value =
            serde_json::from_str(&read("capabilities/main.json")).unwrap();
        let granted: BTreeSet<String> = file["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str()?.strip_prefix("allow-"))
            .map(|p| p.replace('-', "_"))
            .collect();
        assert_eq!(
            granted,
            handler(),
            "capabilities/main.json and the handler differ"
        );
    }

    #[test]
    fn the_interface_calls_exactly_the_commands() {
        let source = read("../ui/src/lib/ipc/commands.ts");
        let called: BTreeSet<String> = source
            .split("call('")
            .skip(1)
            .filter_map(|rest| rest.split('\'').next())
            .map(str::to_owned)
            .collect();
        assert_eq!(
            called,
            handler(),
            "ui/src/lib/ipc/commands.ts and the handler differ"
        );
    }
}
