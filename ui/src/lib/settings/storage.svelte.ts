import type { StorageMode, StorageStatus, StorageSwitch } from '../ipc/bindings';
import { setStorageMode, storageMode } from '../ipc/commands';
import { Request } from '../ipc/request.svelte';

/** Where refresh tokens are kept, and switching it (every token moves; none crosses IPC). */
export class StorageState {
  readonly current = new Request<StorageStatus>();
  readonly change = new Request<StorageSwitch>();

  status = $state<StorageStatus | null>(null);
  /** The mode the user asked to switch to, waiting for confirmation. */
  confirming = $state<StorageMode | null>(null);
  /** The last finished switch. */
  result = $state<StorageSwitch | null>(null);

  readonly busy = $derived(this.change.loading);
  readonly error = $derived(this.change.status === 'idle' ? this.current.error : this.change.error);

  async load(): Promise<void> {
    const status = await this.current.run(storageMode);
    if (status !== undefined) this.status = status;
  }

  ask(mode: StorageMode): void {
    this.result = null;
    this.confirming = mode;
  }

  cancel(): void {
    this.confirming = null;
  }

  async confirm(): Promise<void> {
    const mode = this.confirming;
    if (mode === null) return;
    const done = await this.change.run(() => setStorageMode(mode));
    this.confirming = null;
    if (done !== undefined) this.result = done;
    await this.load();
  }
}
