import { describe, expect, it } from 'vitest';
import type { Connection } from '../ipc/bindings';
import { daysToInactivityLimit, type HealthItem, healthItems, retryLine } from './health';
import { connection } from './testdata';

const now = Date.parse('2025-03-02T10:30:00Z');

function byKey(c: Connection): Record<HealthItem['key'], HealthItem> {
  return Object.fromEntries(healthItems(c, now).map((i) => [i.key, i])) as Record<
    HealthItem['key'],
    HealthItem
  >;
}

describe('connection health', () => {
  it('words last and next refresh, expiry and the inactivity limit', () => {
    const c = connection({
      last_refresh_at: '2025-03-02T10:00:00Z',
      next_refresh_at: '2025-03-09T10:00:00Z',
      access_expires_at: '2025-03-02T11:00:00Z',
      inactivity_deadline: '2025-05-31T10:00:00Z',
    });
    const items = byKey(c);
    expect(items.last.value).toBe('30 minutes ago');
    expect(items.next.value).toBe('in 7 days');
    expect(items.expires.label).toBe('Access token expires');
    expect(items.expires.value).toBe('in 30 minutes');
    expect(items.inactivity.value).toBe('in 89 days');
    expect(items.inactivity.warn).toBe(false);
  });

  it('warns when the inactivity limit is near and when nothing is scheduled for a broken one', () => {
    const c = connection({
      state: 'needs_sign_in',
      inactivity_deadline: '2025-03-12T10:00:00Z',
      access_expires_at: '2025-03-02T09:00:00Z',
    });
    const items = byKey(c);
    expect(daysToInactivityLimit(c, now)).toBe(9);
    expect(items.inactivity.warn).toBe(true);
    expect(items.next.value).toBe('none scheduled');
    expect(items.next.warn).toBe(true);
    expect(items.expires.label).toBe('Access token expired');
  });

  it('application access has no inactivity limit', () => {
    const c = connection({ kind: 'application', inactivity_deadline: null });
    expect(healthItems(c, now).map((i) => i.key)).not.toContain('inactivity');
  });

  it('says when a retry happens', () => {
    expect(retryLine(connection())).toBeNull();
    const line = retryLine(
      connection({ state: 'retrying', retry_attempt: 2, next_refresh_at: '2025-03-02T10:35:00Z' }),
    );
    expect(line).toMatch(/^Offline, retrying at .+ \(attempt 2\)$/);
  });
});
