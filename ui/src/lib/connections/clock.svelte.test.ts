import { flushSync } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Clock, TICK_MARK } from './clock.svelte';

describe('the relative-time clock', () => {
  let hidden = false;
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2025-03-02T10:00:00Z') });
    hidden = false;
    vi.spyOn(document, 'visibilityState', 'get').mockImplementation(() => (hidden ? 'hidden' : 'visible'));
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** Reads the clock in an effect, asking for a tick `every` ms after each read. */
  function reader(clock: Clock, every: number | null) {
    const reads: number[] = [];
    const stop = $effect.root(() => {
      $effect(() => {
        const now = clock.now;
        reads.push(now);
        clock.changesAt(every === null ? null : now + every);
      });
    });
    flushSync();
    return { reads, stop };
  }

  it('ticks when a shown value changes, and not before', () => {
    const clock = new Clock();
    const { reads, stop } = reader(clock, 60_000);
    expect(reads).toHaveLength(1);
    vi.advanceTimersByTime(59_000);
    flushSync();
    expect(reads).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    flushSync();
    expect(reads).toHaveLength(2);
    stop();
  });

  it('marks each tick on the performance timeline, and nothing between ticks', () => {
    const mark = vi.spyOn(performance, 'mark');
    const clock = new Clock();
    const { stop } = reader(clock, 60_000);
    const marks = () => mark.mock.calls.filter(([name]) => name === TICK_MARK).length;
    vi.advanceTimersByTime(59_000);
    flushSync();
    expect(marks()).toBe(0);
    vi.advanceTimersByTime(1_000);
    flushSync();
    expect(marks()).toBe(1);
    vi.advanceTimersByTime(60_000);
    flushSync();
    expect(marks()).toBe(2);
    stop();
  });

  it('gathers changes at many moments into one tick every 30 s at most', () => {
    const clock = new Clock();
    const reads: number[] = [];
    const stop = $effect.root(() => {
      for (let i = 0; i < 50; i++) {
        $effect(() => {
          const now = clock.now;
          reads.push(now);
          // Each reader's value changes at its own second of the minute.
          clock.changesAt(now + 1_000 + i * 1_000);
        });
      }
    });
    flushSync();
    const first = reads.length;
    for (let s = 0; s < 120; s++) {
      vi.advanceTimersByTime(1_000);
      flushSync();
    }
    // At 1 s, then every 30 s: 1, 31, 61, 91 s.
    expect((reads.length - first) / 50).toBe(4);
    stop();
  });

  it('sets no timer when nothing shown will change', () => {
    const clock = new Clock();
    const { reads, stop } = reader(clock, null);
    expect(clock.pending).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(3_600_000);
    flushSync();
    expect(reads).toHaveLength(1);
    stop();
  });

  it('stops while the window is hidden and catches up when it shows again', () => {
    const clock = new Clock();
    const { reads, stop } = reader(clock, 60_000);
    hidden = true;
    document.dispatchEvent(new Event('visibilitychange'));
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(600_000);
    flushSync();
    expect(reads).toHaveLength(1);
    hidden = false;
    document.dispatchEvent(new Event('visibilitychange'));
    flushSync();
    expect(reads).toHaveLength(2);
    expect(clock.pending).not.toBeNull();
    stop();
  });

  it('stops its timer when nothing reads it any more', () => {
    const clock = new Clock();
    const { stop } = reader(clock, 60_000);
    expect(vi.getTimerCount()).toBe(1);
    stop();
    flushSync();
    expect(vi.getTimerCount()).toBe(0);
  });
});
