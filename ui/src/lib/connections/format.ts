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
