import { describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import type { Connection, Dashboard } from '../ipc/bindings';
import { answer } from '../test/ipc';
import { connection, deferred, registration } from './testdata';

/** A fresh page: the start-up call is made once per page. */
async function page() {
  vi.resetModules();
  const { startup } = await import('../app/startup');
  const { ConnectionsState } = await import('./connections.svelte');
  void startup.begin();
  return new ConnectionsState();
}

const row = (n: number, overrides: Partial<Connection> = {}) =>
  connection({ id: `conn-${n}`, address: `user${n}@contoso.com`, ...overrides });

describe('a long list at start', () => {
  it('keeps the live changes made while the rest was on its way', async () => {
    const all = [1, 2, 3, 4, 5].map((n) => row(n));
    const rest = deferred<Connection[]>();
    answer({
      dashboard: () =>
        ({
          version: '1',
          data_dir: '/data',
          registrations: [registration()],
          connections: all.slice(0, 2),
          connections_total: 5,
          reminders: [],
          theme: 'system',
        }) satisfies Dashboard,
      list_connections: () => rest.promise,
    });
    const list = await page();
    const loaded = list.load();

    await vi.waitFor(() => expect(list.connections?.length).toBe(2));
    expect(list.partial).toBe(true);
    expect(list.total).toBe(5);

    // A change to a row on screen shows at once; one to a row not here yet waits.
    list.apply({ kind: 'changed', connection: row(2, { state: 'needs_sign_in' }) });
    list.apply({ kind: 'changed', connection: row(5, { state: 'retrying' }) });
    expect(list.connections?.map((c) => c.state)).toEqual(['active', 'needs_sign_in']);
    expect(list.connections?.length).toBe(2);

    // The rest was read before those changes: they are applied to it again.
    rest.resolve(all);
    await loaded;
    expect(list.partial).toBe(false);
    expect(list.total).toBe(5);
    expect(list.connections?.map((c) => `${c.id} ${c.state}`)).toEqual([
      'conn-1 active',
      'conn-2 needs_sign_in',
      'conn-3 active',
      'conn-4 active',
      'conn-5 retrying',
    ]);
    // Later changes apply as usual, new rows included.
    list.apply({ kind: 'changed', connection: row(6) });
    expect(list.total).toBe(6);
  });

  it('shows why the rest could not be read, with the first rows kept', async () => {
    answer({
      dashboard: () =>
        ({
          version: '1',
          data_dir: '/data',
          registrations: [registration()],
          connections: [row(1)],
          connections_total: 3,
          reminders: [],
          theme: 'system',
        }) satisfies Dashboard,
      list_connections: () => {
        throw { code: 'storage', message: 'The database is locked by another program.' };
      },
    });
    const list = await page();
    await list.load();
    expect(list.error?.message).toBe('The database is locked by another program.');
    expect(list.connections?.map((c) => c.id)).toEqual(['conn-1']);
    expect(list.total).toBe(3);
    expect(list.partial).toBe(true);
  });
});
