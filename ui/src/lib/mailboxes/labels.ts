// Words and badge tones for what core reports about organisation mailboxes. Display only: what a
// status means and which permissions a use needs are core's answers.
import type { MailboxUse, RowStatus } from '../ipc/bindings';
import type { Tone } from '../ui/Badge.svelte';

const STATUSES: Record<RowStatus, { label: string; tone: Tone }> = {
  connected: { label: 'Connected', tone: 'ok' },
  already_added: { label: 'Already added', tone: 'neutral' },
  no_access: { label: 'No access', tone: 'danger' },
  invalid: { label: 'Not an address', tone: 'danger' },
  duplicate: { label: 'Listed twice', tone: 'warn' },
  failed: { label: 'Not checked', tone: 'warn' },
  cancelled: { label: 'Cancelled', tone: 'neutral' },
};

export function statusLabel(status: RowStatus): string {
  return STATUSES[status].label;
}

export function statusTone(status: RowStatus): Tone {
  return STATUSES[status].tone;
}

export const USES: { value: MailboxUse; label: string }[] = [
  { value: 'full', label: 'Read, organise and send mail' },
  { value: 'read', label: 'Read mail' },
  { value: 'send', label: 'Send mail' },
];

/** "3 addresses", "1 address". */
export function addresses(n: number): string {
  return `${n} address${n === 1 ? '' : 'es'}`;
}
