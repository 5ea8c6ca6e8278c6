import type { Registration } from '../ipc/bindings';
import { listRegistrations } from '../ipc/commands';
import type { IpcError } from '../ipc/invoke';
import { Request } from '../ipc/request.svelte';

/** The stored app registrations. A reload keeps the previous list on screen until it lands. */
export class RegistrationsState {
  readonly request = new Request<Registration[]>();

  get list(): Registration[] {
    return this.request.data ?? [];
  }

  set list(list: Registration[]) {
    this.request.data = list;
  }

  /** At least one load has finished (successfully or not). */
  get settled(): boolean {
    return this.request.settled;
  }

  set settled(settled: boolean) {
    this.request.settled = settled;
  }

  get loading(): boolean {
    return this.request.loading;
  }

  get error(): IpcError | null {
    return this.request.error;
  }

  async load(): Promise<void> {
    await this.request.run(listRegistrations);
  }
}

export const registrations = new RegistrationsState();
