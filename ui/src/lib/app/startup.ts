// The first screen's data in one IPC round trip. The window calls `dashboard` once at start; each
// part of the first screen (status bar, Connections page, reminder banner) takes its share of that
// one answer the first time it loads, and calls its own command on every later load.
import { tick } from 'svelte';
import type { Dashboard } from '../ipc/bindings';
import { dashboard } from '../ipc/commands';

/**
 * Connections in the first answer: more than a tall window shows, far fewer than a long list
 * holds. A longer list's rest follows once the first screen is painted (`ConnectionsState`).
 */
export const FIRST_ROWS = 60;

/** The parts of the first screen that take their data from the one call. */
export type Part = 'app' | 'connections' | 'reminders';

export class Startup {
  #first: Promise<Dashboard> | null = null;
  #taken = new Set<Part>();

  /** Starts the one call (once; later calls return the same answer). */
  begin(): Promise<Dashboard> {
    if (!this.#first) {
      // Marks for the benchmark's launch breakdown (performance entries, nothing shown).
      performance.mark('dashboard-asked');
      this.#first = dashboard(FIRST_ROWS);
      this.#first.then(
        () => performance.mark('dashboard-answered'),
        () => performance.mark('dashboard-answered'),
      );
    }
    return this.#first;
  }

  /**
   * The one answer for `part`, the first time it asks while the app is starting; `null` when the
   * app did not start that way (a page mounted on its own, as in tests) or the part had its share.
   */
  take(part: Part): Promise<Dashboard> | null {
    if (!this.#first || this.#taken.has(part)) return null;
    this.#taken.add(part);
    return this.#first;
  }

  /**
   * Once the answer is in the DOM (Svelte has updated it and the browser is about to paint it):
   * `<html data-interactive>` and the performance mark `interactive`, which the end-to-end tests
   * and the benchmark wait for. Also set when the call failed: the first screen then shows why.
   */
  async markInteractive(): Promise<void> {
    try {
      await this.#first;
    } catch {
      // The parts show the error.
    }
    await tick();
    await new Promise<void>((done) => requestAnimationFrame(() => done()));
    document.documentElement.dataset.interactive = '';
    performance.mark('interactive');
  }
}

export const startup = new Startup();
