import { render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import App from './App.svelte';
import { FIRST_ROWS } from './lib/app/startup';
import { connection, registration } from './lib/connections/testdata';
import type { Dashboard } from './lib/ipc/bindings';
import { answer, appInfo, stubResizeObserver } from './lib/test/ipc';

describe('start-up', () => {
  it('loads the first screen in one call, marks it interactive, then checks the keychain', async () => {
    const calls: string[] = [];
    let interactiveAtKeychainCheck: string | undefined;
    let versionAtKeychainCheck: string | null | undefined;
    const first: Dashboard = {
      version: '9.9.9',
      data_dir: '/home/ada/.local/share/mailconn',
      registrations: [registration()],
      connections: [connection()],
      connections_total: 1,
      reminders: [],
      theme: 'dark',
    };
    const record =
      (name: string, reply: () => unknown = () => undefined) =>
      () => {
        calls.push(name);
        return reply();
      };
    let firstRows: unknown;
    answer({
      dashboard: (args) => {
        firstRows = args?.firstRows;
        return record('dashboard', () => first)();
      },
      app_info: record('app_info', () => {
        interactiveAtKeychainCheck = document.documentElement.dataset.interactive;
        versionAtKeychainCheck = document.querySelector('[data-testid="status-version"]')?.textContent;
        return appInfo();
      }),
      watch_connections: record('watch_connections'),
      watch_reminders: record('watch_reminders'),
      watch_bridge: record('watch_bridge'),
    });
    stubResizeObserver();
    expect(document.documentElement.dataset.interactive).toBeUndefined();
    render(App);

    await vi.waitFor(() => expect(document.documentElement.dataset.interactive).toBe(''));
    // The data is on screen when the marker is set.
    expect(screen.getAllByTestId('connection-row').map((r) => r.dataset.address)).toEqual([
      'ada@contoso.com',
    ]);
    expect(performance.getEntriesByName('interactive')).toHaveLength(1);
    // The saved appearance came with it, and is cached for the next start's first paint.
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(localStorage.getItem('mailconn.theme')).toBe('dark');

    await vi.waitFor(() => expect(calls).toContain('app_info'));
    expect(interactiveAtKeychainCheck).toBe('');
    expect(versionAtKeychainCheck, 'the status bar had the version from the one call').toBe('v9.9.9');
    const loads = calls.filter((c) => !c.startsWith('watch_'));
    expect(loads, 'one data call before the keychain check, no list calls').toEqual([
      'dashboard',
      'app_info',
    ]);
    expect(firstRows, 'the first answer holds at most the first screen').toBe(FIRST_ROWS);
  });
});
