import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import App from './App.svelte';
import type { DoctorReport } from './lib/ipc/bindings';
import { answer, appInfo, keychainOk } from './lib/test/ipc';

const report: DoctorReport = {
  data_dir: '/home/ada/.local/share/mailconn',
  checks: [
    { id: 'data_dir', label: 'Data directory', status: 'ok', summary: 'writable' },
    {
      id: 'database',
      label: 'Database',
      status: 'warning',
      summary: 'The database is from a newer version.',
      fix: 'Update Mail Connections.',
    },
    keychainOk,
  ],
};

afterEach(cleanup);

describe('app shell', () => {
  it('opens on Connections, and "Set up a Microsoft app" leads to Apps', async () => {
    answer({ app_info: () => appInfo() });
    render(App);
    expect(screen.getByTestId('nav-connections').getAttribute('aria-current')).toBe('page');

    const setup = screen.getByTestId('setup-app');
    expect(setup.textContent).toContain('Set up a Microsoft app');
    await fireEvent.click(setup);

    expect(await screen.findByTestId('apps-empty')).toBeTruthy();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Microsoft apps');
    expect(screen.getByTestId('nav-apps').getAttribute('aria-current')).toBe('page');
    expect(screen.getByTestId('nav-connections').hasAttribute('aria-current')).toBe(false);
    expect(screen.queryByTestId('setup-app')).toBeNull();
  });

  it('shows the health checks on Settings and runs them again on request', async () => {
    const runDoctor = vi.fn(() => report);
    answer({ app_info: () => appInfo(), run_doctor: runDoctor });
    render(App);
    await fireEvent.click(screen.getByTestId('nav-settings'));

    const database = await screen.findByTestId('check-database');
    expect(database.dataset.status).toBe('warning');
    expect(database.textContent).toContain('Warning');
    expect(database.textContent).toContain('The database is from a newer version.');
    expect(database.textContent).toContain('Update Mail Connections.');
    expect(screen.getByTestId('check-keychain').textContent).toContain('OK');
    // The status bar's keychain check runs once the first screen is up: wait for its answer.
    expect(((await screen.findByTestId('settings-data-dir')) as HTMLInputElement).value).toBe(
      '/home/ada/.local/share/mailconn',
    );

    await fireEvent.click(screen.getByTestId('doctor-rerun'));
    expect(runDoctor).toHaveBeenCalledTimes(2);
  });
});
