import type { Check, CheckStatus } from '../ipc/bindings';
import type { Tone } from '../ui/Badge.svelte';

const TONES: Record<CheckStatus, Tone> = { ok: 'ok', warning: 'warn', failed: 'danger' };
const STATUS_LABELS: Record<CheckStatus, string> = { ok: 'OK', warning: 'Warning', failed: 'Failed' };

export const checkTone = (status: CheckStatus): Tone => TONES[status];

export const checkStatusLabel = (status: CheckStatus): string => STATUS_LABELS[status];

/** The word after "Keychain:" in the status bar. Branches on the error code, never the text. */
export function keychainWord(check: Check): string {
  if (check.status === 'ok') return 'ready';
  switch (check.code) {
    case 'keychain_locked':
      return 'locked';
    case 'keychain_unavailable':
      return 'not available';
    default:
      return 'error';
  }
}
