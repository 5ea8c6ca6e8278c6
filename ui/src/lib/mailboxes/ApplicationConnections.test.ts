// Organisation mailboxes on the Connections page: marked "application access", with the
// permissions the app holds, no sign-in offered and no refresh token expected.
import { cleanup, fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import ConnectionsPage from '../connections/ConnectionsPage.svelte';
import { connection, registration } from '../connections/testdata';
import { nav } from '../nav/nav.svelte';
import { answer } from '../test/ipc';

const roles = ['Mail.ReadWrite', 'Mail.Send', 'User.Read.All'];
const reg = registration({ id: 'reg-org', name: 'Contoso organisation', usage: 'both', kind: 'confidential' });
const shared = connection({
  id: 'conn-info',
  registration_id: reg.id,
  registration_name: reg.name,
  kind: 'application',
  account_key: 'graph-user-id',
  address: 'info@contoso.test',
  display_name: 'Info desk',
  preset: 'application',
  scopes_requested: roles,
  scopes_granted: roles,
  has_refresh_token: false,
});
const denied = connection({
  ...shared,
  id: 'conn-denied',
  address: 'denied@contoso.test',
  display_name: null,
  state: 'no_access',
  state_reason: 'Exchange keeps the app out of this mailbox. An Exchange administrator can let the app in.',
});

beforeEach(() => nav.go('connections'));
afterEach(cleanup);

describe('application-access mailboxes among the connections', () => {
  it('are marked, show the permissions held and say why one is out of reach', async () => {
    answer({
      list_registrations: () => [reg],
      list_connections: () => [denied, shared],
      connection_history: () => [],
    });
    render(ConnectionsPage);
    const rows = await screen.findAllByTestId('connection-row');
    const info = rows.find((r) => r.dataset.address === 'info@contoso.test') as HTMLElement;
    expect(within(info).getByTestId('row-application').textContent).toContain('Application access');
    for (const role of roles) expect(info.textContent).toContain(role);
    const health = within(info).getByTestId('row-health').textContent ?? '';
    expect(health).toContain('Last checked');
    expect(health).not.toContain('Next refresh');
    const out = rows.find((r) => r.dataset.address === 'denied@contoso.test') as HTMLElement;
    expect(out.dataset.state).toBe('no_access');
    expect(within(out).getByTestId('row-reason').textContent).toContain('Exchange administrator');

    await fireEvent.click(within(info).getByTestId('connection-open'));
    const detail = await screen.findByTestId('connection-detail');
    expect(within(detail).queryByTestId('detail-signin')).toBeNull();
    expect(within(detail).getByTestId('detail-refresh-token').textContent).toContain('Not needed');
    expect(within(detail).getByTestId('detail-app-token').textContent).toContain("The app's own");
    // No refresh token to refresh: the engine checks the mailbox through Graph instead.
    expect(within(detail).getByTestId('detail-refresh').textContent).toContain('Check now');
    expect(within(detail).queryByTestId('detail-verify')).toBeNull();
  });
});
