// Client-secret reminders as core computes them (thresholds, expired, refused), kept current by
// the background scheduler's updates. The banner, the registration badges and the rotation
// wizard read this one instance.
import type { Reminder } from '../ipc/bindings';
import { listReminders, watchReminders } from '../ipc/commands';
import { Request } from '../ipc/request.svelte';
import { startup } from '../app/startup';

export class RemindersState {
  readonly request = new Request<Reminder[]>();
  #watching = false;

  get list(): Reminder[] {
    return this.request.data ?? [];
  }

  set list(list: Reminder[]) {
    this.request.resolve(list);
  }

  /**
   * Loads the list; a failure leaves it as it was (the banner is a hint, not a page: the keychain
   * or database problem is reported by the status bar).
   */
  async load(): Promise<void> {
    const first = startup.take('reminders');
    const start = first ? await first.catch(() => null) : null;
    await this.request.run(start ? async () => start.reminders : listReminders);
  }

  /** Subscribes once to the scheduler's updates; each one is the newest answer. */
  async watch(): Promise<void> {
    if (this.#watching) return;
    this.#watching = true;
    try {
      await watchReminders((list) => {
        this.request.begin();
        this.request.resolve(list);
      });
    } catch {
      this.#watching = false;
    }
  }

  forRegistration(id: string): Reminder | undefined {
    return this.list.find((r) => r.registration_id === id);
  }
}

export const reminders = new RemindersState();

/** The badge tone: red once expired, refused or within a week; amber before. */
export function reminderTone(r: Reminder): 'danger' | 'warn' {
  return r.kind !== 'expiring' || (r.days_left ?? 0) <= 7 ? 'danger' : 'warn';
}

/** Short text for a badge. */
export function reminderBadge(r: Reminder): string {
  if (r.kind === 'rejected') return 'Secret refused';
  if (r.kind === 'expired') return 'Secret expired';
  const d = r.days_left ?? 0;
  if (d === 0) return 'Secret expires today';
  return d === 1 ? 'Secret expires tomorrow' : `Secret expires in ${d} days`;
}

/** One sentence for the banner. */
export function reminderText(r: Reminder): string {
  const name = `“${r.registration_name}”`;
  const hint = r.secret_hint ? ` (starts “${r.secret_hint}”)` : '';
  const n = r.connections;
  const who = n === 1 ? '1 connection' : `${n} connections`;
  if (r.kind === 'rejected')
    return `Microsoft refuses the client secret${hint} of ${name}: ${r.connections_broken} of ${who} cannot refresh.`;
  if (r.kind === 'expired') return `The client secret${hint} of ${name} expired on ${r.expires}.`;
  const when = r.days_left === 1 ? 'tomorrow' : r.days_left === 0 ? 'today' : `in ${r.days_left} days`;
  return `The client secret${hint} of ${name} expires ${when} (${r.expires}); ${who} depend${n === 1 ? 's' : ''} on it.`;
}
