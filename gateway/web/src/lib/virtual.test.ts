import { describe, expect, it } from "vitest";
import { rowWindow, wantsNextPage } from "./virtual";

describe("rowWindow", () => {
  it("draws the rows in view and a few either side", () => {
    // 40 px rows, a 200 px viewport scrolled to row 50: rows 50-55 show, 4 more each side.
    expect(rowWindow(2000, 200, 40, 1000, 4)).toEqual({ start: 46, end: 60 });
  });

  it("starts at the top and stops at the last row", () => {
    expect(rowWindow(0, 200, 40, 1000, 4)).toEqual({ start: 0, end: 10 });
    expect(rowWindow(39_800, 200, 40, 1000, 4)).toEqual({ start: 991, end: 1000 });
  });

  it("draws a short list whole and an empty one not at all", () => {
    expect(rowWindow(0, 400, 40, 3)).toEqual({ start: 0, end: 3 });
    expect(rowWindow(0, 400, 40, 0)).toEqual({ start: 0, end: 0 });
  });

  it("never draws more than a viewport's worth whatever the list's length", () => {
    const { start, end } = rowWindow(123_456, 320, 40, 1_000_000, 4);
    expect(end - start).toBeLessThanOrEqual(320 / 40 + 1 + 8);
  });

  it("survives a scroll offset past the end (the list shrank under it)", () => {
    const { start, end } = rowWindow(100_000, 200, 40, 10, 2);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBe(10);
    expect(start).toBeLessThan(end);
  });
});

describe("wantsNextPage", () => {
  it("asks for the next page near the end of what is loaded, and only when there is one", () => {
    expect(wantsNextPage({ start: 0, end: 10 }, 100, true)).toBe(false);
    expect(wantsNextPage({ start: 70, end: 85 }, 100, true)).toBe(true);
    expect(wantsNextPage({ start: 70, end: 85 }, 100, false)).toBe(false);
  });
});
