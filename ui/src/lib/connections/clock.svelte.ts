// "3 minutes ago" must not stand still, and an idle window must not wake for nothing: one shared
// clock for the relative times on the page. What reads `now` says when the value it shows next
// changes (`changesAt`); the clock ticks then (the earliest such moment, at most every 30 s),
// only while something reads it and the window is shown. A window coming back into view ticks at
// once.
import { createSubscriber } from 'svelte/reactivity';

/** The longest a timer is set for (setTimeout takes at most 2^31 - 1 ms). */
const LONGEST_MS = 24 * 3_600_000;
/**
 * Ticks are at least this far apart: a hundred rows whose minutes change at a hundred different
 * seconds make one repaint every 30 s, not a hundred a minute (a shown time is at most 30 s late).
 */
export const MIN_GAP_MS = 30_000;

/** The performance mark set at every tick. */
export const TICK_MARK = 'clock-tick';
const KEPT_MARKS = 100;

export class Clock {
  #ticks = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires (epoch ms), or Infinity when none is set. */
  #at = Infinity;
  #update: (() => void) | null = null;
  #lastTick = Number.NEGATIVE_INFINITY;

  #subscribe = createSubscriber((update) => {
    this.#update = update;
    const visibility = () => {
      if (document.visibilityState === 'hidden') this.#clear();
      else this.#fire();
    };
    document.addEventListener('visibilitychange', visibility);
    return () => {
      document.removeEventListener('visibilitychange', visibility);
      this.#clear();
      this.#update = null;
    };
  });

  /** The time now (epoch ms); what reads it is read again at the next `changesAt`. */
  get now(): number {
    this.#subscribe();
    return Date.now();
  }

  /** Whether a tick is due at some time (tests and diagnostics). */
  get pending(): number | null {
    return this.#at === Infinity ? null : this.#at;
  }

  /**
   * A value read from `now` changes at `at` (epoch ms; null: never): the clock ticks then, or
   * earlier when another reader asked for earlier. Every tick clears the wishes; the readers,
   * read again, make new ones.
   */
  changesAt(wanted: number | null): void {
    if (wanted === null || !this.#update || document.visibilityState === 'hidden') return;
    const at = Math.max(wanted, this.#lastTick + MIN_GAP_MS);
    if (at >= this.#at) return;
    this.#clear();
    this.#at = at;
    const wait = Math.min(LONGEST_MS, Math.max(0, at - Date.now()));
    this.#timer = setTimeout(() => this.#fire(), wait);
  }

  #fire(): void {
    this.#clear();
    this.#lastTick = Date.now();
    if (this.#update) {
      // A mark per tick, so a measurement of the idle window can tell this scheduled repaint
      // from the rest; the last few are kept.
      if (++this.#ticks % KEPT_MARKS === 0) performance.clearMarks(TICK_MARK);
      performance.mark(TICK_MARK);
    }
    this.#update?.();
  }

  #clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Infinity;
  }
}

export const clock = new Clock();
