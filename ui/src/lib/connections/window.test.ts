import { describe, expect, it } from 'vitest';
import { OVERSCAN, ROW_HEIGHT, visibleRange } from './window';

describe('windowed connection list', () => {
  it('renders the rows in view plus a margin', () => {
    expect(visibleRange(0, 10 * ROW_HEIGHT, 1000)).toEqual({ start: 0, end: 10 + OVERSCAN });
    const mid = visibleRange(500 * ROW_HEIGHT, 4 * ROW_HEIGHT, 1000);
    expect(mid).toEqual({ start: 500 - OVERSCAN, end: 504 + OVERSCAN });
  });

  it('stays inside the list above it, below it and at its end', () => {
    expect(visibleRange(-2000, 800, 1000)).toEqual({ start: 0, end: 0 + OVERSCAN });
    expect(visibleRange(999 * ROW_HEIGHT, 2000, 1000)).toEqual({ start: 999 - OVERSCAN, end: 1000 });
    expect(visibleRange(5000 * ROW_HEIGHT, 800, 1000)).toEqual({ start: 1000, end: 1000 });
  });

  it('renders no margin when asked for none (the first frame)', () => {
    expect(visibleRange(0, 4 * ROW_HEIGHT, 1000, 0)).toEqual({ start: 0, end: 4 });
    expect(visibleRange(10 * ROW_HEIGHT, 2.5 * ROW_HEIGHT, 1000, 0)).toEqual({ start: 10, end: 13 });
  });
});
