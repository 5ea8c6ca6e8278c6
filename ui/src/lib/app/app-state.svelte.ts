import type { AppInfo } from '../ipc/bindings';
import { appInfo } from '../ipc/commands';
import { type IpcError, toIpcError } from '../ipc/invoke';

/** What the whole window needs to know about this installation: version, data directory, keychain. */
export class AppState {
  info = $state<AppInfo | null>(null);
  // Starts true: nothing is known until the first load() finishes.
  loading = $state(true);
  error = $state<IpcError | null>(null);

  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.info = await appInfo();
    } catch (raw) {
      this.error = toIpcError(raw);
    } finally {
      this.loading = false;
    }
  }
}

export const appState = new AppState();
