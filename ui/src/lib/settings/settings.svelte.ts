import type { Folder, SettingInfo, SettingKey } from '../ipc/bindings';
import { theme } from '../app/theme.svelte';
import { listSettings, openFolder, resetSetting, setSetting } from '../ipc/commands';
import { type IpcError, toIpcError } from '../ipc/invoke';
import { Request } from '../ipc/request.svelte';

/**
 * The app's settings as core reports them (value, source, range), and saving or resetting one.
 * Core checks every value; its error (message and fix) is kept per setting for the form.
 */
export class SettingsState {
  readonly current = new Request<SettingInfo[]>();
  list = $state<SettingInfo[]>([]);
  /** The last refusal per setting; cleared when it saves. */
  errors = $state<Partial<Record<SettingKey, IpcError>>>({});
  /** Settings being saved now. */
  busy = $state<Partial<Record<SettingKey, boolean>>>({});
  /** The setting saved last, for a short "Saved" note. */
  savedKey = $state<SettingKey | null>(null);

  get(key: SettingKey): SettingInfo | undefined {
    // The appearance may have changed from the nav rail's switch since the list was read.
    if (key === 'theme' && theme.info) return theme.info;
    return this.list.find((s) => s.key === key);
  }

  async load(): Promise<void> {
    const list = await this.current.run(listSettings);
    if (list) {
      this.list = list;
      for (const info of list) theme.adoptSetting(info);
    }
  }

  /** Saves `value` (as core writes it: `10m`, `14d`, `30,14,7`, `on`, `debug`). */
  async save(key: SettingKey, value: string): Promise<boolean> {
    return this.#change(key, () => setSetting(key, value));
  }

  async reset(key: SettingKey): Promise<boolean> {
    return this.#change(key, () => resetSetting(key));
  }

  async #change(key: SettingKey, call: () => Promise<SettingInfo>): Promise<boolean> {
    this.busy = { ...this.busy, [key]: true };
    this.savedKey = null;
    try {
      const info = await call();
      this.list = this.list.map((s) => (s.key === key ? info : s));
      theme.adoptSetting(info);
      this.errors = { ...this.errors, [key]: undefined };
      this.savedKey = key;
      return true;
    } catch (raw) {
      this.errors = { ...this.errors, [key]: toIpcError(raw) };
      return false;
    } finally {
      this.busy = { ...this.busy, [key]: false };
    }
  }
}

/** Opens the app's own data or log folder (core knows where they are; nothing else opens). */
export class FolderOpener {
  readonly request = new Request<void>();

  async open(folder: Folder): Promise<void> {
    await this.request.run(() => openFolder(folder));
  }
}

const MINUTE = 60;
const DAY = 86_400;

/** The unit a time setting is edited in: days when its shortest value is a day or more. */
export function unitOf(info: SettingInfo): { seconds: number; suffix: string; label: string } {
  const low = info.range?.[0] ?? 0;
  return low >= DAY
    ? { seconds: DAY, suffix: 'd', label: 'days' }
    : { seconds: MINUTE, suffix: 'm', label: 'minutes' };
}

/** A time setting's value in its unit (at most two decimals, e.g. 90 s is 1.5 minutes). */
export function inUnit(info: SettingInfo): string {
  if (info.value.kind !== 'duration') return '';
  const n = info.value.seconds / unitOf(info).seconds;
  return String(Math.round(n * 100) / 100);
}

/** What to send for a number typed in a time setting's unit; text that is not one goes as is. */
export function durationText(info: SettingInfo, typed: string): string {
  const t = typed.trim();
  return /^\d+$/.test(t) ? `${t}${unitOf(info).suffix}` : t;
}
