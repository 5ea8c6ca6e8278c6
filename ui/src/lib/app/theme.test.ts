import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }));

import type { SettingInfo, Theme } from '../ipc/bindings';
import NavRail from '../nav/NavRail.svelte';
import { answer } from '../test/ipc';
import { effectiveTheme, ThemeState, theme } from './theme.svelte';

function themeSetting(value: Theme, source: SettingInfo['source'] = 'saved'): SettingInfo {
  return {
    key: 'theme',
    kind: 'theme',
    label: 'Theme',
    description: "Light or dark; System follows the desktop's setting.",
    value: { kind: 'theme', theme: value },
    text: value,
    source,
    default_text: 'system',
    saved_text: source === 'saved' ? value : null,
    env: null,
    env_text: null,
    range: null,
    accepts: 'system, light or dark',
    warning: null,
  };
}

/** A desktop whose dark preference the test flips. */
function fakeDesktop(dark: boolean) {
  const listeners: ((e: { matches: boolean }) => void)[] = [];
  const media = {
    matches: dark,
    addEventListener: (_: string, f: (e: { matches: boolean }) => void) => listeners.push(f),
  };
  vi.stubGlobal('matchMedia', () => media);
  return {
    set(next: boolean) {
      media.matches = next;
      for (const f of listeners) f({ matches: next });
    },
  };
}

beforeEach(() => {
  localStorage.clear();
  theme.adopt('system');
  theme.error = null;
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('appearance', () => {
  it('System follows the desktop, also when it changes', () => {
    const desktop = fakeDesktop(true);
    const state = new ThemeState();
    state.init();
    expect(document.documentElement.dataset.theme).toBe('dark');
    desktop.set(false);
    expect(document.documentElement.dataset.theme).toBe('light');
    state.adopt('dark');
    desktop.set(false);
    expect(document.documentElement.dataset.theme, 'a chosen theme ignores the desktop').toBe('dark');
    expect(effectiveTheme('light', true)).toBe('light');
  });

  it('starts in the last choice before core answers', () => {
    fakeDesktop(false);
    localStorage.setItem('mailconn.theme', 'dark');
    new ThemeState().init();
    expect(document.documentElement.dataset.theme).toBe('dark');
    localStorage.setItem('mailconn.theme', 'neon');
    const state = new ThemeState();
    state.init();
    expect(state.preference, 'an unknown cached value is ignored').toBe('system');
  });

  it('the nav rail switch applies at once and saves the setting', async () => {
    const saved: unknown[] = [];
    answer({
      set_setting: (args) => {
        saved.push(args);
        return themeSetting(args?.value as Theme);
      },
    });
    render(NavRail);
    const group = screen.getByRole('radiogroup', { name: 'Appearance' });
    expect(screen.getByRole('radio', { name: 'System' }).getAttribute('aria-checked')).toBe('true');
    await fireEvent.click(screen.getByRole('radio', { name: 'Dark' }));
    expect(document.documentElement.dataset.theme).toBe('dark');
    await vi.waitFor(() => expect(saved).toEqual([{ key: 'theme', value: 'dark' }]));
    expect(screen.getByRole('radio', { name: 'Dark' }).getAttribute('aria-checked')).toBe('true');
    expect(localStorage.getItem('mailconn.theme')).toBe('dark');

    // Arrow keys move the choice, as in any radio group.
    await fireEvent.keyDown(group, { key: 'ArrowRight' });
    await vi.waitFor(() => expect(theme.preference).toBe('system'));
    expect(theme.info?.source).toBe('saved');
  });

  it('a refused save puts the previous choice back and says why', async () => {
    answer({
      set_setting: () => {
        throw { code: 'database', message: 'The database is read-only.', detail: { fix: 'Check the data folder.' } };
      },
    });
    render(NavRail);
    await fireEvent.click(screen.getByRole('radio', { name: 'Light' }));
    await screen.findByText('The database is read-only.');
    expect(theme.preference).toBe('system');
    expect(screen.getByRole('radio', { name: 'System' }).getAttribute('aria-checked')).toBe('true');
  });
});
