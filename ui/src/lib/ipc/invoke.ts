// The only module that talks to Tauri's invoke(). Every command has a typed wrapper in
// commands.ts; errors arrive as { code, message, detail } and are rethrown as IpcError.
import { invoke } from '@tauri-apps/api/core';
import type { ErrorBody, ErrorCode, ErrorDetail } from './bindings';

export class IpcError extends Error {
  readonly code: ErrorCode;
  readonly detail: ErrorDetail | undefined;

  constructor(body: ErrorBody) {
    super(body.message);
    this.name = 'IpcError';
    this.code = body.code;
    this.detail = body.detail;
  }

  /** The form field this error belongs to, if any. */
  get field(): string | undefined {
    return this.detail?.field;
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorBody).code === 'string' &&
    typeof (value as ErrorBody).message === 'string'
  );
}

export function toIpcError(raw: unknown): IpcError {
  if (raw instanceof IpcError) return raw;
  if (isErrorBody(raw)) return new IpcError(raw);
  const message = raw instanceof Error ? raw.message : String(raw);
  return new IpcError({ code: 'internal', message });
}

export async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw toIpcError(raw);
  }
}
