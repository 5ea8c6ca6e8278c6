import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }));

import { invoke } from '@tauri-apps/api/core';
import type { ImportOffer, ImportPreview, SettingInfo, SharedRegistration } from '../ipc/bindings';
import { answer } from '../test/ipc';
import ImportLinkDialog from './ImportLinkDialog.svelte';
import { importLinks } from './import.svelte';
import SettingsCards from './SettingsCards.svelte';
import ShareRegistrations from './ShareRegistrations.svelte';

async function settle() {
  for (let i = 0; i < 8; i++) await tick();
}

afterEach(() => {
  cleanup();
  vi.mocked(invoke).mockReset();
});

function setting(over: Partial<SettingInfo> & Pick<SettingInfo, 'key'>): SettingInfo {
  return {
    kind: 'switch',
    label: over.key,
    description: `What ${over.key} does.`,
    value: { kind: 'switch', on: true },
    text: 'on',
    source: 'default',
    default_text: 'on',
    saved_text: null,
    env: null,
    env_text: null,
    range: null,
    accepts: 'on or off',
    warning: null,
    ...over,
  };
}

function list(): SettingInfo[] {
  return [
    setting({
      key: 'refresh-margin',
      kind: 'duration',
      label: 'Refresh margin',
      value: { kind: 'duration', seconds: 300 },
      text: '5m',
      default_text: '5m',
      env: 'MAILCONN_REFRESH_MARGIN_SECS',
      range: [60, 1800],
    }),
    setting({
      key: 'keep-alive',
      kind: 'duration',
      label: 'Keep-alive interval',
      value: { kind: 'duration', seconds: 3 * 86400 },
      text: '3d',
      default_text: '7d',
      source: 'saved',
      saved_text: '3d',
      env: 'MAILCONN_KEEP_ALIVE_SECS',
      range: [86400, 60 * 86400],
    }),
    setting({
      key: 'reminder-days',
      kind: 'days',
      label: 'Client secret reminders',
      value: { kind: 'days', days: [60, 30] },
      text: '60,30',
      default_text: '30,14,7,1',
      source: 'environment',
      saved_text: '14,7',
      env: 'MAILCONN_REMINDER_DAYS',
      env_text: '60,30',
    }),
    setting({ key: 'notify-connections', label: 'Notify about connections' }),
    setting({ key: 'notify-secrets', label: 'Notify about client secrets' }),
    setting({ key: 'notify-bridge', label: 'Notify about the mail bridge' }),
    setting({
      key: 'log-level',
      kind: 'level',
      label: 'Log level',
      value: { kind: 'level', filter: 'info' },
      text: 'info',
      default_text: 'info',
      env: 'MAILCONN_LOG',
    }),
  ];
}

describe('the settings form', () => {
  it('shows each value in its unit, where it comes from, and locks what the environment sets', async () => {
    answer({ list_settings: list });
    render(SettingsCards);
    await settle();
    const margin = screen.getByTestId('setting-refresh-margin-input') as HTMLInputElement;
    expect(margin.value).toBe('5');
    expect(screen.getByTestId('setting-refresh-margin').textContent).toContain('From 1 to 30 minutes; default 5m.');
    const keep = screen.getByTestId('setting-keep-alive-input') as HTMLInputElement;
    expect(keep.value).toBe('3');
    expect(screen.getByTestId('setting-keep-alive').textContent).toContain('days');
    expect(screen.getByTestId('setting-keep-alive-reset').textContent).toContain('Reset to 7d');
    expect(screen.queryByTestId('setting-refresh-margin-reset')).toBeNull();

    const reminders = screen.getByTestId('setting-reminder-days-input') as HTMLInputElement;
    expect(reminders.disabled).toBe(true);
    expect(reminders.value).toBe('60,30');
    const env = screen.getByTestId('setting-reminder-days-env').textContent ?? '';
    expect(env).toContain('Set by MAILCONN_REMINDER_DAYS');
    expect(env).toContain('MAILCONN_REMINDER_DAYS=60,30 overrides this setting');
    expect(env).toContain('(saved: 14,7)');
    expect(screen.getByTestId('setting-reminder-days').dataset.source).toBe('environment');
  });

  it('saves a change in the unit shown and applies core’s answer', async () => {
    const calls: unknown[] = [];
    answer({
      list_settings: list,
      set_setting: (args) => {
        calls.push(args);
        return setting({
          key: 'refresh-margin',
          kind: 'duration',
          value: { kind: 'duration', seconds: 600 },
          text: '10m',
          source: 'saved',
          range: [60, 1800],
        });
      },
    });
    render(SettingsCards);
    await settle();
    const margin = screen.getByTestId('setting-refresh-margin-input') as HTMLInputElement;
    await fireEvent.change(margin, { target: { value: '10' } });
    await settle();
    expect(calls).toEqual([{ key: 'refresh-margin', value: '10m' }]);
    expect((screen.getByTestId('setting-refresh-margin-input') as HTMLInputElement).value).toBe('10');
    expect(screen.getByTestId('setting-refresh-margin-saved').textContent).toBe('Saved');
    expect(screen.getByTestId('setting-refresh-margin-reset')).toBeTruthy();
  });

  it('shows core’s message and fix for an out-of-range value next to the field', async () => {
    answer({
      list_settings: list,
      set_setting: () => {
        throw {
          code: 'validation',
          message: 'Refresh margin of 45 minutes is too long: the longest is 30 minutes.',
          detail: {
            field: 'refresh-margin',
            fix: 'Refresh margin accepts from 1 minute to 30 minutes (e.g. 5m; units s, m, h, d).',
          },
        };
      },
    });
    render(SettingsCards);
    await settle();
    const margin = screen.getByTestId('setting-refresh-margin-input') as HTMLInputElement;
    await fireEvent.change(margin, { target: { value: '45' } });
    await settle();
    const error = screen.getByTestId('setting-refresh-margin-error');
    expect(error.textContent).toContain('Refresh margin of 45 minutes is too long: the longest is 30 minutes.');
    expect(error.textContent).toContain('accepts from 1 minute to 30 minutes');
    expect(margin.getAttribute('aria-invalid')).toBe('true');
    expect(margin.getAttribute('aria-describedby')).toContain(error.id);
    expect(screen.queryByTestId('setting-refresh-margin-saved')).toBeNull();
  });

  it('turns a notification kind off, and resets a saved value', async () => {
    const calls: [string, unknown][] = [];
    answer({
      list_settings: list,
      set_setting: (args) => {
        calls.push(['set', args]);
        return setting({ key: 'notify-secrets', value: { kind: 'switch', on: false }, text: 'off', source: 'saved' });
      },
      reset_setting: (args) => {
        calls.push(['reset', args]);
        return setting({
          key: 'keep-alive',
          kind: 'duration',
          value: { kind: 'duration', seconds: 7 * 86400 },
          text: '7d',
          default_text: '7d',
          range: [86400, 60 * 86400],
        });
      },
    });
    render(SettingsCards);
    await settle();
    const toggle = screen.getByTestId('setting-notify-secrets-input') as HTMLInputElement;
    expect(toggle.checked).toBe(true);
    await fireEvent.click(toggle);
    await settle();
    expect(calls[0]).toEqual(['set', { key: 'notify-secrets', value: 'off' }]);
    expect((screen.getByTestId('setting-notify-secrets-input') as HTMLInputElement).checked).toBe(false);

    await fireEvent.click(screen.getByTestId('setting-keep-alive-reset'));
    await settle();
    expect(calls[1]).toEqual(['reset', { key: 'keep-alive' }]);
    expect((screen.getByTestId('setting-keep-alive-input') as HTMLInputElement).value).toBe('7');
    expect(screen.queryByTestId('setting-keep-alive-reset')).toBeNull();
  });

  it('opens only the app’s own folders, by name', async () => {
    const calls: unknown[] = [];
    answer({ list_settings: list, open_folder: (args) => void calls.push(args) });
    render(SettingsCards);
    await settle();
    await fireEvent.click(screen.getByTestId('open-data-folder'));
    await fireEvent.click(screen.getByTestId('open-logs-folder'));
    expect(calls).toEqual([{ folder: 'data' }, { folder: 'logs' }]);
  });
});

const shared: SharedRegistration = {
  name: 'Team desktop',
  client_id: '0d3b2f3a-1c2b-4c5d-9e8f-123456789abc',
  kind: 'public',
  tenant: 'common',
  cloud: 'global',
  usage: 'delegated',
  audience: 'any_organization',
  preset: 'read',
  redirect_uri: 'http://localhost',
};

const preview: ImportPreview = {
  from: 'file',
  entries: [
    { registration: shared, status: 'new', errors: [], warnings: [], needs_secret: false },
    {
      registration: { ...shared, name: 'Team web', kind: 'confidential' },
      status: 'already_here',
      errors: [],
      warnings: [],
      needs_secret: true,
    },
  ],
};

describe('sharing app registrations', () => {
  it('shows what an import would add and saves only after confirmation', async () => {
    const calls: [string, unknown][] = [];
    answer({
      list_registrations: () => [],
      preview_import: (args) => {
        calls.push(['preview', args]);
        return preview;
      },
      import_registrations: (args) => {
        calls.push(['import', args]);
        return { added: [{ name: 'Team desktop' }], skipped: [preview.entries[1]] };
      },
    });
    render(ShareRegistrations);
    await settle();
    const text = screen.getByTestId('import-text') as HTMLTextAreaElement;
    await fireEvent.input(text, { target: { value: '{"format": "mailconn-registrations"}' } });
    await fireEvent.click(screen.getByTestId('import-check-text'));
    await settle();
    expect(calls).toEqual([['preview', { source: { from: 'text', text: '{"format": "mailconn-registrations"}' } }]]);
    const entries = screen.getAllByTestId('import-entry');
    expect(entries.map((e) => e.dataset.status)).toEqual(['new', 'already_here']);
    expect(entries[0]?.textContent).toContain('0d3b2f3a-1c2b-4c5d-9e8f-123456789abc');
    expect(entries[1]?.textContent).toContain('Already here: skipped');
    expect(screen.getByTestId('import-confirm').textContent).toContain('Add 1 app');

    await fireEvent.click(screen.getByTestId('import-confirm'));
    await settle();
    expect(calls[1]).toEqual(['import', { source: { from: 'text', text: '{"format": "mailconn-registrations"}' } }]);
    expect(screen.getByTestId('import-done').textContent).toContain('Added “Team desktop”.');
    expect(screen.getByTestId('import-done').textContent).toContain('Skipped 1.');
  });

  it('shows the export, saves it to the path typed, and makes an app’s import link', async () => {
    const calls: [string, unknown][] = [];
    const link = 'mailconn://import?v=1&name=Team+desktop';
    answer({
      list_registrations: () => [{ id: 'r1', name: 'Team desktop' }],
      export_registrations: () => '{\n  "format": "mailconn-registrations"\n}\n',
      save_registrations_export: (args) => {
        calls.push(['save', args]);
        return { path: '/tmp/apps.json', count: 1 };
      },
      registration_import_link: (args) => {
        calls.push(['link', args]);
        return link;
      },
    });
    render(ShareRegistrations);
    await settle();
    await fireEvent.click(screen.getByTestId('export-show'));
    await settle();
    expect(screen.getByTestId('export-json').textContent).toContain('"format": "mailconn-registrations"');
    await fireEvent.input(screen.getByTestId('export-path'), { target: { value: '/tmp/apps.json' } });
    await fireEvent.click(screen.getByTestId('export-replace'));
    await fireEvent.click(screen.getByTestId('export-save'));
    await settle();
    expect(calls[0]).toEqual(['save', { path: '/tmp/apps.json', replace: true }]);
    expect(screen.getByTestId('export-saved').textContent).toContain('Saved 1 app to /tmp/apps.json.');
    await fireEvent.click(screen.getByTestId('copy-import-link'));
    await settle();
    expect(calls[1]).toEqual(['link', { id: 'r1' }]);
    expect((screen.getByTestId('import-link-value') as HTMLInputElement).value).toBe(link);
  });

  it('shows why a file cannot be imported', async () => {
    answer({
      list_registrations: () => [],
      preview_import: () => {
        throw {
          code: 'validation',
          message: 'This file cannot be imported: registration 1: it carries a "client_secret", and a client secret is never shared this way. Nothing was saved.',
          detail: { fix: 'Ask for the registration without its secret.' },
        };
      },
    });
    render(ShareRegistrations);
    await settle();
    const path = screen.getByTestId('import-path') as HTMLInputElement;
    await fireEvent.input(path, { target: { value: '/tmp/apps.json' } });
    await fireEvent.click(screen.getByTestId('import-check-file'));
    await settle();
    expect(screen.getByTestId('error-notice').textContent).toContain('a client secret is never shared this way');
    expect(screen.queryByTestId('import-confirm')).toBeNull();
  });
});

describe('an import link from the desktop', () => {
  const link = 'mailconn://import?v=1&name=Team+desktop&client_id=0d3b2f3a-1c2b-4c5d-9e8f-123456789abc';

  it('is shown in full and saved only on yes', async () => {
    const calls: unknown[] = [];
    answer({
      import_registrations: (args) => {
        calls.push(args);
        return { added: [{ name: 'Team desktop' }], skipped: [] };
      },
      list_registrations: () => [],
    });
    render(ImportLinkDialog);
    const offer: ImportOffer = { link, preview: { from: 'link', entries: [preview.entries[0]!] }, error: null };
    importLinks.offer = offer;
    await settle();
    expect(screen.getByTestId('import-link-text').textContent).toBe(link);
    expect(screen.getByTestId('import-entry').textContent).toContain('Team desktop');
    expect(calls).toEqual([]);
    await fireEvent.click(screen.getByTestId('import-link-confirm'));
    await settle();
    expect(calls).toEqual([{ source: { from: 'text', text: link } }]);
    expect(screen.getByTestId('import-link-done').textContent).toContain('Added “Team desktop”');
    await fireEvent.click(screen.getByTestId('import-link-close'));
    await settle();
    expect(screen.queryByTestId('import-link-dialog')).toBeNull();
  });

  it('shows a refused link with its reason and nothing to confirm', async () => {
    const dismissed: unknown[] = [];
    answer({ dismiss_import_link: () => void dismissed.push(true) });
    render(ImportLinkDialog);
    importLinks.offer = {
      link: 'mailconn://import?v=1&client_secret=x',
      preview: null,
      error: {
        code: 'validation',
        message: 'This import link was refused: it carries a "client_secret", and a client secret is never shared this way. Nothing was saved.',
      },
    };
    await settle();
    expect(screen.getByTestId('import-link-text').textContent).toBe('mailconn://import?v=1&client_secret=x');
    expect(screen.getByTestId('error-notice').textContent).toContain('This import link was refused');
    expect(screen.queryByTestId('import-link-confirm')).toBeNull();
    await fireEvent.click(screen.getByTestId('import-link-dismiss'));
    await settle();
    expect(dismissed).toEqual([true]);
    expect(screen.queryByTestId('import-link-dialog')).toBeNull();
  });
});
