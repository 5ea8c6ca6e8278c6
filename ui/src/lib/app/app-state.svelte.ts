import type { AppInfo } from '../ipc/bindings';
import { appInfo } from '../ipc/commands';
import type { IpcError } from '../ipc/invoke';
import { Request } from '../ipc/request.svelte';

/** What the whole window needs to know about this installation: version, data directory, keychain. */
export class AppState {
  // Starts loading: nothing is known until the first load() finishes.
  readonly request = new Request<AppInfo>({ loading: true });

  get info(): AppInfo | null {
    return this.request.data;
  }

  get loading(): boolean {
    return this.request.loading;
  }

  get error(): IpcError | null {
    return this.request.error;
  }

  async load(): Promise<void> {
    await this.request.run(appInfo);
  }
}

export const appState = new AppState();
