import { autostartEnabled, setAutostart } from '../ipc/commands';
import { Request } from '../ipc/request.svelte';

/** Whether the app starts in the tray at login, as the system reports it. */
export class AutostartState {
  /** Reading the current setting. */
  readonly current = new Request<boolean>();
  /** Changing it. */
  readonly change = new Request<boolean>();

  /** Known once read; the latest answer of either call. */
  enabled = $state<boolean | null>(null);

  readonly busy = $derived(this.change.loading);
  /** The latest failure: of the change once one was tried, else of reading the setting. */
  readonly error = $derived(this.change.status === 'idle' ? this.current.error : this.change.error);

  async load(): Promise<void> {
    const enabled = await this.current.run(autostartEnabled);
    if (enabled !== undefined) this.enabled = enabled;
  }

  async set(wanted: boolean): Promise<void> {
    const enabled = await this.change.run(() => setAutostart(wanted));
    if (enabled !== undefined) this.enabled = enabled;
  }
}
