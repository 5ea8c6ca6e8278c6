// One typed wrapper per Tauri command. Names and shapes match src-tauri/src/commands.
import type {
  About,
  AccessReport,
  AdminSignIn,
  AppInfo,
  AppSecrets,
  AzScriptRun,
  AzureCli,
  BridgeCertificate,
  BridgePassword,
  BridgeSettings,
  BridgeSignal,
  BridgeStatus,
  BrowserSignIn,
  BulkProgress,
  BulkReport,
  CheckedEntry,
  ConnectOptions,
  CreateAppInput,
  CreateAppPlan,
  CreateProgress,
  CreatedApp,
  Connected,
  Connection,
  ConnectionEvent,
  Dashboard,
  DeviceSignIn,
  DoctorReport,
  Event,
  ExportWritten,
  Folder,
  ImportOffer,
  ImportPreview,
  ImportReport,
  ImportSource,
  SettingInfo,
  MailboxUse,
  PlanInfo,
  PlanInput,
  PresetInfo,
  ProgramSetting,
  RefreshReport,
  Verification,
  Registration,
  RegistrationInput,
  Reminder,
  RotationInput,
  RotationReport,
  Saved,
  ShownOnce,
  Snippet,
  StorageMode,
  StorageStatus,
  StorageSwitch,
  ProbeReport,
  ValidationReport,
} from './bindings';
import { Channel } from '@tauri-apps/api/core';
import { call } from './invoke';

// System
export const autostartEnabled = (): Promise<boolean> => call('autostart_enabled');
export const setAutostart = (enabled: boolean): Promise<boolean> =>
  call('set_autostart', { enabled });
/** The first screen's data in one round trip: version, data directory, apps, connections, reminders. */
/** The first screen's data; with `firstRows`, only that many connections (the first the list
 * shows) and the count of all. */
export const dashboard = (firstRows?: number): Promise<Dashboard> =>
  call('dashboard', firstRows === undefined ? undefined : { firstRows });
export const appInfo = (): Promise<AppInfo> => call('app_info');
/** Versions (app, Tauri, the web view), licence, links, and where data and logs are. */
export const about = (): Promise<About> => call('about');
export const runDoctor = (): Promise<DoctorReport> => call('run_doctor');
export const storageMode = (): Promise<StorageStatus> => call('storage_mode');
export const setStorageMode = (mode: StorageMode): Promise<StorageSwitch> =>
  call('set_storage_mode', { mode });
export const openUrl = (url: string): Promise<void> => call('open_url', { url });

// App registrations
export const scopePresets = (): Promise<PresetInfo[]> => call('scope_presets');
export const registrationPlan = (input: PlanInput): Promise<PlanInfo> =>
  call('registration_plan', { input });
export const validateRegistration = (input: RegistrationInput): Promise<ValidationReport> =>
  call('validate_registration', { input });
export const listRegistrations = (): Promise<Registration[]> => call('list_registrations');
export const createRegistration = (input: RegistrationInput): Promise<Saved> =>
  call('create_registration', { input });
export const updateRegistration = (id: string, input: RegistrationInput): Promise<Saved> =>
  call('update_registration', { id, input });
export const deleteRegistration = (id: string, cascade: boolean): Promise<void> =>
  call('remove_registration', { id, cascade });
export const testRegistration = (id: string): Promise<ProbeReport> =>
  call('probe_registration', { id });
export const adminConsentUrl = (id: string): Promise<string> => call('admin_consent_url', { id });

// "Create it for me": an administrator signs in once and core creates the app
export const createAppPlan = (input: CreateAppInput): Promise<CreateAppPlan> =>
  call('create_app_plan', { input });
export const startCreateApp = (input: CreateAppInput, deviceCode: boolean): Promise<AdminSignIn> =>
  call('start_create_app', { input, deviceCode });
export const finishCreateApp = (
  attempt: string,
  onProgress: (progress: CreateProgress) => void,
): Promise<CreatedApp> =>
  call('finish_create_app', { attempt, progress: new Channel<CreateProgress>(onProgress) });
export const cancelCreateApp = (attempt: string): Promise<void> =>
  call('cancel_create_app', { attempt });
export const azureCli = (): Promise<AzureCli> => call('azure_cli');
export const azScript = (input: PlanInput): Promise<string> => call('az_script', { input });
export const runAzScript = (input: PlanInput): Promise<AzScriptRun> => call('run_az_script', { input });

// Connections
export const startBrowserSignIn = (options: ConnectOptions): Promise<BrowserSignIn> =>
  call('start_browser_sign_in', { options });
export const startDeviceSignIn = (options: ConnectOptions): Promise<DeviceSignIn> =>
  call('start_device_sign_in', { options });
/**
 * Waits for the sign-in and stores it. `saveAnyway` saves one core holds because it came back as
 * another account than its login hint (error `conflict`, field `login_hint`).
 */
export const finishSignIn = (attempt: string, saveAnyway?: boolean): Promise<Connected> =>
  call('finish_sign_in', saveAnyway === undefined ? { attempt } : { attempt, saveAnyway });
export const cancelSignIn = (attempt: string): Promise<void> => call('cancel_sign_in', { attempt });
export const listConnections = (): Promise<Connection[]> => call('list_connections');
export const disconnectConnection = (id: string): Promise<void> =>
  call('disconnect_connection', { id });
export const connectionHistory = (id: string): Promise<Event[]> =>
  call('connection_history', { id });
export const refreshConnection = (id: string): Promise<RefreshReport> =>
  call('refresh_connection', { id });
export const verifyConnection = (id: string): Promise<Verification> =>
  call('verify_connection', { id });
export const verifyAllConnections = (): Promise<Verification[]> =>
  call('verify_all_connections');
export const refreshAllConnections = (): Promise<RefreshReport[]> =>
  call('refresh_all_connections');
/** The "Programs may use this connection" switch (`mailconn token` and friends). */
export const setProgramAccess = (id: string, allowed: boolean): Promise<Connection> =>
  call('set_program_access', { id, allowed });
/** A short name for the command line; `null` clears it. */
export const setConnectionAlias = (id: string, alias: string | null): Promise<Connection> =>
  call('set_connection_alias', { id, alias });

/** "Use in a mail program": every program's settings for the connection, written by core. */
export const mailProgramSettings = (id: string): Promise<Snippet[]> =>
  call('mail_program_settings', { id });

/** Calls `onEvent` for every connection change the background engine makes, until reload. */
export function watchConnections(onEvent: (event: ConnectionEvent) => void): Promise<void> {
  const channel = new Channel<ConnectionEvent>();
  channel.onmessage = onEvent;
  return call('watch_connections', { onEvent: channel });
}

// Organisation mailboxes (application access)
export const checkMailboxList = (text: string): Promise<CheckedEntry[]> =>
  call('check_mailbox_list', { text });
export const appAccess = (
  registration: string,
  mailboxUse: MailboxUse,
  fresh: boolean,
): Promise<AccessReport> => call('app_access', { registration, mailboxUse, fresh });
/** Adds the mailboxes of `text`; each finished row arrives at `onProgress` while it runs. */
export const addMailboxes = (
  registration: string,
  text: string,
  mailboxUse: MailboxUse,
  run: string,
  onProgress: (progress: BulkProgress) => void,
): Promise<BulkReport> =>
  call('add_mailboxes', {
    registration,
    text,
    mailboxUse,
    run,
    progress: new Channel<BulkProgress>(onProgress),
  });
export const cancelMailboxAdd = (run: string): Promise<void> =>
  call('cancel_mailbox_add', { run });
// Client secrets: reminders, end dates, rotation
export const listReminders = (): Promise<Reminder[]> => call('list_reminders');
export const appSecrets = (id: string): Promise<AppSecrets> => call('app_secrets', { id });
export const setSecretExpiry = (id: string, expires: string): Promise<Registration> =>
  call('set_secret_expiry', { id, expires });
export const secretPortalUrl = (id: string): Promise<string> => call('secret_portal_url', { id });
export const rotateSecret = (id: string, input: RotationInput): Promise<RotationReport> =>
  call('rotate_secret', { id, input });
export const rotateSecretViaGraph = (id: string, expires: string): Promise<RotationReport> =>
  call('rotate_secret_via_graph', { id, expires });

/** Calls `onChange` with the reminders whenever they change (thresholds, rotation, refusals). */
export function watchReminders(onChange: (list: Reminder[]) => void): Promise<void> {
  const channel = new Channel<Reminder[]>();
  channel.onmessage = onChange;
  return call('watch_reminders', { onChange: channel });
}

// The mail bridge
export const bridgeStatus = (): Promise<BridgeStatus> => call('bridge_status');
export const startBridge = (): Promise<BridgeStatus> => call('start_bridge');
export const stopBridge = (): Promise<BridgeStatus> => call('stop_bridge');
/** Core checks them (the message names the field); a running bridge restarts on them. */
export const setBridgeSettings = (settings: BridgeSettings): Promise<BridgeStatus> =>
  call('set_bridge_settings', { settings });
/** A new password for a program on a connection: the answer is the only place it ever appears. */
export const addBridgePassword = (connection: string, program: string): Promise<ShownOnce> =>
  call('add_bridge_password', { connection, program });
export const removeBridgePassword = (id: string): Promise<BridgePassword> =>
  call('remove_bridge_password', { id });
export const bridgeProgramSettings = (id: string): Promise<ProgramSetting[]> =>
  call('bridge_program_settings', { id });
export const bridgeCertificate = (): Promise<BridgeCertificate> => call('bridge_certificate');

/** Calls `onSignal` on every bridge change (`changed`) and the tray's "Bridge" entry (`show`). */
export function watchBridge(onSignal: (signal: BridgeSignal) => void): Promise<void> {
  const channel = new Channel<BridgeSignal>();
  channel.onmessage = onSignal;
  return call('watch_bridge', { onSignal: channel });
}

// Settings
export const listSettings = (): Promise<SettingInfo[]> => call('list_settings');
/** Core checks the value (the error names the setting as its field) and applies it at once. */
export const setSetting = (key: string, value: string): Promise<SettingInfo> =>
  call('set_setting', { key, value });
export const resetSetting = (key: string): Promise<SettingInfo> => call('reset_setting', { key });
/** Opens the app's own data or log folder in the file manager. */
export const openFolder = (folder: Folder): Promise<void> => call('open_folder', { folder });
/** The JSON export of every app registration (no secret in it). */
export const exportRegistrations = (): Promise<string> => call('export_registrations');
export const saveRegistrationsExport = (path: string, replace: boolean): Promise<ExportWritten> =>
  call('save_registrations_export', { path, replace });
/** The `mailconn://import?...` link of one app registration. */
export const registrationImportLink = (id: string): Promise<string> =>
  call('registration_import_link', { id });
/** What an import would add or skip; nothing is saved. */
export const previewImport = (source: ImportSource): Promise<ImportPreview> =>
  call('preview_import', { source });
export const importRegistrations = (source: ImportSource): Promise<ImportReport> =>
  call('import_registrations', { source });
/** Calls `onOffer` with the import link waiting now, then with every new one the OS delivers. */
export function watchImportLinks(onOffer: (offer: ImportOffer) => void): Promise<void> {
  const channel = new Channel<ImportOffer>();
  channel.onmessage = onOffer;
  return call('watch_import_links', { onOffer: channel });
}
export const dismissImportLink = (): Promise<void> => call('dismiss_import_link');
