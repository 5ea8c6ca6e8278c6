//! TypeScript declarations of every type that crosses IPC, written to
//! `ui/src/lib/ipc/bindings.ts`. A test fails when the committed file is stale; run
//! `UPDATE_BINDINGS=1 cargo test -p mailconn-desktop bindings` to rewrite it.

use mailconn_core::doctor::{Check, CheckStatus, DoctorReport};
use mailconn_core::keychain::sealed::{StorageMode, StorageStatus, StorageSwitch, TokenCounts};
use mailconn_core::{ErrorBody, ErrorCode, ErrorDetail};
use ts_rs::{Config, TS};

use mailconn_core::cloud::{Cloud, CloudId};
use mailconn_core::registration::export::{PlanInfo, PlanInput};
use mailconn_core::registration::probe::{ProbeReport, ProbeStep, StepStatus};
use mailconn_core::registration::{
    Audience, ClientKind, FieldIssue, LastTest, Registration, RegistrationInput, Usage,
    ValidationReport,
};
use mailconn_core::scopes::{Permission, PermissionKind, Preset, PresetInfo};

use mailconn_core::connect::ConnectOptions;
use mailconn_core::connection::{Connection, ConnectionKind, StateKind, TokenState};
use mailconn_core::engine::{Notice, RefreshReport};
use mailconn_core::flow::device_code::DeviceCode;
use mailconn_core::flow::identity::AccountType;
use mailconn_core::mail_programs::{Program, Snippet};
use mailconn_core::store::events::Event;
use mailconn_core::verification::{Outcome, Step, StepProtocol, Verification};

use mailconn_core::client_secret::credentials::{AppSecrets, PasswordCredential};
use mailconn_core::client_secret::reminders::{Reminder, ReminderKind};
use mailconn_core::client_secret::rotation::{
    ConnectionCheck, RotationInput, RotationReport, VerifiedBy,
};

use mailconn_core::application::addresses::CheckedEntry;
use mailconn_core::application::mailbox::{
    AccessReport, BulkProgress, BulkReport, MailboxRow, RowStatus,
};
use mailconn_core::application::permissions::{MailboxUse, PermissionCheck, RoleStatus};
use mailconn_core::service::ConnectionEvent;

use crate::background::BridgeSignal;
use crate::commands::bridge::{BridgeCertificate, ShownOnce};
use mailconn_core::bridge::sessions::SessionStage;
use mailconn_core::bridge::settings::{NetworkAccess, Ports};
use mailconn_core::bridge::{
    BridgePassword, BridgeSettings, BridgeStatus, ListenerSecurity, ListenerState, ListenerStatus,
    SessionInfo,
};
use mailconn_core::mail_servers::MailProtocol;
use mailconn_core::service::bridge::ProgramSetting;

use mailconn_core::service::azure_cli::{AzScriptRun, AzureCli};
use mailconn_core::service::create_app::{
    AdminSignIn, ConsentOutcome, CreateAppInput, CreateAppPlan, CreateProgress, CreateStep,
    CreatedApp, CreatedSecret, PlannedRequest,
};
use mailconn_core::service::registrations::Saved;
use mailconn_core::service::sign_in::{BrowserSignIn, Connected, DeviceSignIn};
use mailconn_core::service::system::{About, AboutLink, AppInfo, Component, Dashboard};

use mailconn_core::registration::transfer::{SharedFrom, SharedRegistration};
use mailconn_core::service::settings::Folder;
use mailconn_core::service::transfer::{
    ExportWritten, ImportEntry, ImportOffer, ImportPreview, ImportReport, ImportSource,
    ImportStatus,
};
use mailconn_core::settings::{
    LogLevel, NotificationKind, SettingInfo, SettingKey, SettingKind, SettingSource, SettingValue,
    Theme,
};

/// Where the generated file lives, relative to this crate.
pub const BINDINGS_PATH: &str = "../ui/src/lib/ipc/bindings.ts";

macro_rules! declarations {
    ($cfg:expr; $($t:ty),* $(,)?) => {
        vec![$(<$t as TS>::decl($cfg)),*]
    };
}

/// The whole file's text.
pub fn render() -> String {
    let cfg = Config::default();
    let decls = declarations![&cfg;
        ErrorCode, ErrorDetail, ErrorBody,
        CheckStatus, Check, DoctorReport,
        AppInfo, Component, AboutLink, About,
        StorageMode, TokenCounts, StorageStatus, StorageSwitch,
        CloudId, Cloud, ClientKind, Usage, Audience, Preset, PermissionKind, Permission, PresetInfo,
        PlanInput, PlanInfo, RegistrationInput, FieldIssue, ValidationReport, LastTest, Registration,
        Saved, StepStatus, ProbeStep, ProbeReport,
        ConnectOptions, ConnectionKind, TokenState, StateKind, AccountType, Connection, Event, DeviceCode,
        BrowserSignIn, DeviceSignIn, Connected,
        Notice, RefreshReport, ConnectionEvent, Outcome, StepProtocol, Step, Verification,
        Program, Snippet,
        MailboxUse, RoleStatus, PermissionCheck, CheckedEntry, RowStatus, MailboxRow, BulkProgress,
        BulkReport, AccessReport,
        ReminderKind, Reminder, Dashboard, PasswordCredential, AppSecrets, RotationInput, VerifiedBy,
        ConnectionCheck, RotationReport,
        MailProtocol, ListenerSecurity, Ports, NetworkAccess, BridgeSettings, ListenerState,
        ListenerStatus, SessionStage, SessionInfo, BridgePassword, BridgeStatus, ProgramSetting,
        ShownOnce, BridgeCertificate, BridgeSignal,
        SettingKey, SettingKind, SettingSource, SettingValue, SettingInfo, LogLevel, Theme,
        NotificationKind, Folder, SharedRegistration, SharedFrom, ImportSource, ImportStatus, ImportEntry,
        ImportPreview, ImportReport, ImportOffer, ExportWritten,
        CreateAppInput, PlannedRequest, CreateAppPlan, AdminSignIn, CreateStep, CreateProgress,
        CreatedSecret, ConsentOutcome, CreatedApp, AzureCli, AzScriptRun,
    ];
    let mut out = String::from(
        "// Generated from the Rust types by src-tauri/src/bindings.rs. Do not edit by hand.\n",
    );
    for decl in decls {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_are_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_PATH);
        let fresh = render();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "{} is stale: run `UPDATE_BINDINGS=1 cargo test -p mailconn-desktop bindings`",
            path.display()
        );
    }
}
