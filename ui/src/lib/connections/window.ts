// Windowing for long connection lists: which rows to render for the part of the list in view.

/** Lists this long render only the rows in view. */
export const VIRTUAL_FROM = 150;
/** Every row's height in a windowed list (px), its border included. */
export const ROW_HEIGHT = 172;
/** Rows rendered above and below the view, so fast scrolling does not show blank space. */
export const OVERSCAN = 6;

/**
 * Rows [start, end) to render when `top`..`top + height` (px from the list's top) is in view,
 * with `overscan` rows above and below (the first frame needs none: nothing scrolls yet).
 */
export function visibleRange(
  top: number,
  height: number,
  count: number,
  overscan = OVERSCAN,
): { start: number; end: number } {
  const first = Math.floor(Math.max(0, top) / ROW_HEIGHT);
  const last = Math.ceil(Math.max(0, top + height) / ROW_HEIGHT);
  return {
    start: Math.max(0, Math.min(count, first - overscan)),
    end: Math.max(0, Math.min(count, last + overscan)),
  };
}
