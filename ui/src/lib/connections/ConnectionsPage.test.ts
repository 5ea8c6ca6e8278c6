import { cleanup, fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({
  invoke: vi.fn(),
  // The engine's live updates arrive through a Channel; tests push into it by hand.
  Channel: class {
    onmessage: (event: unknown) => void = () => {};
  },
}));

import type { Connection, Event, RefreshReport } from '../ipc/bindings';
import { nav } from '../nav/nav.svelte';
import { answer } from '../test/ipc';
import ConnectionsPage from './ConnectionsPage.svelte';
import { connection, deferred, registration } from './testdata';

const ada = connection();
const grace = connection({
  id: 'conn-grace',
  address: 'grace@outlook.com',
  display_name: null,
  account_type: 'personal',
  state: 'needs_sign_in',
  state_reason: 'no refresh token',
  scopes_requested: ['openid', 'offline_access', 'User.Read', 'Mail.Read', 'Mail.Send'],
  scopes_granted: ['openid', 'User.Read', 'Mail.Read'],
  scopes_missing: ['offline_access', 'Mail.Send'],
  has_refresh_token: false,
});

const history: Event[] = [
  {
    at: '2025-03-02T10:05:00Z',
    kind: 'refresh_failed',
    summary: 'The refresh token has expired',
    aadsts: 700082,
    trace_id: 'trace-1',
    correlation_id: 'corr-1',
  },
  {
    at: '2025-03-02T10:00:00Z',
    kind: 'connected',
    summary: 'Signed in as grace@outlook.com',
    aadsts: null,
    trace_id: null,
    correlation_id: null,
  },
];

function serve<E extends Record<string, (args?: Record<string, unknown>) => unknown>>(
  connections: Connection[],
  extra: E = {} as E,
) {
  let current = connections;
  const handlers = {
    list_registrations: vi.fn(() => [registration()]),
    list_connections: vi.fn(() => current),
    connection_history: vi.fn(() => history),
    watch_connections: vi.fn(),
    mail_program_settings: vi.fn(() => []),
    disconnect_connection: vi.fn((args?: Record<string, unknown>) => {
      current = current.filter((c) => c.id !== args?.id);
    }),
    ...extra,
  };
  answer(handlers);
  return handlers;
}

beforeEach(() => nav.go('connections'));
afterEach(cleanup);

describe('connections list', () => {
  it('searches, filters and sorts, and says when nothing matches', async () => {
    const billing = connection({
      id: 'conn-billing',
      address: 'billing@contoso.com',
      display_name: 'Billing',
      kind: 'application',
      state: 'retrying',
      registration_id: 'reg-daemon',
      registration_name: 'Contoso daemon',
    });
    serve([ada, billing, grace]);
    render(ConnectionsPage);
    await screen.findAllByTestId('connection-row');
    const addresses = () =>
      screen.queryAllByTestId('connection-row').map((r) => r.dataset.address);
    expect(screen.getByTestId('connection-count').textContent).toContain('3 connections');

    const search = screen.getByRole('searchbox', { name: 'Search connections' });
    await fireEvent.input(search, { target: { value: 'LOVELACE' } });
    expect(addresses()).toEqual(['ada@contoso.com']);
    expect(screen.getByTestId('connection-count').textContent).toContain('1 of 3');
    await fireEvent.input(search, { target: { value: 'daemon' } });
    expect(addresses()).toEqual(['billing@contoso.com']);

    await fireEvent.input(search, { target: { value: 'nobody' } });
    const none = screen.getByTestId('connections-no-match');
    expect(none.textContent).toMatch(/No connection matches “nobody”\s*—\s*clear the search/);
    await fireEvent.click(within(none).getByRole('button', { name: 'clear the search' }));
    expect(addresses()).toHaveLength(3);
    expect(document.activeElement).toBe(search);

    await fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'needs_sign_in' } });
    expect(addresses()).toEqual(['grace@outlook.com']);
    await fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'all' } });
    await fireEvent.change(screen.getByLabelText('Kind'), { target: { value: 'application' } });
    expect(addresses()).toEqual(['billing@contoso.com']);
    await fireEvent.change(screen.getByLabelText('Kind'), { target: { value: 'all' } });
    await fireEvent.change(screen.getByLabelText('App'), { target: { value: 'reg-contoso' } });
    expect(addresses()).toEqual(['ada@contoso.com', 'grace@outlook.com']);
    await fireEvent.change(screen.getByLabelText('App'), { target: { value: 'all' } });

    await fireEvent.change(screen.getByLabelText('Sort by'), { target: { value: 'status' } });
    expect(addresses()).toEqual(['grace@outlook.com', 'billing@contoso.com', 'ada@contoso.com']);
  });

  it('shows each connection with its state, account type, scopes and reason', async () => {
    serve([ada, grace]);
    render(ConnectionsPage);
    const rows = await screen.findAllByTestId('connection-row');
    expect(rows.map((r) => [r.dataset.address, r.dataset.state])).toEqual([
      ['ada@contoso.com', 'active'],
      ['grace@outlook.com', 'needs_sign_in'],
    ]);

    const [first, second] = rows as [HTMLElement, HTMLElement];
    expect(first.textContent).toContain('Ada Lovelace');
    expect(first.textContent).toContain('Contoso Mail · Delegated');
    expect(first.textContent).toContain('Work');
    expect(first.textContent).toContain('Active');
    expect(first.textContent).toContain('Mail.Send');
    expect(within(first).queryByTestId('row-missing')).toBeNull();

    expect(second.textContent).toContain('Personal');
    expect(second.textContent).toContain('Needs sign-in');
    expect(within(second).getByTestId('row-reason').textContent).toBe('no refresh token');
    const missing = within(second).getByTestId('row-missing');
    expect(missing.textContent).toContain('offline_access');
    expect(missing.textContent).toContain('Mail.Send');
    // The granted list is compact: identity scopes are left out.
    expect(within(second).getByRole('list', { name: 'Granted permissions' }).textContent).not.toContain(
      'openid',
    );
    expect(screen.getByTestId('connect-open').textContent).toContain('Connect a mailbox');
  });

  it.each([
    ['retrying', 'Retrying', 'warn'],
    ['needs_consent', 'Needs consent', 'warn'],
    ['secret_expired', 'Secret expired', 'danger'],
    ['no_access', 'No access', 'danger'],
    ['disconnected', 'Disconnected', 'neutral'],
  ] as const)('labels state %s', async (state, label, tone) => {
    serve([connection({ state })]);
    render(ConnectionsPage);
    const row = await screen.findByTestId('connection-row');
    const badge = within(row).getByText(label);
    expect(badge.closest('[data-tone]')?.getAttribute('data-tone')).toBe(tone);
  });

  it('invites a first connection when an app exists but no mailbox', async () => {
    serve([]);
    render(ConnectionsPage);
    const none = await screen.findByTestId('connections-none');
    expect(within(none).getByTestId('connect-open').textContent).toContain('Connect a mailbox');
    expect(screen.queryByTestId('connections-empty')).toBeNull();
  });

  it('keeps the first-run screen, leading to Apps, while there is no app', async () => {
    answer({ list_registrations: () => [], list_connections: () => [] });
    render(ConnectionsPage);
    const empty = screen.getByTestId('connections-empty');
    await vi.waitFor(() => expect(empty.parentElement?.classList.contains('pending')).toBe(false));
    expect(screen.queryByTestId('connect-open')).toBeNull();
    await fireEvent.click(screen.getByTestId('setup-app'));
    expect(nav.current).toBe('apps');
  });

  it('explains a failed load and tries again', async () => {
    let fail = true;
    answer({
      list_registrations: () => {
        if (fail) throw { code: 'database', message: 'The database is locked.' };
        return [registration()];
      },
      list_connections: () => [ada],
    });
    render(ConnectionsPage);
    expect((await screen.findByTestId('error-notice')).textContent).toContain('The database is locked.');
    fail = false;
    await fireEvent.click(screen.getByTestId('connections-retry'));
    expect(await screen.findByTestId('connection-row')).toBeTruthy();
    expect(screen.queryByTestId('error-notice')).toBeNull();
  });
});

describe('connection detail', () => {
  async function openGrace() {
    const handlers = serve([ada, grace]);
    render(ConnectionsPage);
    const rows = await screen.findAllByTestId('connection-row');
    await fireEvent.click(within(rows[1] as HTMLElement).getByTestId('connection-open'));
    return handlers;
  }

  it('shows requested against granted scopes, state, times and history', async () => {
    const handlers = await openGrace();
    const detail = screen.getByTestId('connection-detail');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('grace@outlook.com');
    expect(document.activeElement).toBe(screen.getByRole('heading', { level: 1 }));
    expect(detail.textContent).toContain('Needs sign-in');
    expect(screen.getByTestId('detail-reason').textContent).toBe('no refresh token');
    expect(screen.getByTestId('detail-last-refresh').textContent).toContain('Not refreshed yet');
    expect(screen.getByTestId('detail-expires').querySelector('time')?.getAttribute('datetime')).toBe(
      '2025-03-02T11:00:00Z',
    );
    expect(screen.getByTestId('detail-refresh-token').textContent).toContain('None');

    const missing = screen.getByTestId('scopes-missing').textContent ?? '';
    expect(missing).toContain('2 requested permissions');
    expect(missing).toContain('offline_access');
    expect(missing).toContain('Mail.Send');
    const rows = screen.getByTestId('scopes').querySelectorAll('tbody tr');
    const status = Object.fromEntries(
      [...rows].map((r) => [(r as HTMLElement).dataset.scope, (r as HTMLElement).dataset.status]),
    );
    expect(status).toMatchObject({ 'Mail.Read': 'granted', 'Mail.Send': 'missing', offline_access: 'missing' });

    expect(handlers.connection_history).toHaveBeenCalledWith({ id: 'conn-grace' });
    const timeline = await screen.findByText('The refresh token has expired');
    expect(timeline).toBeTruthy();
    const log = screen.getByTestId('history').textContent ?? '';
    expect(log).toContain('Refresh failed');
    expect(log).toContain('AADSTS700082');
    expect(log).toContain('Trace ID trace-1');
    expect(log).toContain('Signed in as grace@outlook.com');
  });

  it('goes back to the list with focus on the row it came from', async () => {
    await openGrace();
    await fireEvent.click(screen.getByTestId('detail-back'));
    const rows = screen.getAllByTestId('connection-row');
    await vi.waitFor(() =>
      expect(document.activeElement).toBe(within(rows[1] as HTMLElement).getByTestId('connection-open')),
    );
  });

  it('asks before disconnecting, then deletes and shows the refreshed list', async () => {
    const handlers = await openGrace();
    await fireEvent.click(screen.getByTestId('connection-disconnect'));
    const ask = screen.getByTestId('disconnect-ask');
    expect(ask.textContent).toContain('deletes the refresh token from the keychain');
    expect(ask.textContent).toContain('sign in again');
    expect(handlers.disconnect_connection).not.toHaveBeenCalled();

    await fireEvent.click(screen.getByTestId('disconnect-keep'));
    expect(screen.queryByTestId('disconnect-ask')).toBeNull();
    expect(handlers.disconnect_connection).not.toHaveBeenCalled();

    await fireEvent.click(screen.getByTestId('connection-disconnect'));
    await fireEvent.click(screen.getByTestId('disconnect-confirm'));
    await vi.waitFor(() => expect(screen.queryByTestId('connection-detail')).toBeNull());
    expect(handlers.disconnect_connection).toHaveBeenCalledWith({ id: 'conn-grace' });
    const rows = await screen.findAllByTestId('connection-row');
    expect(rows.map((r) => r.dataset.address)).toEqual(['ada@contoso.com']);
    await vi.waitFor(() => expect(handlers.list_connections).toHaveBeenCalledTimes(2));
  });

  it('stays on the detail and explains a failed disconnect', async () => {
    await openGrace();
    answer({
      disconnect_connection: () => {
        throw { code: 'keychain_locked', message: 'The keychain is locked.' };
      },
    });
    await fireEvent.click(screen.getByTestId('connection-disconnect'));
    await fireEvent.click(screen.getByTestId('disconnect-confirm'));
    expect((await screen.findByTestId('error-notice')).textContent).toContain('The keychain is locked.');
    expect(screen.getByTestId('connection-detail')).toBeTruthy();
  });

  it('signs in again with the same app and address', async () => {
    serve([ada, grace], { scope_presets: () => [] });
    render(ConnectionsPage);
    const rows = await screen.findAllByTestId('connection-row');
    await fireEvent.click(within(rows[1] as HTMLElement).getByTestId('connection-open'));
    await fireEvent.click(screen.getByTestId('detail-signin'));
    expect(screen.getByTestId('connect-dialog')).toBeTruthy();
    expect((screen.getByTestId('connect-registration') as HTMLSelectElement).value).toBe('reg-contoso');
    expect((screen.getByTestId('connect-login-hint') as HTMLInputElement).value).toBe('grace@outlook.com');
  });
});

describe('keeping connections alive', () => {
  it('shows last and next refresh, expiry and the inactivity limit on each row', async () => {
    const soon = (ms: number) => new Date(Date.now() + ms).toISOString();
    serve([
      connection({
        last_refresh_at: soon(-5 * 60_000),
        next_refresh_at: soon(7 * 86_400_000 + 60_000),
        access_expires_at: soon(55 * 60_000 + 20_000),
        inactivity_deadline: soon(85 * 86_400_000 + 60_000),
      }),
    ]);
    render(ConnectionsPage);
    const row = await screen.findByTestId('connection-row');
    expect(within(row).getByTestId('row-last').textContent).toContain('5 minutes ago');
    expect(within(row).getByTestId('row-next').textContent).toContain('in 7 days');
    expect(within(row).getByTestId('row-expires').textContent).toContain('in 55 minutes');
    expect(within(row).getByTestId('row-inactivity').textContent).toContain('in 85 days');
  });

  it('updates a row as the background engine reports, including retrying', async () => {
    const handlers = serve([ada]);
    render(ConnectionsPage);
    await screen.findByTestId('connection-row');
    await vi.waitFor(() => expect(handlers.watch_connections).toHaveBeenCalled());
    const channel = handlers.watch_connections.mock.calls[0]?.[0]?.onEvent as {
      onmessage: (e: unknown) => void;
    };
    channel.onmessage({
      kind: 'changed',
      connection: { ...ada, state: 'retrying', retry_attempt: 2, next_refresh_at: new Date().toISOString(), state_reason: 'The identity provider could not be reached.' },
    });
    const row = await screen.findByTestId('connection-row');
    await vi.waitFor(() => expect(row.dataset.state).toBe('retrying'));
    expect(within(row).getByTestId('row-retry').textContent).toMatch(/Offline, retrying at .+ \(attempt 2\)/);
    expect(within(row).getByText('Retrying')).toBeTruthy();
    channel.onmessage({ kind: 'changed', connection: ada });
    await vi.waitFor(() => expect(row.dataset.state).toBe('active'));
    expect(within(row).queryByTestId('row-retry')).toBeNull();
  });

  it('refreshes all and says how many failed', async () => {
    const broken = { ...grace, state: 'needs_sign_in' as const };
    const handlers = serve([ada, grace], {
      refresh_all_connections: vi.fn(() => [
        { connection: ada, requested: true, rotated: true, error: null },
        { connection: broken, requested: true, rotated: false, error: { code: 'needs_sign_in', message: 'The refresh token has expired.' } },
      ]),
    });
    render(ConnectionsPage);
    await fireEvent.click(await screen.findByTestId('refresh-all'));
    expect(handlers.refresh_all_connections).toHaveBeenCalledOnce();
    const result = await screen.findByTestId('refresh-all-result');
    expect(result.textContent).toContain('1 of 2 could not be refreshed');
  });

  it('refreshes one connection from its detail page and shows the outcome', async () => {
    const handlers = serve([ada], {
      refresh_connection: vi.fn(() => ({ connection: ada, requested: true, rotated: true, error: null })),
    });
    render(ConnectionsPage);
    await fireEvent.click(await screen.findByTestId('connection-open'));
    await fireEvent.click(await screen.findByTestId('detail-refresh'));
    expect(handlers.refresh_connection).toHaveBeenCalledWith({ id: ada.id });
    expect((await screen.findByTestId('detail-refresh-result')).textContent).toContain('new refresh token');
  });

  it('shows why a refresh failed, with the fix', async () => {
    serve([ada], {
      refresh_connection: vi.fn(() => ({
        connection: { ...ada, state: 'needs_sign_in', state_aadsts: 50173 },
        requested: true,
        rotated: false,
        error: { code: 'needs_sign_in', message: 'The grant was revoked (AADSTS50173)', detail: { aadsts: 50173, fix: 'Sign in again.' } },
      })),
    });
    render(ConnectionsPage);
    await fireEvent.click(await screen.findByTestId('connection-open'));
    await fireEvent.click(await screen.findByTestId('detail-refresh'));
    const detail = await screen.findByTestId('connection-detail');
    await vi.waitFor(() => expect(detail.textContent).toContain('AADSTS50173'));
    expect(detail.textContent).toContain('Sign in again.');
  });

  it('offers the admin consent link when a connection needs consent', async () => {
    const handlers = serve([{ ...ada, state: 'needs_consent', state_reason: 'An administrator must approve these permissions (AADSTS90094)', state_aadsts: null }], {
      admin_consent_url: vi.fn(() => 'https://login.example/adminconsent?client_id=x'),
    });
    render(ConnectionsPage);
    await fireEvent.click(await screen.findByTestId('connection-open'));
    const link = await screen.findByTestId('admin-consent-url');
    expect(handlers.admin_consent_url).toHaveBeenCalledWith({ id: ada.registration_id });
    expect(link).toHaveProperty('value', 'https://login.example/adminconsent?client_id=x');
  });

  it('renders only the rows in view of a list of 1,000', async () => {
    const many = Array.from({ length: 1000 }, (_, i) =>
      connection({ id: `conn-${i}`, address: `user${String(i).padStart(4, '0')}@contoso.com` }),
    );
    serve(many);
    render(ConnectionsPage);
    const list = await screen.findByTestId('connections-list');
    expect(list.dataset.windowed).toBe('true');
    const rows = await screen.findAllByTestId('connection-row');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(50);
    expect(rows[0]?.dataset.address).toBe('user0000@contoso.com');
  });

  it('keeps a long list windowed while a search narrows it to a few dozen', async () => {
    const many = Array.from({ length: 1000 }, (_, i) =>
      connection({ id: `conn-${i}`, address: `user${String(i).padStart(4, '0')}@contoso.com` }),
    );
    serve(many);
    render(ConnectionsPage);
    const list = await screen.findByTestId('connections-list');
    // user00xx: 100 matches, fewer than a list needs to be windowed on its own.
    await fireEvent.input(screen.getByTestId('connection-search'), { target: { value: 'user00' } });
    await vi.waitFor(() =>
      expect(screen.getAllByTestId('connection-row')[0]?.dataset.address).toBe('user0000@contoso.com'),
    );
    expect(list.dataset.windowed).toBe('true');
    expect(screen.getAllByTestId('connection-row').length).toBeLessThan(50);
  });

  it('verifies a connection through Graph and says so', async () => {
    const handlers = serve([ada], {
      verify_connection: vi.fn(() => ({ connection: ada, requested: true, rotated: false, error: null })),
    });
    render(ConnectionsPage);
    await fireEvent.click(await screen.findByTestId('connection-open'));
    await fireEvent.click(await screen.findByTestId('detail-verify'));
    expect(handlers.verify_connection).toHaveBeenCalledWith({ id: ada.id });
    expect((await screen.findByTestId('detail-verify-result')).textContent).toContain('Microsoft Graph');
  });

  it('shows every verification step, and a failed one with its code and core\'s fix', async () => {
    const smtp =
      'Exchange Online has SMTP AUTH (authenticated SMTP submission) turned off for the whole organisation, so mail programs cannot send as ada@contoso.com; the token itself is fine.';
    const fix = 'An Exchange administrator turns it on for the mailbox: `Set-CASMailbox -Identity ada@contoso.com -SmtpClientAuthenticationDisabled $false`.';
    serve([ada], {
      verify_connection: vi.fn(() => ({
        connection: ada,
        requested: false,
        rotated: false,
        error: { code: 'needs_consent', message: smtp, detail: { fix } },
        steps: [
          { name: 'token', protocol: 'token', outcome: 'passed', message: 'The access token held in memory is still valid', fix: null, code: null, duration_ms: 0 },
          { name: 'graph_profile', protocol: 'graph', outcome: 'skipped', message: 'Skipped: the connection\'s permissions are for mail programs (IMAP, POP, SMTP), not Microsoft Graph.', fix: null, code: null, duration_ms: 0 },
          { name: 'imap_login', protocol: 'imap', outcome: 'passed', message: 'Logged in as ada@contoso.com with XOAUTH2', fix: null, code: null, duration_ms: 41 },
          { name: 'smtp_login', protocol: 'smtp', outcome: 'failed', message: smtp, fix, code: '535 5.7.139', duration_ms: 57 },
        ],
      })),
    });
    render(ConnectionsPage);
    await fireEvent.click(await screen.findByTestId('connection-open'));
    await fireEvent.click(await screen.findByTestId('detail-verify'));
    const steps = await screen.findAllByTestId('verify-step');
    expect(steps.map((s) => [s.dataset.name, s.dataset.outcome])).toEqual([
      ['token', 'passed'],
      ['graph_profile', 'skipped'],
      ['imap_login', 'passed'],
      ['smtp_login', 'failed'],
    ]);
    expect(steps[2]?.textContent).toContain('41 ms');
    expect(steps[3]?.textContent).toContain('535 5.7.139');
    // Core's backticks become code.
    const shownFix = within(steps[3] as HTMLElement).getByTestId('verify-step-fix');
    expect(shownFix.textContent?.trim()).toBe(fix.replaceAll('`', ''));
    expect(shownFix.querySelector('code')?.textContent).toBe(
      'Set-CASMailbox -Identity ada@contoso.com -SmtpClientAuthenticationDisabled $false',
    );
    expect(steps[3]?.textContent).toContain('Log in');
    expect(screen.queryByTestId('detail-verify-result')).toBeNull();
  });

  it('verifies all connections and lists the ones that did not pass', async () => {
    const grace: Connection = { ...ada, id: 'conn-2', address: 'grace@contoso.com' };
    const handlers = serve([ada, grace], {
      verify_all_connections: vi.fn(() => [
        { connection: ada, requested: false, rotated: false, error: null, steps: [] },
        {
          connection: grace,
          requested: true,
          rotated: false,
          error: { code: 'needs_sign_in', message: 'The mail server refused the login for grace@contoso.com.', detail: null },
          steps: [],
        },
      ]),
    });
    render(ConnectionsPage);
    await fireEvent.click(await screen.findByTestId('verify-all'));
    expect(handlers.verify_all_connections).toHaveBeenCalledOnce();
    const result = await screen.findByTestId('verify-all-result');
    expect(result.textContent).toContain('1 of 2 did not pass');
    expect(screen.getAllByTestId('verify-all-failure').map((li) => li.textContent)).toEqual([
      'grace@contoso.com: The mail server refused the login for grace@contoso.com.',
    ]);
  });

  it('says the mail servers accepted the token when no Graph step ran', async () => {
    serve([ada], {
      verify_connection: vi.fn(() => ({
        connection: ada,
        requested: true,
        rotated: false,
        error: null,
        steps: [{ name: 'imap_login', protocol: 'imap', outcome: 'passed', message: 'Logged in', fix: null, code: null, duration_ms: 3 }],
      })),
    });
    render(ConnectionsPage);
    await fireEvent.click(await screen.findByTestId('connection-open'));
    await fireEvent.click(await screen.findByTestId('detail-verify'));
    expect((await screen.findByTestId('detail-verify-result')).textContent).toContain('the mail servers accepted');
  });

  it('keeps the new state of a refresh that ends after leaving the connection, without its outcome', async () => {
    const pending = deferred<RefreshReport>();
    const handlers = serve([ada], { refresh_connection: vi.fn(() => pending.promise) });
    render(ConnectionsPage);
    await fireEvent.click(await screen.findByTestId('connection-open'));
    await fireEvent.click(await screen.findByTestId('detail-refresh'));
    expect(screen.getByTestId('detail-refresh').textContent).toContain('Refreshing');
    await fireEvent.click(screen.getByTestId('detail-back'));
    expect((await screen.findByTestId('refresh-all')).hasAttribute('disabled')).toBe(false);

    const signedOut: Connection = { ...ada, state: 'needs_sign_in', state_reason: 'no refresh token', state_aadsts: null };
    pending.resolve({ connection: signedOut, requested: true, rotated: false, error: null });
    await vi.waitFor(() => expect(screen.getByTestId('connection-row').dataset.state).toBe('needs_sign_in'));
    await fireEvent.click(screen.getByTestId('connection-open'));
    await screen.findByTestId('connection-detail');
    expect(screen.queryByTestId('detail-refresh-result')).toBeNull();
    expect(handlers.refresh_connection).toHaveBeenCalledOnce();
  });
});

