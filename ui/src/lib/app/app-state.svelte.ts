import type { AppInfo } from '../ipc/bindings';
import { appInfo } from '../ipc/commands';
import type { IpcError } from '../ipc/invoke';
import { Request } from '../ipc/request.svelte';
import { startup } from './startup';

/** What the whole window needs to know about this installation: version, data directory, keychain. */
export class AppState {
  // Starts loading: nothing is known until the first load() finishes.
  readonly request = new Request<AppInfo>({ loading: true });
  /** Version and data directory from the first screen's one call, before the keychain check. */
  basics = $state<{ version: string; data_dir: string } | null>(null);

  get info(): AppInfo | null {
    return this.request.data;
  }

  get version(): string | null {
    return this.info?.version ?? this.basics?.version ?? null;
  }

  get dataDir(): string | null {
    return this.info?.data_dir ?? this.basics?.data_dir ?? null;
  }

  get loading(): boolean {
    return this.request.loading;
  }

  get error(): IpcError | null {
    return this.request.error;
  }

  /** At start: version and data directory from the first screen's one call. */
  async start(): Promise<void> {
    const first = startup.take('app');
    if (!first) return;
    try {
      const { version, data_dir } = await first;
      this.basics = { version, data_dir };
    } catch {
      // The keychain check (load) reports what is wrong.
    }
  }

  /** The keychain check (a write and a read of a test entry: the slow part) with the rest. */
  async load(): Promise<void> {
    await this.request.run(appInfo);
  }
}

export const appState = new AppState();
