// Generated from the Rust types by src-tauri/src/bindings.rs. Do not edit by hand.

export type ErrorCode = "validation" | "not_found" | "conflict" | "keychain_unavailable" | "keychain_locked" | "keychain" | "database" | "data_dir" | "network" | "identity_provider" | "needs_sign_in" | "needs_consent" | "not_allowed" | "cancelled" | "timeout" | "internal";

export type ErrorDetail = { 
/**
 * The form field (or CLI option) the error belongs to.
 */
field?: string, 
/**
 * Microsoft's AADSTS error number, when there is one.
 */
aadsts?: number, 
/**
 * The OAuth `error` value (`invalid_grant`, `access_denied`, ...).
 */
oauth_error?: string, trace_id?: string, correlation_id?: string, timestamp?: string, 
/**
 * Microsoft Graph's error code (`ErrorAccessDenied`, `Request_ResourceNotFound`, ...).
 */
graph_error?: string, 
/**
 * Microsoft Graph's `request-id` of the failed call (support asks for it).
 */
request_id?: string, 
/**
 * The `client-request-id` the app sent with the failed Graph call.
 */
client_request_id?: string, 
/**
 * What the user should do about it, in words.
 */
fix?: string, 
/**
 * The one-click way out the interface offers (from the AADSTS catalogue entry).
 */
remedy?: "sign_in_again" | "retry" | "admin_consent" | "rotate_secret" | "change_tenant" | "fix_redirect_uri" | "fix_registration" | "contact_admin", };

export type ErrorBody = { code: ErrorCode, message: string, detail?: ErrorDetail, };

export type CheckStatus = "ok" | "warning" | "failed";

export type Check = { 
/**
 * Stable identifier: `data_dir`, `database`, `keychain`.
 */
id: string, label: string, status: CheckStatus, summary: string, fix?: string, code?: ErrorCode, };

export type DoctorReport = { data_dir: string, checks: Array<Check>, };

export type AppInfo = { version: string, data_dir: string, keychain: Check, };

export type Component = { name: string, version: string, };

export type AboutLink = { label: string, url: string, };

export type About = { name: string, version: string, 
/**
 * An SPDX expression.
 */
licence: string, components: Array<Component>, 
/**
 * `linux x86_64`, `macos aarch64`, `windows x86_64`.
 */
platform: string, data_dir: string, database: string, logs_dir: string, links: Array<AboutLink>, };

export type StorageMode = "keychain" | "sealed";

export type TokenCounts = { refresh_tokens: number, access_tokens: number, };

export type StorageStatus = { mode: StorageMode, 
/**
 * A switch to this mode was started and not finished (switching again finishes it).
 */
unfinished: StorageMode | null, 
/**
 * Tokens sealed in the database.
 */
sealed: TokenCounts, 
/**
 * Tokens in the OS keychain; `None` unless counted (one read per expected entry).
 */
keychain: TokenCounts | null, };

export type StorageSwitch = { from: StorageMode, to: StorageMode, 
/**
 * Tokens now in the new place that were in the old one.
 */
moved: TokenCounts, 
/**
 * Sealed tokens dropped because they could not be opened (only when asked to).
 */
forgotten: number, };

export type CloudId = "global" | "gcc-high" | "dod" | "china" | "custom";

export type Cloud = { id: CloudId, 
/**
 * e.g. `https://login.microsoftonline.com` (no trailing slash).
 */
authority: string, 
/**
 * e.g. `https://graph.microsoft.com` (no trailing slash).
 */
graph: string, 
/**
 * The Graph resource identifier used in `.default` scopes.
 */
graph_resource: string, 
/**
 * The Azure portal for this cloud.
 */
portal: string, 
/**
 * Whether personal Microsoft accounts exist here (only in the global cloud).
 */
personal_accounts: boolean, };

export type ClientKind = "public" | "confidential";

export type Usage = "delegated" | "application" | "both";

export type Audience = "my_organization" | "any_organization" | "any_organization_and_personal";

export type Preset = "read" | "send" | "full" | "full-calendar" | "mail-programs" | "application";

export type PermissionKind = "delegated" | "application";

export type Permission = { 
/**
 * The name shown in the portal, e.g. `Mail.Read`.
 */
name: string, 
/**
 * `delegated` (portal: "Delegated permissions") or `application`.
 */
kind: PermissionKind, 
/**
 * The resource's display name in the portal ("Microsoft Graph" for every preset's).
 */
api: string, 
/**
 * The resource application ID.
 */
api_id: string, 
/**
 * The permission's GUID (manifest `resourceAccess.id`).
 */
id: string, 
/**
 * Whether an administrator must consent.
 */
admin_consent: boolean, };

export type PresetInfo = { preset: Preset, label: string, description: string, 
/**
 * The scopes a sign-in requests (empty for application access).
 */
delegated_scopes: Array<string>, permissions: Array<Permission>, 
/**
 * Whether an administrator must grant consent before anyone can use it.
 */
admin_consent: boolean, };

export type PlanInput = { name: string, 
/**
 * The kind the user asked for (desktop or Web app); the usage may decide otherwise (the
 * plan's `kind` is the one the registration gets).
 */
kind: ClientKind, usage: Usage, audience: Audience, preset: Preset, cloud: CloudId, authority_url?: string, graph_url?: string, redirect_uri?: string, };

export type PlanInfo = { 
/**
 * The client kind the registration gets: the one asked for, unless the usage needs a secret.
 */
kind: ClientKind, 
/**
 * The usage decides the kind; the user has no choice.
 */
kind_fixed: boolean, redirect_uri: string, 
/**
 * The app's own custom-scheme redirect URI, which desktop apps may choose instead.
 */
deep_link_redirect_uri: string, 
/**
 * Which help the tenant field shows.
 */
tenant_hint: "directory_id" | "one_organization" | "any_organization" | "any_account", 
/**
 * Tenant values offered with one click for this audience and usage, best first.
 */
tenant_suggestions: Array<string>, 
/**
 * The portal's platform name: "Mobile and desktop applications" or "Web".
 */
platform: string, account_types: string, permissions: Array<Permission>, admin_consent: boolean, secret_needed: boolean, portal: string, portal_new_registration_url: string, manifest: string, az_script: string, };

export type RegistrationInput = { name: string, client_id: string, kind: ClientKind, tenant: string, cloud: CloudId, authority_url?: string, graph_url?: string, 
/**
 * IMAP server `HOST:PORT` (see `mail_servers`): needed where Microsoft's is not known
 * (custom and national clouds); elsewhere it replaces Microsoft's.
 */
imap_server?: string, 
/**
 * POP server `HOST:PORT`.
 */
pop_server?: string, 
/**
 * SMTP submission server `HOST:PORT`.
 */
smtp_server?: string, usage: Usage, audience: Audience, 
/**
 * The delegated preset sign-ins use (ignored for application-only registrations).
 */
preset: Preset, 
/**
 * Defaults to the recommended URI for the client kind.
 */
redirect_uri?: string, 
/**
 * The client secret's Value. Goes to the keychain only.
 */
secret?: string, 
/**
 * `YYYY-MM-DD`.
 */
secret_expires?: string, secret_label?: string, };

export type FieldIssue = { field: string, message: string, };

export type ValidationReport = { errors: Array<FieldIssue>, warnings: Array<FieldIssue>, };

export type LastTest = { at: string, ok: boolean, summary: string, };

export type Registration = { id: string, name: string, client_id: string, kind: ClientKind, tenant: string, cloud: CloudId, authority_url: string | null, graph_url: string | null, 
/**
 * The registration's own IMAP server (`HOST:PORT`, see `mail_servers`), if it has one.
 */
imap_server: string | null, pop_server: string | null, smtp_server: string | null, usage: Usage, audience: Audience, preset: Preset, redirect_uri: string, has_secret: boolean, secret_label: string | null, secret_hint: string | null, secret_expires: string | null, last_test: LastTest | null, connections: number, created_at: string, updated_at: string, };

export type Saved = { registration: Registration, warnings: ValidationReport, };

export type StepStatus = "passed" | "failed" | "skipped";

export type ProbeStep = { name: string, status: StepStatus, message: string, error?: ErrorBody, };

export type ProbeReport = { ok: boolean, summary: string, steps: Array<ProbeStep>, };

export type ConnectOptions = { 
/**
 * Registration id or name.
 */
registration: string, 
/**
 * Defaults to the registration's preset.
 */
preset?: Preset, 
/**
 * Overrides the registration's tenant for this sign-in.
 */
tenant?: string, login_hint?: string, prompt?: string, 
/**
 * Reconnect (e.g. to change scopes): the sign-in must be this connection's account, and
 * its token is replaced only after the new sign-in succeeds.
 */
reconnect?: string, };

export type ConnectionKind = "delegated" | "application";

export type TokenState = { "state": "active", state_reason: string | null, } | { "state": "refreshing" } | { "state": "retrying", 
/**
 * Failed attempts in a row (1 after the first failure).
 */
retry_attempt: number, state_reason: string, } | { "state": "needs_sign_in", state_reason: string, state_aadsts: number | null, } | { "state": "needs_consent", state_reason: string, state_aadsts: number | null, } | { "state": "secret_expired", state_reason: string, state_aadsts: number | null, } | { "state": "no_access", state_reason: string, state_aadsts: number | null, } | { "state": "disconnected" };

export type StateKind = "active" | "refreshing" | "retrying" | "needs_sign_in" | "needs_consent" | "secret_expired" | "no_access" | "disconnected";

export type AccountType = "personal" | "work";

export type Connection = { id: string, registration_id: string, registration_name: string, kind: ConnectionKind, account_key: string, address: string, display_name: string | null, tenant_id: string | null, account_type: AccountType, preset: Preset, scopes_requested: Array<string>, scopes_granted: Array<string>, 
/**
 * Requested but not granted (`offline_access` missing means no refresh token).
 */
scopes_missing: Array<string>, has_refresh_token: boolean, created_at: string, updated_at: string, last_refresh_at: string | null, access_expires_at: string | null, 
/**
 * When the engine next refreshes: before the access token expires, the keep-alive, or the
 * next retry. None when nothing is scheduled (e.g. it needs sign-in).
 */
next_refresh_at: string | null, 
/**
 * When an access token was last handed out (verification, a program, the app).
 */
last_used_at: string | null, 
/**
 * Delegated connections: when Microsoft forgets the refresh token if it is never used
 * (90 days after the last refresh).
 */
inactivity_deadline: string | null, 
/**
 * A short name the user gave it, usable wherever an id or address is.
 */
alias: string | null, 
/**
 * Whether programs and scripts may fetch its access tokens (`mailconn token`).
 */
programs_allowed: boolean, } & ({ "state": "active", state_reason: string | null, } | { "state": "refreshing" } | { "state": "retrying", 
/**
 * Failed attempts in a row (1 after the first failure).
 */
retry_attempt: number, state_reason: string, } | { "state": "needs_sign_in", state_reason: string, state_aadsts: number | null, } | { "state": "needs_consent", state_reason: string, state_aadsts: number | null, } | { "state": "secret_expired", state_reason: string, state_aadsts: number | null, } | { "state": "no_access", state_reason: string, state_aadsts: number | null, } | { "state": "disconnected" });

export type Event = { at: string, kind: string, summary: string, aadsts: number | null, trace_id: string | null, correlation_id: string | null, };

export type DeviceCode = { user_code: string, verification_uri: string, expires_at: string, 
/**
 * Microsoft's own instruction text.
 */
message: string | null, };

export type BrowserSignIn = { attempt: string, 
/**
 * The authorization link (the shell opens it in the system browser).
 */
url: string, 
/**
 * Whether the system browser could be opened (set by the shell that tried).
 */
opened: boolean, };

export type DeviceSignIn = { attempt: string, code: DeviceCode, };

export type Connected = { connection: Connection, 
/**
 * False when the same account was already connected with this app and was updated.
 */
created: boolean, };

export type Notice = { connection_id: string, address: string, state: StateKind, title: string, body: string, };

export type RefreshReport = { connection: Connection, 
/**
 * Whether this call made the token request (false: shared one that had just finished).
 */
requested: boolean, 
/**
 * Whether Microsoft sent a new refresh token (stored).
 */
rotated: boolean, error: ErrorBody | null, };

export type ConnectionEvent = { "kind": "changed", connection: Connection, } | { "kind": "notice", notice: Notice, };

export type Outcome = "passed" | "failed" | "skipped";

export type StepProtocol = "token" | "graph" | "imap" | "pop" | "smtp";

export type Step = { 
/**
 * Stable name: `token`; `graph_profile`, `graph_newest_message`, `graph_send_test`,
 * `graph_calendar`; `imap_connect`, `imap_login`, `imap_select`; `pop_connect`, `pop_login`,
 * `pop_stat`; `smtp_connect`, `smtp_tls`, `smtp_login`; `application_mailbox`.
 */
name: string, protocol: StepProtocol, outcome: Outcome, 
/**
 * What happened, in plain words (for a failure: what it means).
 */
message: string, 
/**
 * What to do about a failure, when something can be done.
 */
fix: string | null, 
/**
 * The code the other side gave: `AADSTS70000`, Graph's `ErrorAccessDenied`, `535 5.7.139`,
 * `NO`...
 */
code: string | null, 
/**
 * Whole milliseconds the step took (0 when skipped).
 */
duration_ms: number, };

export type Verification = { connection: Connection, 
/**
 * Whether a token request was made for this verification.
 */
requested: boolean, rotated: boolean, error: ErrorBody | null, steps: Array<Step>, };

export type Program = "thunderbird" | "neomutt" | "aerc" | "msmtp" | "mbsync" | "offlineimap" | "fetchmail" | "script";

export type Snippet = { program: Program, title: string, 
/**
 * Where the text goes (a file, or "the account settings").
 */
place: string, text: string, 
/**
 * What to know first: a plugin to install, a permission or server missing, ...
 */
notes: Array<string>, 
/**
 * False when a permission, a server or the programs switch keeps it from working as is.
 */
ready: boolean, };

export type MailboxUse = "read" | "send" | "full";

export type RoleStatus = { name: string, purpose: string, needed: boolean, 
/**
 * Held as such, or through a broader permission (`covered_by`).
 */
granted: boolean, 
/**
 * The broader permission that includes this one, when only that is held.
 */
covered_by: string | null, };

export type PermissionCheck = { mailbox_use: MailboxUse, 
/**
 * Every role the token carries, as Microsoft names them.
 */
roles: Array<string>, permissions: Array<RoleStatus>, 
/**
 * Needed but not held. Empty when the roles are unknown (`roles_known` false): nothing is
 * known to be missing then.
 */
missing: Array<string>, 
/**
 * Whether the token showed its roles. When it does not (an opaque token), every
 * permission's `granted` is false meaning "unknown", `ok` is false, and Graph's answers
 * decide: the app still tries.
 */
roles_known: boolean, ok: boolean, summary: string, };

export type CheckedEntry = { line: number, input: string, 
/**
 * The normalised address (lower case), when the syntax is right.
 */
address: string | null, 
/**
 * Why it will not be looked up: bad syntax, or already listed on an earlier line.
 */
problem: string | null, 
/**
 * The earlier line with the same address.
 */
duplicate_of: number | null, };

export type RowStatus = "connected" | "already_added" | "no_access" | "invalid" | "duplicate" | "failed" | "cancelled";

export type MailboxRow = { 
/**
 * 1-based line of the list (position for command-line arguments).
 */
line: number, 
/**
 * The text as given.
 */
input: string, 
/**
 * The mailbox's address: Graph's primary address when found, else the normalised input.
 */
address: string | null, display_name: string | null, status: RowStatus, connection_id: string | null, 
/**
 * What is wrong and what to do (message, fix, Graph request IDs).
 */
problem: ErrorBody | null, };

export type BulkProgress = { done: number, total: number, row: MailboxRow, };

export type BulkReport = { registration_id: string, registration_name: string, permissions: PermissionCheck, 
/**
 * In list order.
 */
rows: Array<MailboxRow>, connected: number, already_added: number, 
/**
 * Rows with a problem: no access, invalid, failed.
 */
problems: number, cancelled: boolean, summary: string, };

export type AccessReport = { registration_id: string, registration_name: string, 
/**
 * The tenant that issued the token.
 */
tenant_id: string | null, token_expires_at: string, permissions: PermissionCheck, };

export type ReminderKind = "expiring" | "expired" | "rejected";

export type Reminder = { registration_id: string, registration_name: string, client_id: string, kind: ReminderKind, 
/**
 * The first characters of the stored secret (as the portal shows them).
 */
secret_hint: string | null, secret_label: string | null, expires: string | null, 
/**
 * Whole days until the end date (negative once passed); `None` without a date.
 */
days_left: number | null, 
/**
 * The threshold the secret is within (0: expired); `None` for `Rejected` without a date.
 */
threshold: number | null, 
/**
 * Connections that use the registration, and how many of them the refresh engine marked
 * `secret_expired`.
 */
connections: number, connections_broken: number, };

export type Dashboard = { version: string, data_dir: string, registrations: Array<Registration>, 
/**
 * Every connection, or with a limit asked for, the first ones in the list's first order
 * (by address, as [`first_in_list_order`] sorts): the rest follow with `list_connections`.
 */
connections: Array<Connection>, 
/**
 * How many connections there are in all (more than `connections` holds when limited).
 */
connections_total: number, reminders: Array<Reminder>, 
/**
 * The appearance setting, so the first paint is in the chosen theme.
 */
theme: Theme, };

export type PasswordCredential = { key_id: string, display_name: string | null, 
/**
 * The first characters of the value.
 */
hint: string | null, start: string | null, end: string | null, 
/**
 * Whether this is the secret stored in the keychain (matched by its hint).
 */
stored: boolean, };

export type AppSecrets = { registration_id: string, registration_name: string, secret_hint: string | null, secret_label: string | null, secret_expires: string | null, 
/**
 * Whether Graph answered; when not, `graph_error` says why and the manual date stands.
 */
graph_read: boolean, graph_error: ErrorBody | null, credentials: Array<PasswordCredential>, 
/**
 * The stored secret's end date changed to Graph's.
 */
expires_updated: boolean, };

export type RotationInput = { secret: string, 
/**
 * `YYYY-MM-DD`.
 */
expires: string, label?: string, };

export type VerifiedBy = "client_credentials" | "refresh";

export type ConnectionCheck = { connection_id: string, address: string, ok: boolean, state: StateKind, message: string, error: ErrorBody | null, };

export type RotationReport = { registration: Registration, verified_by: VerifiedBy, 
/**
 * Every connection of the registration, re-verified with the new secret.
 */
connections: Array<ConnectionCheck>, 
/**
 * The replaced secret's hint: delete it in the portal.
 */
old_hint: string | null, 
/**
 * The replaced secret as Graph lists it (when Graph allows reading).
 */
old_credential: PasswordCredential | null, 
/**
 * Graph removed the old secret (in-app rotation only).
 */
old_removed: boolean, 
/**
 * Why Graph could not list or remove the old secret, when it could not.
 */
graph_error: ErrorBody | null, 
/**
 * All connections work.
 */
ok: boolean, };

export type MailProtocol = "imap" | "pop" | "smtp";

export type ListenerSecurity = "start_tls" | "tls";

export type Ports = { starttls: number, tls: number, };

export type NetworkAccess = { 
/**
 * The local address to listen on as well as loopback, e.g. `192.168.1.20`.
 */
address: string, 
/**
 * Client addresses or networks allowed (`192.168.1.30`, `192.168.1.0/24`); nothing else
 * gets past the TCP accept.
 */
allow: Array<string>, };

export type BridgeSettings = { imap: Ports, pop: Ports, smtp: Ports, 
/**
 * Plain login without TLS on the loopback listeners (off: clients must use TLS there too).
 */
allow_plain: boolean, network: NetworkAccess | null, 
/**
 * Start the bridge when the desktop app starts.
 */
start_with_app: boolean, 
/**
 * Sessions one program or device may have at once.
 */
sessions_per_program: number, };

export type ListenerState = { "state": "listening" } | { "state": "failed", message: string, };

export type ListenerStatus = { protocol: MailProtocol, security: ListenerSecurity, address: string, port: number, 
/**
 * On the office network (not loopback).
 */
network: boolean, } & ({ "state": "listening" } | { "state": "failed", message: string, });

export type SessionStage = "login" | "relaying";

export type SessionInfo = { id: number, protocol: MailProtocol, security: ListenerSecurity, 
/**
 * Whether the local leg is encrypted now (after STARTTLS, or from the start).
 */
encrypted: boolean, peer: string, started_at: string, 
/**
 * Set once the local login succeeded.
 */
connection_id: string | null, address: string | null, program: string | null, 
/**
 * `upstream` while relaying to the real server.
 */
stage: SessionStage, bytes_from_client: number, bytes_to_client: number, };

export type BridgePassword = { id: string, connection_id: string, 
/**
 * The local user name: the mailbox address.
 */
address: string, program: string, created_at: string, last_used_at: string | null, 
/**
 * The address the last login came from.
 */
last_peer: string | null, use_count: number, };

export type BridgeStatus = { running: boolean, settings: BridgeSettings, listeners: Array<ListenerStatus>, sessions: Array<SessionInfo>, passwords: Array<BridgePassword>, 
/**
 * SHA-256 of the bridge's certificate, once made.
 */
certificate_fingerprint: string | null, 
/**
 * Things to tell the user (devices on the network are allowed; plain login is on).
 */
warnings: Array<string>, };

export type ProgramSetting = { protocol: MailProtocol, server: string, port: number, security: ListenerSecurity, 
/**
 * The security's name as mail programs show it (`STARTTLS`, `SSL/TLS`).
 */
security_label: string, user: string, };

export type ShownOnce = { entry: BridgePassword, password: string, };

export type BridgeCertificate = { pem: string, 
/**
 * SHA-256 of the DER, as `AB:CD:...`.
 */
fingerprint: string, names: Array<string>, };

export type BridgeSignal = "changed" | "show";

export type SettingKey = "refresh-margin" | "keep-alive" | "reminder-days" | "notify-connections" | "notify-secrets" | "notify-bridge" | "log-level" | "theme";

export type SettingKind = "duration" | "days" | "switch" | "level" | "theme";

export type SettingSource = "default" | "saved" | "environment";

export type SettingValue = { "kind": "duration", seconds: number, } | { "kind": "days", days: Array<number>, } | { "kind": "switch", on: boolean, } | { "kind": "level", filter: string, } | { "kind": "theme", theme: Theme, };

export type SettingInfo = { key: SettingKey, kind: SettingKind, label: string, description: string, 
/**
 * The value in effect.
 */
value: SettingValue, 
/**
 * The value in effect as text (`5m`, `30,14,7,1`, `on`, `info`).
 */
text: string, source: SettingSource, default_text: string, 
/**
 * What is saved, also while the environment overrides it.
 */
saved_text: string | null, 
/**
 * The variable that overrides the setting, if it has one.
 */
env: string | null, 
/**
 * The variable's value, when it is set and used.
 */
env_text: string | null, 
/**
 * The range in seconds (times) or days (reminders).
 */
range: [number, number] | null, 
/**
 * What may be entered, in words.
 */
accepts: string, 
/**
 * A saved value or a variable that could not be used, and why.
 */
warning: string | null, };

export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";

export type Theme = "system" | "light" | "dark";

export type NotificationKind = "connections" | "secrets" | "bridge";

export type Folder = "data" | "logs";

export type SharedRegistration = { name: string, client_id: string, kind: ClientKind, tenant: string, cloud: CloudId, authority_url?: string | null, graph_url?: string | null, imap_server?: string | null, pop_server?: string | null, smtp_server?: string | null, usage: Usage, audience: Audience, preset: Preset, redirect_uri: string, };

export type SharedFrom = "link" | "file";

export type ImportSource = { "from": "text", text: string, } | { "from": "file", path: string, };

export type ImportStatus = "new" | "already_here" | "name_taken" | "invalid";

export type ImportEntry = { registration: SharedRegistration, status: ImportStatus, errors: Array<FieldIssue>, warnings: Array<FieldIssue>, 
/**
 * A Web (confidential) app: its client secret is pasted in after importing.
 */
needs_secret: boolean, };

export type ImportPreview = { from: SharedFrom, entries: Array<ImportEntry>, };

export type ImportReport = { added: Array<Registration>, skipped: Array<ImportEntry>, };

export type ImportOffer = { 
/**
 * The link as it arrived (cut after [`transfer::MAX_LINK`] characters; anything shaped
 * like a secret or token blanked).
 */
link: string, preview: ImportPreview | null, 
/**
 * Why the link cannot be imported.
 */
error: ErrorBody | null, };

export type ExportWritten = { path: string, count: number, };

export type CreateAppInput = { plan: PlanInput, 
/**
 * Grant admin consent in the same step (asks for the consent permissions too).
 */
grant_consent: boolean, 
/**
 * The client secret's lifetime in months (Web apps), 1 to 24; default 12.
 */
secret_months?: number, 
/**
 * Where the administrator signs in: default `organizations`; a tenant ID or domain for a
 * guest administrator.
 */
tenant?: string, login_hint?: string, };

export type PlannedRequest = { method: string, path: string, 
/**
 * Pretty JSON; values only known later are named in angle brackets.
 */
body: string, purpose: string, };

export type CreateAppPlan = { plan: PlanInfo, sign_in_client_id: string, sign_in_client_name: string, sign_in_tenant: string, 
/**
 * The permissions the administrator's sign-in asks for (and nothing else).
 */
admin_scopes: Array<string>, grant_consent: boolean, 
/**
 * The secret's lifetime asked for (Web apps only).
 */
secret_months: number | null, requests: Array<PlannedRequest>, };

export type AdminSignIn = { attempt: string, url: string | null, code: DeviceCode | null, 
/**
 * Whether the system browser could be opened (set by the shell that tried).
 */
opened: boolean, };

export type CreateStep = "signed_in" | "application_created" | "service_principal_created" | "secret_created" | "consent_granted" | "consent_not_granted" | "saved" | "testing" | "waiting_for_microsoft" | "tested";

export type CreateProgress = { step: CreateStep, message: string, };

export type CreatedSecret = { hint: string, expires: string, requested_months: number, 
/**
 * The tenant's policy refused the lifetime asked for: this many days is the longest it took.
 */
capped_to_days: number | null, };

export type ConsentOutcome = { 
/**
 * Whether the plan's permissions need an administrator's consent before anyone can use them.
 */
needed: boolean, granted: boolean, 
/**
 * Delegated permissions granted for the whole organisation.
 */
delegated: Array<string>, 
/**
 * Application permissions (app roles) granted.
 */
application: Array<string>, message: string, admin_consent_url: string | null, error?: ErrorBody, };

export type CreatedApp = { registration: Registration, 
/**
 * The application's Object ID.
 */
object_id: string, 
/**
 * The Application (client) ID.
 */
client_id: string, service_principal_id: string, 
/**
 * The Directory (tenant) ID it was created in.
 */
tenant_id: string, 
/**
 * The administrator who signed in.
 */
admin: string, secret: CreatedSecret | null, consent: ConsentOutcome, test: ProbeReport, 
/**
 * Seconds the test waited for Microsoft to make the new app known.
 */
waited_seconds: number, portal_url: string, };

export type AzureCli = { installed: boolean, signed_in: boolean, 
/**
 * The signed-in account (`user.name`).
 */
account: string | null, tenant_id: string | null, message: string, };

export type AzScriptRun = { ok: boolean, exit_code: number | null, 
/**
 * Everything it printed (standard output and error in order), the secret replaced.
 */
output: string, client_id: string | null, tenant_id: string | null, 
/**
 * The registration saved from what the script printed.
 */
registration: Registration | null, message: string, };
