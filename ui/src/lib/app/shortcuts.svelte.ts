// Keyboard shortcuts: one table, used both to handle a key and to list the shortcuts in the app,
// so the list cannot drift from what the keys do. Ctrl on Linux and Windows, ⌘ on macOS.
import { nav, type Page } from '../nav/nav.svelte';

/** What a shortcut asks a page to do (the Connections page takes these). */
export type PageAction = 'connect' | 'search' | 'refresh-all';

export type Shortcut =
  | { kind: 'page-action'; action: PageAction }
  | { kind: 'go'; page: Page }
  | { kind: 'help' };

export interface ShortcutInfo {
  /** The keys as shown, with `Mod` for Ctrl or ⌘. */
  keys: string[];
  label: string;
  shortcut: Shortcut;
}

export const SHORTCUTS: ShortcutInfo[] = [
  { keys: ['Mod+N'], label: 'Connect a mailbox', shortcut: { kind: 'page-action', action: 'connect' } },
  { keys: ['Mod+F', '/'], label: 'Search connections', shortcut: { kind: 'page-action', action: 'search' } },
  { keys: ['Mod+R', 'F5'], label: 'Refresh all connections', shortcut: { kind: 'page-action', action: 'refresh-all' } },
  { keys: ['Mod+1'], label: 'Go to Connections', shortcut: { kind: 'go', page: 'connections' } },
  { keys: ['Mod+2'], label: 'Go to Apps', shortcut: { kind: 'go', page: 'apps' } },
  { keys: ['Mod+3'], label: 'Go to Bridge', shortcut: { kind: 'go', page: 'bridge' } },
  { keys: ['Mod+4'], label: 'Go to Settings', shortcut: { kind: 'go', page: 'settings' } },
  { keys: ['?', 'Mod+/'], label: 'Show keyboard shortcuts', shortcut: { kind: 'help' } },
];

export function isMac(): boolean {
  return typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform ?? '');
}

/** `Mod+N` as this platform writes it. */
export function keyLabel(keys: string, mac = isMac()): string {
  return keys.replace('Mod+', mac ? '⌘' : 'Ctrl+');
}

/** Whether the key went to a field the person is typing in (then single keys are text). */
function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(type);
}

function matches(keys: string, event: KeyboardEvent, mac: boolean): boolean {
  const withMod = keys.startsWith('Mod+');
  const key = withMod ? keys.slice(4) : keys;
  const mod = mac ? event.metaKey : event.ctrlKey;
  const other = mac ? event.ctrlKey : event.metaKey;
  if (event.altKey || other) return false;
  if (withMod !== mod) return false;
  if (!withMod && typing(event.target)) return false;
  const pressed = event.key.length === 1 ? event.key.toUpperCase() : event.key;
  // Shift belongs to the key for `?`; otherwise a shortcut is without it.
  if (key !== '?' && event.shiftKey) return false;
  return pressed === key.toUpperCase();
}

/** The shortcut a key press means, if any. */
export function shortcutFor(event: KeyboardEvent, mac = isMac()): Shortcut | null {
  for (const info of SHORTCUTS) {
    if (info.keys.some((k) => matches(k, event, mac))) return info.shortcut;
  }
  return null;
}

/** The request a page has not taken yet, and whether the list of shortcuts is open. */
export class Shortcuts {
  pending = $state<PageAction | null>(null);
  helpOpen = $state(false);

  /** The window's keydown: acts on a shortcut and keeps the web view's own (reload) from running. */
  handle(event: KeyboardEvent): void {
    if (event.defaultPrevented || event.repeat) return;
    const shortcut = shortcutFor(event);
    if (!shortcut) return;
    event.preventDefault();
    // An open dialog keeps the keyboard: nothing behind it changes under the person.
    if (document.querySelector('[aria-modal="true"]')) return;
    this.run(shortcut);
  }

  run(shortcut: Shortcut): void {
    if (shortcut.kind === 'help') {
      this.helpOpen = true;
    } else if (shortcut.kind === 'go') {
      this.helpOpen = false;
      nav.go(shortcut.page);
    } else {
      this.helpOpen = false;
      nav.go('connections');
      this.pending = shortcut.action;
    }
  }

  /** The Connections page takes the waiting request once it is on screen. */
  take(): PageAction | null {
    const action = this.pending;
    this.pending = null;
    return action;
  }
}

export const shortcuts = new Shortcuts();
