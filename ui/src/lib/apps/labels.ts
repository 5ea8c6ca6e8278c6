// Words for what core reports about a registration. Display only: what a kind, usage or cloud
// means for the protocol is core's business.
import type { Audience, ClientKind, CloudId, Usage } from '../ipc/bindings';
import type { Tone } from '../ui/Badge.svelte';

export const CLOUDS: { id: CloudId; label: string }[] = [
  { id: 'global', label: 'Global (Microsoft 365, Outlook.com, GCC)' },
  { id: 'gcc-high', label: 'US Government GCC High' },
  { id: 'dod', label: 'US Government DoD' },
  { id: 'china', label: 'China (operated by 21Vianet)' },
  { id: 'custom', label: 'Custom (proxy or test provider)' },
];

const SHORT_CLOUDS: Record<CloudId, string> = {
  global: 'Global',
  'gcc-high': 'GCC High',
  dod: 'DoD',
  china: 'China (21Vianet)',
  custom: 'Custom',
};

export const AUDIENCES: { id: Audience; label: string; explanation: string }[] = [
  {
    id: 'my_organization',
    label: 'Work accounts of my organisation only',
    explanation:
      'Only people with an account in your own Microsoft 365 organisation can sign in. The usual choice.',
  },
  {
    id: 'any_organization',
    label: 'Work accounts of any organisation',
    explanation:
      'People from any Microsoft 365 organisation can sign in, for example a consultant ' +
      'serving several customers.',
  },
  {
    id: 'any_organization_and_personal',
    label: 'Any organisation, and personal Outlook.com accounts',
    explanation:
      'Work accounts of any organisation plus personal Microsoft accounts (Outlook.com, Hotmail, Live).',
  },
];

export const cloudLabel = (cloud: CloudId): string => SHORT_CLOUDS[cloud];

export const kindLabel = (kind: ClientKind): string =>
  kind === 'public' ? 'Desktop (public)' : 'Web (confidential)';

export function usageLabel(usage: Usage): string {
  switch (usage) {
    case 'delegated':
      return 'Sign-in (delegated)';
    case 'application':
      return 'Application access';
    case 'both':
      return 'Sign-in + application access';
  }
}

export function audienceLabel(audience: Audience): string {
  return AUDIENCES.find((a) => a.id === audience)?.label ?? audience;
}

const DAY_MS = 86_400_000;
/** Secrets this close to their expiry date get a warning. */
export const EXPIRY_WARNING_DAYS = 30;

/** Today's date in the local time zone, as `YYYY-MM-DD`. */
export function isoDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The date `days` days after `from`, as `YYYY-MM-DD` (the portal counts secret lifetimes in days). */
export function addDays(from: Date, days: number): string {
  const date = new Date(from.getFullYear(), from.getMonth(), from.getDate() + days);
  return isoDate(date);
}

/** Whole days from today until a `YYYY-MM-DD` date; negative once it has passed. */
export function daysUntil(date: string, today: Date = new Date()): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return null;
  const target = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  const now = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate());
  return Math.round((target - now) / DAY_MS);
}

export type ExpiryState = { text: string; tone: Tone | null };

/** How a stored secret's expiry date reads in the list. */
export function expiryState(date: string | null, today: Date = new Date()): ExpiryState {
  if (!date) return { text: 'Expiry date unknown', tone: 'warn' };
  const days = daysUntil(date, today);
  if (days === null) return { text: date, tone: null };
  if (days < 0) return { text: `Expired on ${date}`, tone: 'danger' };
  if (days === 0) return { text: 'Expires today', tone: 'danger' };
  if (days < EXPIRY_WARNING_DAYS)
    return { text: `Expires in ${days} day${days === 1 ? '' : 's'} (${date})`, tone: 'warn' };
  return { text: `Expires ${date}`, tone: null };
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** An RFC 3339 timestamp in the local time zone; the input unchanged when it is not one. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}
