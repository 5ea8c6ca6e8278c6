import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import { invoke } from '@tauri-apps/api/core';
import type { StorageStatus, StorageSwitch } from '../ipc/bindings';
import { answer } from '../test/ipc';
import TokenStorage from './TokenStorage.svelte';

const none = { refresh_tokens: 0, access_tokens: 0 };

function status(mode: 'keychain' | 'sealed', sealed = none, unfinished: StorageStatus['unfinished'] = null): StorageStatus {
  return { mode, unfinished, sealed, keychain: null };
}

async function settle() {
  for (let i = 0; i < 5; i++) await tick();
}

afterEach(() => {
  cleanup();
  vi.mocked(invoke).mockReset();
});

describe('where refresh tokens are kept', () => {
  it('explains both modes and shows the one in use', async () => {
    answer({ storage_mode: () => status('keychain') });
    render(TokenStorage);
    await settle();
    expect(screen.getByText(/One keychain item per token/, { selector: 'dt' })).toBeTruthy();
    expect(document.body.textContent).toContain('Chrome and VS Code');
    const now = screen.getByTestId('storage-mode');
    expect(now.dataset.mode).toBe('keychain');
    expect(screen.getByTestId('storage-switch').textContent).toContain('Sealed in the database');
  });

  it('switches only after confirmation and shows what moved', async () => {
    let mode: 'keychain' | 'sealed' = 'keychain';
    const calls: unknown[] = [];
    const moved: StorageSwitch = {
      from: 'keychain',
      to: 'sealed',
      moved: { refresh_tokens: 12, access_tokens: 3 },
      forgotten: 0,
    };
    answer({
      storage_mode: () => status(mode, mode === 'sealed' ? moved.moved : none),
      set_storage_mode: (args) => {
        calls.push(args);
        mode = 'sealed';
        return moved;
      },
    });
    render(TokenStorage);
    await settle();
    await fireEvent.click(screen.getByTestId('storage-switch'));
    expect(calls).toEqual([]);
    expect(screen.getByTestId('storage-confirm').textContent).toContain('Move every refresh and access token');
    await fireEvent.click(screen.getByTestId('storage-confirm-no'));
    expect(screen.queryByTestId('storage-confirm')).toBeNull();
    expect(calls).toEqual([]);

    await fireEvent.click(screen.getByTestId('storage-switch'));
    await fireEvent.click(screen.getByTestId('storage-confirm-yes'));
    await settle();
    expect(calls).toEqual([{ mode: 'sealed' }]);
    expect(screen.getByTestId('storage-result').textContent).toContain('moved 12 refresh tokens and 3 access tokens');
    expect(screen.getByTestId('storage-mode').dataset.mode).toBe('sealed');
    expect(screen.getByTestId('storage-mode').textContent).toContain('12 refresh tokens sealed');
    expect(screen.getByTestId('storage-switch').textContent).toContain('One keychain item per token');
  });

  it('shows an unfinished switch and a failure with its fix', async () => {
    answer({
      storage_mode: () => status('keychain', { refresh_tokens: 4, access_tokens: 0 }, 'sealed'),
      set_storage_mode: () => {
        throw {
          code: 'keychain_locked',
          message: 'The system keychain is locked or refused access, so secrets cannot be read or saved.',
          detail: { fix: 'Unlock your login keyring, then try again.' },
        };
      },
    });
    render(TokenStorage);
    await settle();
    expect(screen.getByTestId('storage-unfinished').textContent).toContain('was interrupted');
    await fireEvent.click(screen.getByTestId('storage-switch'));
    await fireEvent.click(screen.getByTestId('storage-confirm-yes'));
    await settle();
    expect(document.body.textContent).toContain('keychain is locked');
    expect(screen.queryByTestId('storage-result')).toBeNull();
  });
});
