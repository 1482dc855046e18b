/**
 * The arithmetic of a list that draws only the rows in view: a collection can hold a thousand
 * children, each updated live, and drawing every one of them on each update is what makes a
 * long list stutter. Rows have one fixed height, so the window follows from the scroll offset.
 */

export interface RowWindow {
  /** The first row drawn. */
  start: number;
  /** One past the last row drawn. */
  end: number;
}

/** The rows in view plus `overscan` on each side, so a quick scroll shows no gap. */
export function rowWindow(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 4): RowWindow {
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const visible = Math.ceil(Math.max(0, viewport) / rowHeight) + 1;
  const start = Math.max(0, Math.min(first, count - 1) - overscan);
  const end = Math.min(count, first + visible + overscan);
  return { start, end };
}

/** Fetch the next page once the window comes within `ahead` rows of the last one loaded. */
export function wantsNextPage(window: RowWindow, loaded: number, hasMore: boolean, ahead = 20): boolean {
  return hasMore && window.end + ahead >= loaded;
}
