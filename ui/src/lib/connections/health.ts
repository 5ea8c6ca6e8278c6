// How a connection's tokens stand, in the few words a list row has room for. Core decides the
// state and the schedule; this only words them.
import type { Connection } from '../ipc/bindings';
import { formatRelative, relativeChangesAt } from './format';

const DAY = 86_400_000;
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

export interface HealthItem {
  key: 'last' | 'next' | 'expires' | 'inactivity';
  label: string;
  value: string;
  /** Worth a warning colour (e.g. fewer than 14 days to the inactivity limit). */
  warn?: boolean;
}

/** "Offline, retrying at 14:05 (attempt 2)" while a transient failure is retried. */
export function retryLine(c: Connection): string | null {
  if (c.state !== 'retrying') return null;
  const at = c.next_refresh_at ? clock.format(new Date(c.next_refresh_at)) : 'soon';
  return `Offline, retrying at ${at} (attempt ${c.retry_attempt})`;
}

/** Whole days until the 90-day inactivity limit, or null when it does not apply. */
export function daysToInactivityLimit(c: Connection, now: number = Date.now()): number | null {
  if (!c.inactivity_deadline) return null;
  return Math.max(0, Math.floor((new Date(c.inactivity_deadline).getTime() - now) / DAY));
}

export function healthItems(c: Connection, now: number = Date.now()): HealthItem[] {
  // Application access: the app's own token serves all its mailboxes; only the last check is
  // the mailbox's own.
  if (c.kind === 'application') {
    return [
      {
        key: 'last',
        label: 'Last checked',
        value: c.last_refresh_at ? formatRelative(c.last_refresh_at, now) : 'never',
      },
    ];
  }
  const items: HealthItem[] = [
    {
      key: 'last',
      label: 'Last refresh',
      value: c.last_refresh_at ? formatRelative(c.last_refresh_at, now) : 'never',
    },
    {
      key: 'next',
      label: 'Next refresh',
      value: c.next_refresh_at ? formatRelative(c.next_refresh_at, now) : 'none scheduled',
      warn: c.next_refresh_at === null && c.state !== 'active' && c.state !== 'refreshing',
    },
  ];
  if (c.access_expires_at) {
    const past = new Date(c.access_expires_at).getTime() <= now;
    items.push({
      key: 'expires',
      label: past ? 'Access token expired' : 'Access token expires',
      value: formatRelative(c.access_expires_at, now),
    });
  }
  const days = daysToInactivityLimit(c, now);
  if (days !== null) {
    items.push({
      key: 'inactivity',
      label: 'Inactivity limit',
      value: days === 1 ? 'in 1 day' : `in ${days} days`,
      warn: days < 14,
    });
  }
  return items;
}

/** When `healthItems(c, now)` next reads differently (epoch ms), or null when it never will. */
export function healthChangesAt(c: Connection, now: number = Date.now()): number | null {
  const times = [c.last_refresh_at, c.next_refresh_at, c.access_expires_at]
    .filter((t): t is string => t !== null)
    .map((t) => relativeChangesAt(t, now))
    .filter((t): t is number => t !== null);
  // "Access token expires" turns into "expired".
  if (c.access_expires_at) {
    const expiry = new Date(c.access_expires_at).getTime();
    if (expiry > now) times.push(expiry);
  }
  if (c.inactivity_deadline && c.kind !== 'application') {
    const deadline = new Date(c.inactivity_deadline).getTime();
    if (deadline > now) times.push(deadline - Math.floor((deadline - now) / DAY) * DAY + 1);
  }
  return times.length > 0 ? Math.min(...times) : null;
}
