// Light or dark. The choice is a setting in core (`theme`: system, light or dark, also `mailconn
// settings set theme dark`); the window applies it as `<html data-theme="light|dark">`, which the
// design tokens in app.css follow. "System" follows the desktop's light or dark preference as the
// web view reports it, also when it changes while the app runs. The last choice is cached in the
// web view's storage so the very first paint already has the right colours; the first screen's
// one call then says what core has saved (a change made with the CLI wins).
import type { SettingInfo, Theme } from '../ipc/bindings';
import { setSetting } from '../ipc/commands';
import { toIpcError, type IpcError } from '../ipc/invoke';

export const THEMES: { value: Theme; label: string }[] = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

const CACHE_KEY = 'mailconn.theme';
const DARK_QUERY = '(prefers-color-scheme: dark)';

export function isTheme(value: unknown): value is Theme {
  return value === 'system' || value === 'light' || value === 'dark';
}

/** What a preference shows, given whether the desktop prefers dark. */
export function effectiveTheme(preference: Theme, systemDark: boolean): 'light' | 'dark' {
  if (preference === 'system') return systemDark ? 'dark' : 'light';
  return preference;
}

export class ThemeState {
  preference = $state<Theme>('system');
  /** The setting as core last reported it (source, default), for the Settings page. */
  info = $state<SettingInfo | null>(null);
  systemDark = $state(false);
  error = $state<IpcError | null>(null);
  saving = $state(false);
  #media: MediaQueryList | null = null;

  get effective(): 'light' | 'dark' {
    return effectiveTheme(this.preference, this.systemDark);
  }

  /** At start, before the first paint: the cached choice and the desktop's preference. */
  init(): void {
    this.#media = typeof matchMedia === 'function' ? matchMedia(DARK_QUERY) : null;
    this.systemDark = this.#media?.matches ?? false;
    this.#media?.addEventListener('change', (e) => {
      this.systemDark = e.matches;
      this.#apply();
    });
    const cached = readCache();
    if (cached) this.preference = cached;
    this.#apply();
  }

  /** What core has saved (the first screen's call, or the Settings page's answer). */
  adopt(theme: Theme): void {
    this.preference = theme;
    writeCache(theme);
    this.#apply();
  }

  /** From the Settings page's list or a saved setting's answer. */
  adoptSetting(info: SettingInfo): void {
    if (info.key !== 'theme' || info.value.kind !== 'theme') return;
    this.info = info;
    this.adopt(info.value.theme);
  }

  /** The person's choice: applied at once, then saved; a refusal puts the previous one back. */
  async choose(theme: Theme): Promise<boolean> {
    const before = this.preference;
    this.error = null;
    this.adopt(theme);
    this.saving = true;
    try {
      this.adoptSetting(await setSetting('theme', theme));
      return true;
    } catch (raw) {
      this.error = toIpcError(raw);
      this.adopt(before);
      return false;
    } finally {
      this.saving = false;
    }
  }

  #apply(): void {
    if (typeof document === 'undefined') return;
    const root = document.documentElement;
    root.dataset.theme = this.effective;
    root.dataset.themePreference = this.preference;
  }
}

function readCache(): Theme | null {
  try {
    const value = localStorage.getItem(CACHE_KEY);
    return isTheme(value) ? value : null;
  } catch {
    return null;
  }
}

function writeCache(theme: Theme): void {
  try {
    localStorage.setItem(CACHE_KEY, theme);
  } catch {
    // No storage: the first paint is light until the first call answers.
  }
}

export const theme = new ThemeState();
