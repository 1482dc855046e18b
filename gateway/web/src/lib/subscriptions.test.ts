import { describe, expect, it } from "vitest";
import { intervalText, nextCheckText } from "./subscriptions";

describe("intervalText", () => {
  it("reads the presets in words", () => {
    expect(intervalText(3600)).toBe("every hour");
    expect(intervalText(900)).toBe("every 15 minutes");
    expect(intervalText(86_400)).toBe("every day");
  });

  it("reads any other interval in the plainest unit that divides it", () => {
    expect(intervalText(2 * 86_400)).toBe("every 2 days");
    expect(intervalText(7200)).toBe("every 2 hours");
    expect(intervalText(120)).toBe("every 2 minutes");
    expect(intervalText(2)).toBe("every 2 s");
  });
});

describe("nextCheckText", () => {
  const relative = (iso: string) => `at ${iso}`;
  const now = Date.UTC(2025, 0, 31, 12);

  it("says paused for a paused subscription whatever its due time", () => {
    expect(nextCheckText(false, new Date(now + 60_000).toISOString(), now, relative)).toBe("paused");
  });

  it("says when the next check is, or that it is due", () => {
    const later = new Date(now + 60_000).toISOString();
    expect(nextCheckText(true, later, now, relative)).toBe(`at ${later}`);
    expect(nextCheckText(true, new Date(now - 1000).toISOString(), now, relative)).toBe("due now");
    expect(nextCheckText(true, null, now, relative)).toBe("soon");
  });
});
