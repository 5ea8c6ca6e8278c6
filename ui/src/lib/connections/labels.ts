// Words and badge tones for what core reports about a connection. Display only: what a state or
// scope means is core's business.
import type { AccountType, Connection, ConnectionKind, StateKind } from '../ipc/bindings';
import type { Tone } from '../ui/Badge.svelte';

const STATES: Record<StateKind, { label: string; tone: Tone }> = {
  active: { label: 'Active', tone: 'ok' },
  refreshing: { label: 'Refreshing', tone: 'info' },
  retrying: { label: 'Retrying', tone: 'warn' },
  needs_sign_in: { label: 'Needs sign-in', tone: 'danger' },
  needs_consent: { label: 'Needs consent', tone: 'warn' },
  secret_expired: { label: 'Secret expired', tone: 'danger' },
  no_access: { label: 'No access', tone: 'danger' },
  disconnected: { label: 'Disconnected', tone: 'neutral' },
};

export function stateLabel(state: StateKind): string {
  return STATES[state].label;
}

export function stateTone(state: StateKind): Tone {
  return STATES[state].tone;
}

/** The problem, last retry error or note that comes with a connection's state, if any. */
export function stateReason(c: Connection): string | null {
  return 'state_reason' in c ? c.state_reason : null;
}

export function accountTypeLabel(type: AccountType): string {
  return type === 'personal' ? 'Personal' : 'Work';
}

export function kindLabel(kind: ConnectionKind): string {
  return kind === 'delegated' ? 'Delegated' : 'Application access';
}

/** `https://outlook.office.com/IMAP.AccessAsUser.All` reads `IMAP.AccessAsUser.All`. */
export function shortScope(scope: string): string {
  const slash = scope.lastIndexOf('/');
  return slash >= 0 && slash < scope.length - 1 ? scope.slice(slash + 1) : scope;
}

// Sign-in scopes every connection carries; the compact list leaves them out to keep rows short.
const IDENTITY = new Set(['openid', 'profile', 'email']);

/** The granted scopes worth showing in a one-line summary. */
export function compactScopes(granted: readonly string[]): string[] {
  return granted.filter((scope) => !IDENTITY.has(scope.toLowerCase()));
}

// History kinds whose words alone would read oddly.
const KIND_LABELS: Record<string, string> = {
  bridge_login: 'Logged in through the bridge',
  bridge_unavailable: 'Bridge could not log in',
  bridge_password_added: 'Bridge password added',
  bridge_password_removed: 'Bridge password removed',
};

/** `signed_in_again` reads `Signed in again`. */
export function humanize(kind: string): string {
  const label = KIND_LABELS[kind];
  if (label) return label;
  const words = kind.replaceAll('_', ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
