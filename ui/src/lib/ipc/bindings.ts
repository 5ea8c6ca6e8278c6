// Generated from the Rust types by src-tauri/src/bindings.rs. Do not edit by hand.

export type ErrorCode = "validation" | "not_found" | "conflict" | "keychain_unavailable" | "keychain_locked" | "keychain" | "database" | "data_dir" | "network" | "identity_provider" | "needs_sign_in" | "needs_consent" | "cancelled" | "timeout" | "internal";

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
 * What the user should do about it, in words.
 */
fix?: string, };

export type ErrorBody = { code: ErrorCode, message: string, detail?: ErrorDetail, };

export type CheckStatus = "ok" | "warning" | "failed";

export type Check = { 
/**
 * Stable identifier: `data_dir`, `database`, `keychain`.
 */
id: string, label: string, status: CheckStatus, summary: string, fix?: string, code?: ErrorCode, };

export type DoctorReport = { data_dir: string, checks: Array<Check>, };

export type AppInfo = { version: string, data_dir: string, keychain: Check, };
