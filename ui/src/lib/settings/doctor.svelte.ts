import type { DoctorReport } from '../ipc/bindings';
import { runDoctor } from '../ipc/commands';
import { type IpcError, toIpcError } from '../ipc/invoke';

/** The latest health report. A re-run keeps the previous report on screen until the new one lands. */
export class DoctorState {
  report = $state<DoctorReport | null>(null);
  loading = $state(false);
  error = $state<IpcError | null>(null);

  async run(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.report = await runDoctor();
    } catch (raw) {
      this.error = toIpcError(raw);
    } finally {
      this.loading = false;
    }
  }
}

export const doctor = new DoctorState();
