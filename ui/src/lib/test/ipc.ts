// Test helpers: answer Tauri's invoke() from a table, the way the Rust commands would.
// Each test file must still call vi.mock('@tauri-apps/api/core', ...) itself (vi.mock is hoisted
// per file).
import { invoke } from '@tauri-apps/api/core';
import { vi } from 'vitest';
import type { AppInfo, Check, ErrorBody } from '../ipc/bindings';

type Handler = (args?: Record<string, unknown>) => unknown;

/** Answers each command with its handler; a handler that throws rejects the call like Tauri does. */
export function answer(handlers: Record<string, Handler>): void {
  vi.mocked(invoke).mockImplementation((async (command: string, args?: Record<string, unknown>) => {
    const handler = handlers[command];
    if (!handler) throw { code: 'internal', message: `no test handler for ${command}` } satisfies ErrorBody;
    return handler(args);
  }) as typeof invoke);
}

export const keychainOk: Check = {
  id: 'keychain',
  label: 'Keychain',
  status: 'ok',
  summary: 'secrets can be stored and read',
};

export function appInfo(keychain: Check = keychainOk): AppInfo {
  return { version: '0.1.0', data_dir: '/home/ada/.local/share/mailconn', keychain };
}

/** The calls the window's shell makes besides the first screen's (keychain check, live updates). */
export function shellAnswers(): Record<string, Handler> {
  return {
    app_info: () => appInfo(),
    watch_connections: () => undefined,
    watch_reminders: () => undefined,
    watch_bridge: () => undefined,
  };
}

/** jsdom has no ResizeObserver; the windowed list only needs to be told nothing. */
export function stubResizeObserver(): void {
  vi.stubGlobal(
    'ResizeObserver',
    class {
      observe() {}
      disconnect() {}
    },
  );
}
