import { describe, expect, it } from "vitest";
import {
  formatBytes,
  formatDuration,
  formatElapsed,
  formatEta,
  formatPercent,
  formatRelative,
  formatSpeed,
  hostOf,
} from "./format";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [999, "999 B"],
    [1000, "1.00 kB"],
    [1536, "1.54 kB"],
    [12_345_678, "12.3 MB"],
    [456_000_000, "456 MB"],
    [999_600, "1.00 MB"],
    [2 ** 50, "1.13 PB"],
  ])("%d bytes reads as %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it("shows a dash when the size is unknown or nonsense", () => {
    for (const value of [null, undefined, -1, Number.NaN, Infinity]) {
      expect(formatBytes(value)).toBe("—");
    }
  });
});

describe("formatSpeed", () => {
  it("adds per second to a size", () => {
    expect(formatSpeed(2_100_000)).toBe("2.10 MB/s");
    expect(formatSpeed(0)).toBe("0 B/s");
  });

  it("shows a dash while the speed is unknown", () => {
    expect(formatSpeed(null)).toBe("—");
  });
});

describe("formatEta", () => {
  it.each([
    [0, "0 s"],
    [0.2, "1 s"],
    [45, "45 s"],
    [185, "3 min 05 s"],
    [3720, "1 h 02 min"],
    [2 * 86400 + 3 * 3600 + 59, "2 d 3 h"],
  ])("%d seconds reads as %s", (seconds, text) => {
    expect(formatEta(seconds)).toBe(text);
  });

  it("shows a dash when there is no estimate", () => {
    expect(formatEta(null)).toBe("—");
    expect(formatEta(Infinity)).toBe("—");
  });
});

describe("formatElapsed", () => {
  it.each([
    [0, "0 s"],
    [0.004, "< 0.1 s"],
    [0.05, "0.1 s"],
    [0.42, "0.4 s"],
    [9.94, "9.9 s"],
    [9.95, "10 s"],
    [12.4, "12 s"],
    [59.5, "1 min 00 s"],
    [185.2, "3 min 05 s"],
    [3720, "1 h 02 min"],
  ])("%s seconds reads as %s", (seconds, text) => {
    expect(formatElapsed(seconds)).toBe(text);
  });

  it("shows a dash when nothing was timed", () => {
    expect(formatElapsed(null)).toBe("—");
    expect(formatElapsed(-1)).toBe("—");
  });
});

describe("formatDuration", () => {
  it("reads like a clock", () => {
    expect(formatDuration(7)).toBe("0:07");
    expect(formatDuration(245)).toBe("4:05");
    expect(formatDuration(3723)).toBe("1:02:03");
    expect(formatDuration(null)).toBe("—");
  });
});

describe("formatPercent", () => {
  it("rounds down and stays within 0-100", () => {
    expect(formatPercent(99.99)).toBe("99%");
    expect(formatPercent(100)).toBe("100%");
    expect(formatPercent(-3)).toBe("0%");
    expect(formatPercent(140)).toBe("100%");
  });
});

describe("formatRelative", () => {
  const now = Date.parse("2025-01-31T12:00:00.000Z");

  it("says just now for the last few seconds", () => {
    expect(formatRelative("2025-01-31T11:59:55.000Z", now)).toBe("just now");
  });

  it("picks the largest fitting unit", () => {
    expect(formatRelative("2025-01-31T11:55:00.000Z", now)).toMatch(/5 minutes ago/);
    expect(formatRelative("2025-01-31T09:00:00.000Z", now)).toMatch(/3 hours ago/);
  });
});

describe("hostOf", () => {
  it("drops www and keeps anything unparseable as it is", () => {
    expect(hostOf("https://www.example.com/watch?v=1")).toBe("example.com");
    expect(hostOf("not a url")).toBe("not a url");
  });
});
