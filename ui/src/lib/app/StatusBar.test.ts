import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import type { Check } from '../ipc/bindings';
import { nav } from '../nav/nav.svelte';
import { answer, appInfo } from '../test/ipc';
import { appState } from './app-state.svelte';
import StatusBar from './StatusBar.svelte';

const locked: Check = {
  id: 'keychain',
  label: 'Keychain',
  status: 'failed',
  summary: 'The keychain is locked.',
  fix: 'Unlock the login keyring, then check again.',
  code: 'keychain_locked',
};

async function showStatusBar(keychain?: Check) {
  answer({ app_info: () => appInfo(keychain) });
  render(StatusBar);
  await appState.load();
  await tick();
  return screen.getByTestId('status-keychain');
}

beforeEach(() => nav.go('connections'));
afterEach(cleanup);

describe('status bar', () => {
  it('says the keychain is being checked until app info arrives', async () => {
    let resolve!: (value: unknown) => void;
    answer({ app_info: () => new Promise((r) => (resolve = r)) });
    render(StatusBar);
    const loading = appState.load();
    await tick();
    const keychain = screen.getByTestId('status-keychain');
    expect(keychain.textContent).toContain('Keychain: checking…');
    expect(keychain.hasAttribute('data-status')).toBe(false);

    resolve(appInfo());
    await loading;
    await tick();
    expect(keychain.textContent).toContain('Keychain: ready');
  });

  it('shows a ready keychain, the data directory and the version', async () => {
    const keychain = await showStatusBar();
    expect(keychain.textContent).toContain('Keychain: ready');
    expect(keychain.dataset.status).toBe('ok');
    expect(screen.getByTestId('status-data-dir').textContent).toBe('/home/ada/.local/share/mailconn');
    expect(screen.getByTestId('status-version').textContent).toContain('0.1.0');
  });

  it('shows a locked keychain and its fix on click', async () => {
    const keychain = await showStatusBar(locked);
    expect(keychain.textContent).toContain('Keychain: locked');
    expect(keychain.dataset.status).toBe('failed');
    expect(screen.queryByTestId('keychain-details')).toBeNull();

    await fireEvent.click(keychain);
    const details = screen.getByTestId('keychain-details').textContent ?? '';
    expect(details).toContain('The keychain is locked.');
    expect(details).toContain('Unlock the login keyring, then check again.');

    await fireEvent.click(screen.getByTestId('keychain-open-settings'));
    expect(nav.current).toBe('settings');
    expect(screen.queryByTestId('keychain-details')).toBeNull();
  });

  it.each([
    ['keychain_unavailable', 'Keychain: not available'],
    ['keychain', 'Keychain: error'],
    [undefined, 'Keychain: error'],
  ] as const)('names a keychain failure with code %s', async (code, text) => {
    const keychain = await showStatusBar({ ...locked, code });
    expect(keychain.textContent).toContain(text);
  });

  it('drops the previous answer when a reload fails, and explains the failure on click', async () => {
    const keychain = await showStatusBar();
    answer({
      app_info: () => {
        throw { code: 'data_dir', message: 'The data directory is not writable.' };
      },
    });
    await appState.load();
    await tick();
    expect(keychain.textContent).toContain('Keychain: unknown');
    expect(keychain.hasAttribute('data-status')).toBe(false);
    await fireEvent.click(keychain);
    expect(screen.getByTestId('error-notice').textContent).toContain(
      'The data directory is not writable.',
    );
  });
});
