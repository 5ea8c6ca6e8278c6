import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({
  invoke: vi.fn(),
  Channel: class {
    onmessage: (event: unknown) => void = () => {};
  },
}));

import ConnectionsPage from '../connections/ConnectionsPage.svelte';
import { connection, registration } from '../connections/testdata';
import { nav } from '../nav/nav.svelte';
import { answer } from '../test/ipc';
import ShortcutsDialog from './ShortcutsDialog.svelte';
import { keyLabel, SHORTCUTS, shortcutFor, shortcuts } from './shortcuts.svelte';

function key(init: KeyboardEventInit, target?: HTMLElement): KeyboardEvent {
  const event = new KeyboardEvent('keydown', { bubbles: true, cancelable: true, ...init });
  if (target) Object.defineProperty(event, 'target', { value: target });
  return event;
}

const onWindow = (e: KeyboardEvent) => shortcuts.handle(e);

beforeEach(() => {
  nav.go('connections');
  shortcuts.helpOpen = false;
  shortcuts.pending = null;
  window.addEventListener('keydown', onWindow);
});

afterEach(() => {
  window.removeEventListener('keydown', onWindow);
  cleanup();
});

describe('keyboard shortcuts', () => {
  it('map keys to actions: Ctrl on Linux and Windows, ⌘ on macOS', () => {
    expect(shortcutFor(key({ key: 'n', ctrlKey: true }), false)).toEqual({ kind: 'page-action', action: 'connect' });
    expect(shortcutFor(key({ key: 'n', metaKey: true }), true)).toEqual({ kind: 'page-action', action: 'connect' });
    expect(shortcutFor(key({ key: 'n', metaKey: true }), false), '⌘ is not Ctrl off a Mac').toBeNull();
    expect(shortcutFor(key({ key: 'n' }), false), 'N alone is text').toBeNull();
    expect(shortcutFor(key({ key: 'r', ctrlKey: true }), false)).toEqual({ kind: 'page-action', action: 'refresh-all' });
    expect(shortcutFor(key({ key: 'F5' }), false)).toEqual({ kind: 'page-action', action: 'refresh-all' });
    expect(shortcutFor(key({ key: 'r', ctrlKey: true, shiftKey: true }), false)).toBeNull();
    expect(shortcutFor(key({ key: '3', ctrlKey: true }), false)).toEqual({ kind: 'go', page: 'bridge' });
    expect(shortcutFor(key({ key: '?', shiftKey: true }), false)).toEqual({ kind: 'help' });
    expect(shortcutFor(key({ key: '/' }), false)).toEqual({ kind: 'page-action', action: 'search' });
    const field = document.createElement('input');
    expect(shortcutFor(key({ key: '/' }, field), false), '/ typed into a field is text').toBeNull();
    expect(shortcutFor(key({ key: 'f', ctrlKey: true }, field), false)).toEqual({ kind: 'page-action', action: 'search' });
    expect(keyLabel('Mod+N', false)).toBe('Ctrl+N');
    expect(keyLabel('Mod+N', true)).toBe('⌘N');
  });

  it('Ctrl+F focuses the search, Ctrl+N opens the connect dialog, Ctrl+R refreshes all', async () => {
    const refreshAll = vi.fn(() => []);
    answer({
      list_registrations: () => [registration()],
      list_connections: () => [connection()],
      watch_connections: () => undefined,
      refresh_all_connections: refreshAll,
    });
    render(ConnectionsPage);
    await screen.findAllByTestId('connection-row');

    const search = screen.getByTestId('connection-search');
    const find = key({ key: 'f', ctrlKey: true });
    window.dispatchEvent(find);
    expect(find.defaultPrevented, 'the web view does not open its own find bar').toBe(true);
    await vi.waitFor(() => expect(document.activeElement).toBe(search));

    const reload = key({ key: 'r', ctrlKey: true });
    window.dispatchEvent(reload);
    expect(reload.defaultPrevented, 'the page is not reloaded').toBe(true);
    await vi.waitFor(() => expect(refreshAll).toHaveBeenCalledTimes(1));
    await screen.findByTestId('refresh-all-result');

    window.dispatchEvent(key({ key: 'n', ctrlKey: true }));
    await screen.findByRole('dialog', { name: 'Connect a mailbox' });
    // With a dialog open, the keys do nothing behind it.
    window.dispatchEvent(key({ key: 'r', ctrlKey: true }));
    await new Promise((r) => setTimeout(r, 20));
    expect(refreshAll).toHaveBeenCalledTimes(1);
  });

  it('a shortcut from another page goes to Connections first', async () => {
    answer({
      list_registrations: () => [],
      list_connections: () => [],
      watch_connections: () => undefined,
    });
    nav.go('settings');
    window.dispatchEvent(key({ key: 'n', ctrlKey: true }));
    expect(nav.current).toBe('connections');
    render(ConnectionsPage);
    // No app yet: the way forward is setting one up.
    const setup = await screen.findByTestId('setup-app');
    await vi.waitFor(() => expect(document.activeElement).toBe(setup));
    expect(shortcuts.pending).toBeNull();
  });

  it('lists every shortcut in the app', async () => {
    render(ShortcutsDialog);
    window.dispatchEvent(key({ key: '?', shiftKey: true }));
    const dialog = await screen.findByRole('dialog', { name: 'Keyboard shortcuts' });
    const rows = screen.getAllByTestId('shortcut-row');
    expect(rows).toHaveLength(SHORTCUTS.length);
    expect(dialog.textContent).toContain('Ctrl+N');
    expect(dialog.textContent).toContain('Connect a mailbox');
    expect(dialog.textContent).toContain('Refresh all connections');
    expect(dialog.textContent).toContain('Search connections');
    await fireEvent.keyDown(window, { key: 'Escape' });
    await vi.waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  });
});
