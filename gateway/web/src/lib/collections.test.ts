import { describe, expect, it } from "vitest";
import type { CollectionSummary } from "../api/types";
import { cappedText, countsText, zipAvailable } from "./collections";

function summary(overrides: Partial<CollectionSummary> = {}): CollectionSummary {
  return {
    title: "Podcast",
    total: 12,
    queued: 6,
    running: 2,
    paused: 0,
    completed: 3,
    failed: 1,
    cancelled: 0,
    skipped: 4,
    listed: 16,
    truncated: false,
    ...overrides,
  };
}

describe("countsText", () => {
  it("says how many of the total completed, then the other counts that are not 0", () => {
    expect(countsText(summary())).toBe("3 of 12 completed · 1 failed · 2 running · 6 queued · 4 skipped");
  });

  it("says only the completed share when everything is done", () => {
    expect(countsText(summary({ queued: 0, running: 0, failed: 0, skipped: 0, completed: 12 }))).toBe(
      "12 of 12 completed",
    );
  });

  it("groups thousands", () => {
    expect(countsText(summary({ total: 1000, completed: 1000, queued: 0, running: 0, failed: 0, skipped: 0 }))).toBe(
      "1,000 of 1,000 completed",
    );
  });
});

describe("cappedText", () => {
  it("says how many entries were taken of those listed when the cap cut some", () => {
    expect(cappedText(summary({ total: 500, skipped: 0, listed: 1000, truncated: true }))).toBe(
      "500 of 1,000 listed, capped",
    );
  });

  it("says nothing when nothing was cut", () => {
    expect(cappedText(summary())).toBeNull();
  });
});

describe("zipAvailable", () => {
  it("offers the ZIP once one child completed", () => {
    expect(zipAvailable(summary({ completed: 0 }))).toBe(false);
    expect(zipAvailable(summary({ completed: 1 }))).toBe(true);
  });
});
