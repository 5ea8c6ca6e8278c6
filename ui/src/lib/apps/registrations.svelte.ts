import type { Registration } from '../ipc/bindings';
import { listRegistrations } from '../ipc/commands';
import { type IpcError, toIpcError } from '../ipc/invoke';

/** The stored app registrations. A reload keeps the previous list on screen until it lands. */
export class RegistrationsState {
  list = $state<Registration[]>([]);
  /** At least one load has finished (successfully or not). */
  settled = $state(false);
  loading = $state(false);
  error = $state<IpcError | null>(null);

  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.list = await listRegistrations();
    } catch (raw) {
      this.error = toIpcError(raw);
    } finally {
      this.loading = false;
      this.settled = true;
    }
  }
}

export const registrations = new RegistrationsState();
