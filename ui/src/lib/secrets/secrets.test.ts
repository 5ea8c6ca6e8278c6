import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({
  invoke: vi.fn(),
  // The scheduler's updates arrive through a Channel; tests push into it by hand.
  Channel: class {
    onmessage: (event: unknown) => void = () => {};
  },
}));

import type {
  AppSecrets,
  ErrorBody,
  Registration,
  Reminder,
  RotationReport,
} from '../ipc/bindings';
import { registration } from '../connections/testdata';
import { answer } from '../test/ipc';
import ReminderBanner from './ReminderBanner.svelte';
import { reminderBadge, reminders, reminderText } from './reminders.svelte';
import RotateWizard from './RotateWizard.svelte';
import SecretsPanel from './SecretsPanel.svelte';
import { rotation } from './rotation.svelte';

type Handler = (args?: Record<string, unknown>) => unknown;

const web: Registration = registration({
  id: 'reg-web',
  name: 'Contoso web',
  kind: 'confidential',
  has_secret: true,
  secret_hint: 'Wq1',
  secret_expires: '2026-02-01',
  connections: 2,
});

function reminder(overrides: Partial<Reminder> = {}): Reminder {
  return {
    registration_id: 'reg-web',
    registration_name: 'Contoso web',
    client_id: web.client_id,
    kind: 'expiring',
    secret_hint: 'Wq1',
    secret_label: null,
    expires: '2026-02-01',
    days_left: 14,
    threshold: 14,
    connections: 2,
    connections_broken: 0,
    ...overrides,
  };
}

const known: AppSecrets = {
  registration_id: 'reg-web',
  registration_name: 'Contoso web',
  secret_hint: 'Wq1',
  secret_label: null,
  secret_expires: '2026-02-01',
  graph_read: true,
  graph_error: null,
  credentials: [
    { key_id: 'k1', display_name: 'current', hint: 'Wq1', start: null, end: '2026-02-01T00:00:00Z', stored: true },
    { key_id: 'k2', display_name: 'new', hint: 'Rt2', start: null, end: '2026-08-01T00:00:00Z', stored: false },
  ],
  expires_updated: false,
};

const report: RotationReport = {
  registration: { ...web, secret_hint: 'Rt2', secret_expires: '2026-08-01' },
  verified_by: 'client_credentials',
  connections: [
    { connection_id: 'c1', address: 'alice@contoso.test', ok: true, state: 'active', message: 'Refreshed with the new secret.', error: null },
    { connection_id: 'c2', address: 'bob@contoso.test', ok: true, state: 'active', message: 'Refreshed with the new secret.', error: null },
  ],
  old_hint: 'Wq1',
  old_credential: known.credentials[0] ?? null,
  old_removed: false,
  graph_error: null,
  ok: true,
};

function serve(overrides: Record<string, Handler> = {}) {
  const handlers = {
    list_reminders: vi.fn<Handler>(() => [reminder()]),
    watch_reminders: vi.fn<Handler>(),
    list_registrations: vi.fn<Handler>(() => [web]),
    secret_portal_url: vi.fn<Handler>(() => 'https://portal.azure.com/#view/x/Credentials/appId/y'),
    app_secrets: vi.fn<Handler>(() => known),
    rotate_secret: vi.fn<Handler>(() => report),
    open_url: vi.fn<Handler>(),
    rotate_secret_via_graph: vi.fn<Handler>(() => report),
    set_secret_expiry: vi.fn<Handler>((args) => ({ ...web, secret_expires: args?.expires as string })),
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (k in handlers) handlers[k as keyof typeof handlers].mockImplementation(v);
  }
  answer(handlers);
  return handlers;
}

beforeEach(() => {
  rotation.close();
  reminders.list = [];
});
afterEach(cleanup);

describe('reminder texts', () => {
  it('names the threshold, the hint and the connections at stake', () => {
    expect(reminderBadge(reminder())).toBe('Secret expires in 14 days');
    expect(reminderBadge(reminder({ days_left: 1 }))).toBe('Secret expires tomorrow');
    expect(reminderBadge(reminder({ kind: 'expired', days_left: -2 }))).toBe('Secret expired');
    expect(reminderBadge(reminder({ kind: 'rejected' }))).toBe('Secret refused');
    expect(reminderText(reminder())).toBe(
      'The client secret (starts “Wq1”) of “Contoso web” expires in 14 days (2026-02-01); 2 connections depend on it.',
    );
    expect(reminderText(reminder({ kind: 'rejected', connections_broken: 2 }))).toContain(
      'Microsoft refuses the client secret',
    );
  });
});

describe('reminder banner', () => {
  it('shows what is due, follows the scheduler’s updates and opens the rotation wizard', async () => {
    const handlers = serve();
    render(ReminderBanner);
    render(RotateWizard);
    const item = await screen.findByTestId('reminder');
    expect(item.dataset.days).toBe('14');
    expect(item.textContent).toContain('expires in 14 days');
    expect(handlers.watch_reminders).toHaveBeenCalled();

    // The scheduler reports the next threshold.
    reminders.list = [reminder({ days_left: 7, threshold: 7 })];
    await waitFor(() => expect(screen.getByTestId('reminder').dataset.days).toBe('7'));

    await fireEvent.click(screen.getByTestId('reminder-rotate'));
    const dialog = await screen.findByTestId('rotate');
    expect(within(dialog).getByTestId('rotate-step').dataset.step).toBe('explain');
  });

  it('shows nothing when no secret needs attention', async () => {
    serve({ list_reminders: () => [] });
    render(ReminderBanner);
    await Promise.resolve();
    expect(screen.queryByTestId('reminder-banner')).toBeNull();
  });
});

describe('rotation wizard', () => {
  it('explains, links to the portal and lists the app’s secrets from Graph', async () => {
    const handlers = serve();
    rotation.start(web);
    render(RotateWizard);
    const rows = await screen.findAllByTestId('secret-row');
    expect(rows.map((r) => [r.dataset.hint, r.dataset.stored])).toEqual([
      ['Wq1', 'true'],
      ['Rt2', 'false'],
    ]);
    await fireEvent.click(await screen.findByTestId('rotate-portal'));
    expect(handlers.open_url).toHaveBeenCalledWith({
      url: 'https://portal.azure.com/#view/x/Credentials/appId/y',
    });
  });

  it('says why Graph cannot list the secrets and keeps the manual date', async () => {
    const refused: ErrorBody = {
      code: 'needs_consent',
      message: 'Graph refused: the app has no Application.Read.All permission (Authorization_RequestDenied).',
    };
    const handlers = serve({ app_secrets: () => ({ ...known, graph_read: false, graph_error: refused, credentials: [] }) });
    rotation.start(web);
    render(RotateWizard);
    const note = await screen.findByTestId('secret-list-refused');
    expect(note.textContent).toContain('Application.Read.All');
    expect(note.textContent).toContain('The end date you entered is used.');

    // The date can be corrected by hand instead.
    await fireEvent.input(screen.getByTestId('rotate-correct-date-input'), { target: { value: '2026-03-01' } });
    await fireEvent.submit(screen.getByTestId('rotate-correct-date'));
    await waitFor(() => expect(handlers.set_secret_expiry).toHaveBeenCalledWith({ id: 'reg-web', expires: '2026-03-01' }));
    await waitFor(() => expect(screen.getByTestId('rotate-current').textContent).toContain('ends on 2026-03-01'));
  });

  it('a failed verification keeps the wizard on the paste step with the error, nothing replaced', async () => {
    const refused: ErrorBody = {
      code: 'identity_provider',
      message: 'The new secret did not work, so nothing was changed: The client secret is not valid (AADSTS7000215).',
      detail: { field: 'secret', aadsts: 7000215, trace_id: 't-1' },
    };
    const handlers = serve({
      rotate_secret: () => {
        throw refused;
      },
    });
    rotation.start(web);
    render(RotateWizard);
    await fireEvent.click(await screen.findByTestId('rotate-next'));
    await fireEvent.input(screen.getByTestId('rotate-secret'), { target: { value: 'wrong~value' } });
    await fireEvent.click(screen.getByTestId('rotate-expiry-12'));
    await fireEvent.click(screen.getByTestId('rotate-verify'));
    const error = await screen.findByTestId('rotate-error');
    expect(error.textContent).toContain('nothing was changed');
    expect(error.textContent).toContain('AADSTS7000215');
    expect(screen.getByTestId('rotate-step').dataset.step).toBe('paste');
    const sent = handlers.rotate_secret.mock.calls[0]?.[0] as { id: string; input: { secret: string; expires: string } };
    expect(sent.id).toBe('reg-web');
    expect(sent.input.secret).toBe('wrong~value');
    expect(sent.input.expires).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('a successful rotation shows every connection and the old secret to delete, then whether it is gone', async () => {
    let listed = known;
    const handlers = serve({ app_secrets: () => listed });
    rotation.start(web);
    render(RotateWizard);
    await fireEvent.click(await screen.findByTestId('rotate-next'));
    await fireEvent.input(screen.getByTestId('rotate-secret'), { target: { value: 'Rt28Q~new' } });
    await fireEvent.click(screen.getByTestId('rotate-verify'));
    const done = await screen.findByTestId('rotate-done');
    expect(done.dataset.ok).toBe('true');
    expect(
      screen.getAllByTestId('rotate-connection').map((c) => [c.textContent?.includes('alice'), c.dataset.state]),
    ).toEqual([
      [true, 'active'],
      [false, 'active'],
    ]);
    expect(within(screen.getByTestId('rotate-old')).getByText('Wq1')).toBeTruthy();
    expect(rotation.secret).toBe('');

    // The admin deletes the old one in the portal; "Check again" asks Graph.
    listed = {
      ...known,
      secret_hint: 'Rt2',
      credentials: [{ ...(known.credentials[1] as AppSecrets['credentials'][number]), stored: true }],
    };
    await fireEvent.click(await screen.findByTestId('rotate-check-old'));
    expect(await screen.findByTestId('rotate-old-gone')).toBeTruthy();
    expect(handlers.app_secrets.mock.calls.length).toBeGreaterThanOrEqual(3);
  });

  it('rotates through Graph in one step and says the old secret was removed', async () => {
    const handlers = serve({
      rotate_secret_via_graph: () => ({ ...report, old_removed: true }),
    });
    rotation.start(web);
    render(RotateWizard);
    await fireEvent.click(await screen.findByTestId('rotate-graph'));
    expect((await screen.findByTestId('rotate-old-removed')).textContent).toContain('Wq1');
    expect(handlers.rotate_secret_via_graph).toHaveBeenCalledWith({
      id: 'reg-web',
      expires: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    expect(handlers.rotate_secret).not.toHaveBeenCalled();
  });

  it('looks again whether the old secret is gone when the window regains focus', async () => {
    // After the swap Graph marks the new secret as the stored one; the old one is still listed.
    const after: AppSecrets = {
      ...known,
      credentials: known.credentials.map((c) => ({ ...c, stored: c.hint === 'Rt2' })),
    };
    const handlers = serve({ app_secrets: () => after });
    rotation.start(web);
    render(RotateWizard);
    await fireEvent.click(await screen.findByTestId('rotate-next'));
    await fireEvent.input(screen.getByTestId('rotate-secret'), { target: { value: 'Rt28Q~new' } });
    await fireEvent.click(screen.getByTestId('rotate-verify'));
    await screen.findByTestId('rotate-done');
    expect(await screen.findByTestId('rotate-old-listed')).toBeTruthy();
    const before = handlers.app_secrets.mock.calls.length;
    window.dispatchEvent(new Event('focus'));
    await waitFor(() => expect(handlers.app_secrets.mock.calls.length).toBe(before + 1));
  });
});

describe('secrets panel', () => {
  it('lists the app’s secrets and says when the end date came from Entra', async () => {
    serve({ app_secrets: () => ({ ...known, expires_updated: true }) });
    render(SecretsPanel, { registrationId: 'reg-web' });
    expect(await screen.findAllByTestId('secret-row')).toHaveLength(2);
    expect((await screen.findByTestId('secrets-date-updated')).textContent).toContain('2026-02-01');
  });
});
