// Timestamps from core are RFC 3339 in UTC; people read them in their own time zone.

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

function parse(iso: string): Date | null {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "12 Mar 2025, 14:05" in the local time zone; the input unchanged when it is not a date. */
export function formatDateTime(iso: string): string {
  const date = parse(iso);
  return date ? absolute.format(date) : iso;
}

/** "in 52 minutes", "3 hours ago", "now". */
export function formatRelative(iso: string, now: number = Date.now()): string {
  const date = parse(iso);
  if (!date) return '';
  const diff = date.getTime() - now;
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms) return relative.format(Math.round(diff / ms), unit);
  }
  return relative.format(0, 'minute');
}

/**
 * When `formatRelative(iso, now)` next reads differently (epoch ms, later than `now`): the next
 * rounding step of its unit, or the moment it changes unit, whichever comes first.
 */
export function relativeChangesAt(iso: string, now: number = Date.now()): number | null {
  const date = parse(iso);
  if (!date) return null;
  const t = date.getTime();
  const diff = t - now;
  const candidates: number[] = [];
  // Changing unit: |t - now| crossing a unit's length, before or after `t`.
  for (const [, ms] of UNITS) candidates.push(t - ms, t + ms);
  // The next rounding step: Math.round(diff / ms) changes once diff / ms drops below the
  // half-way point under it.
  const unit = UNITS.find(([, ms]) => Math.abs(diff) >= ms);
  if (unit) {
    const ms = unit[1];
    const step = Math.floor(diff / ms + 0.5) - 0.5;
    candidates.push(t - step * ms + 1);
  }
  const next = Math.min(...candidates.filter((c) => c > now));
  return Number.isFinite(next) ? next : null;
}

/** Whole seconds from now until `iso` (negative once past). */
export function secondsUntil(iso: string, now: number = Date.now()): number {
  const date = parse(iso);
  return date ? Math.floor((date.getTime() - now) / 1000) : 0;
}

/** 605 reads "10:05". */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
