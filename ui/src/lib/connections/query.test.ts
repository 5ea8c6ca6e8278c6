import { describe, expect, it } from 'vitest';
import type { Connection } from '../ipc/bindings';
import {
  ConnectionQuery,
  filterConnections,
  type Filters,
  narrows,
  NO_FILTERS,
  sortConnections,
} from './query';
import { connection } from './testdata';

const ada = connection({
  id: 'a',
  address: 'Ada@Contoso.com',
  display_name: 'Ada Lovelace',
  state: 'active',
  access_expires_at: '2025-03-02T11:00:00Z',
  last_refresh_at: '2025-03-02T09:00:00Z',
});
const grace = connection({
  id: 'g',
  address: 'grace@outlook.com',
  display_name: null,
  alias: 'navy',
  registration_id: 'reg-personal',
  registration_name: 'Personal mail',
  state: 'needs_sign_in',
  access_expires_at: null,
  last_refresh_at: '2025-03-02T09:30:00Z',
});
const shared = connection({
  id: 's',
  address: 'billing@contoso.com',
  display_name: 'Billing',
  kind: 'application',
  state: 'retrying',
  access_expires_at: '2025-03-02T10:15:00Z',
  last_refresh_at: null,
});
const all = [grace, shared, ada];
const f = (over: Partial<Filters>): Filters => ({ ...NO_FILTERS, ...over });
const ids = (list: Connection[]) => list.map((c) => c.id);

describe('connection list order', () => {
  it('sorts by address regardless of case', () => {
    expect(ids(sortConnections(all, 'address'))).toEqual(['a', 's', 'g']);
  });

  it('puts what needs someone first when sorting by status', () => {
    expect(ids(sortConnections(all, 'status'))).toEqual(['g', 's', 'a']);
  });

  it('sorts by token expiry, soonest first, no token last', () => {
    expect(ids(sortConnections(all, 'expiry'))).toEqual(['s', 'a', 'g']);
  });

  it('sorts by last refresh, newest first, never refreshed last', () => {
    expect(ids(sortConnections(all, 'refresh'))).toEqual(['g', 'a', 's']);
  });

  it('leaves the source list as it was', () => {
    sortConnections(all, 'address');
    expect(ids(all)).toEqual(['g', 's', 'a']);
  });
});

describe('connection search and filters', () => {
  const sorted = sortConnections(all, 'address');

  it('finds words in the address, name, alias and app name, any case', () => {
    expect(ids(filterConnections(sorted, f({ text: 'ADA' })))).toEqual(['a']);
    expect(ids(filterConnections(sorted, f({ text: 'lovelace' })))).toEqual(['a']);
    expect(ids(filterConnections(sorted, f({ text: 'navy' })))).toEqual(['g']);
    expect(ids(filterConnections(sorted, f({ text: 'personal' })))).toEqual(['g']);
    expect(ids(filterConnections(sorted, f({ text: 'contoso' })))).toEqual(['a', 's']);
    expect(ids(filterConnections(sorted, f({ text: '  contoso   bill ' })))).toEqual(['s']);
    expect(filterConnections(sorted, f({ text: 'nobody' }))).toEqual([]);
  });

  it('filters by status, app and kind, together with the search', () => {
    expect(ids(filterConnections(sorted, f({ status: 'needs_sign_in' })))).toEqual(['g']);
    expect(ids(filterConnections(sorted, f({ app: 'reg-contoso' })))).toEqual(['a', 's']);
    expect(ids(filterConnections(sorted, f({ kind: 'application' })))).toEqual(['s']);
    expect(ids(filterConnections(sorted, f({ kind: 'delegated', text: 'contoso' })))).toEqual(['a']);
  });

  it('knows when a query only narrows the previous one', () => {
    expect(narrows(f({ text: 'ad' }), f({ text: 'ada' }))).toBe(true);
    expect(narrows(f({ text: 'ada' }), f({ text: 'ada lo' }))).toBe(true);
    expect(narrows(f({}), f({ status: 'active' }))).toBe(true);
    expect(narrows(f({ text: 'ada' }), f({ text: 'ad' }))).toBe(false);
    expect(narrows(f({ status: 'active' }), f({}))).toBe(false);
    expect(narrows(f({ app: 'x' }), f({ app: 'y' }))).toBe(false);
  });

  it('answers each keystroke as a fresh query would, narrowing or not', () => {
    const query = new ConnectionQuery();
    const many = Array.from({ length: 300 }, (_, i) =>
      connection({ id: `c${i}`, address: `user${i}@contoso.com`, display_name: `User ${i}` }),
    );
    for (const text of ['u', 'us', 'user1', 'user12', 'user1', 'user 2', '', 'zzz', 'user29']) {
      const fresh = filterConnections(sortConnections(many, 'address'), f({ text }));
      expect(ids(query.run(many, 'address', f({ text })))).toEqual(ids(fresh));
    }
  });

  it('sorts a new list again, with a replaced row in its place', () => {
    const query = new ConnectionQuery();
    expect(ids(query.run(all, 'address', NO_FILTERS))).toEqual(['a', 's', 'g']);
    const renamed = { ...ada, address: 'zed@contoso.com' };
    expect(ids(query.run([grace, shared, renamed], 'address', NO_FILTERS))).toEqual(['s', 'g', 'a']);
  });

  it('moves a row a live update changed to its new place in every order kept', () => {
    const query = new ConnectionQuery();
    const many = Array.from({ length: 200 }, (_, i) =>
      connection({
        id: `c${i}`,
        address: `user${String(i).padStart(3, '0')}@contoso.com`,
        state: i % 7 === 0 ? 'needs_sign_in' : 'active',
        access_expires_at: new Date(Date.UTC(2025, 2, 2, 10, i % 50)).toISOString(),
      }),
    );
    for (const sort of ['address', 'status', 'expiry'] as const) query.run(many, sort, NO_FILTERS);
    let list = many;
    for (const [at, change] of [
      [3, { state: 'needs_sign_in' as const }],
      [150, { address: 'aaa@contoso.com', access_expires_at: null }],
      [7, { state: 'active' as const, access_expires_at: '2025-03-01T00:00:00Z' }],
    ] as const) {
      list = list.slice();
      list[at] = { ...list[at]!, ...change } as Connection;
      for (const sort of ['address', 'status', 'expiry', 'refresh'] as const) {
        expect(ids(query.run(list, sort, NO_FILTERS)), sort).toEqual(ids(sortConnections(list, sort)));
      }
    }
  });

  it('prepares the other orders while idle, one piece at a time, and stops for a new list', () => {
    const queue: (() => void)[] = [];
    const idle = (work: () => void) => {
      queue.push(work);
      return () => queue.splice(queue.indexOf(work), 1);
    };
    const query = new ConnectionQuery();
    query.run(all, 'status', NO_FILTERS);
    query.warm(all, idle);
    expect(queue).toHaveLength(1);
    while (queue.length > 0) queue.shift()!();
    expect(query.kept.sort()).toEqual(['address', 'expiry', 'refresh', 'status']);
    for (const sort of ['address', 'expiry', 'refresh'] as const) {
      expect(ids(query.run(all, sort, NO_FILTERS))).toEqual(ids(sortConnections(all, sort)));
    }

    // A list replaced while warming: the old one's pieces stop; a stopped warm-up runs nothing.
    const other = [ada, grace];
    const fresh = new ConnectionQuery();
    fresh.run(all, 'address', NO_FILTERS);
    fresh.warm(all, idle);
    queue.shift()!();
    fresh.run(other, 'address', NO_FILTERS);
    while (queue.length > 0) queue.shift()!();
    expect(fresh.kept).toEqual(['address']);
    const stop = fresh.warm(other, idle);
    stop();
    expect(queue).toHaveLength(0);
    expect(fresh.kept).toEqual(['address']);
  });
});
