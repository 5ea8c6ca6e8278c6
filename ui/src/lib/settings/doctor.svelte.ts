import type { DoctorReport } from '../ipc/bindings';
import { runDoctor } from '../ipc/commands';
import type { IpcError } from '../ipc/invoke';
import { Request } from '../ipc/request.svelte';

/** The latest health report. A re-run keeps the previous report on screen until the new one lands. */
export class DoctorState {
  readonly request = new Request<DoctorReport>();

  get report(): DoctorReport | null {
    return this.request.data;
  }

  get loading(): boolean {
    return this.request.loading;
  }

  get error(): IpcError | null {
    return this.request.error;
  }

  async run(): Promise<void> {
    await this.request.run(runDoctor);
  }
}

export const doctor = new DoctorState();
