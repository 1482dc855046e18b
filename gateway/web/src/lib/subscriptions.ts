/** How a subscription's schedule reads. */

/** The check intervals offered; the server's floor (HAUL_SUBSCRIPTION_MIN_INTERVAL) is 15 minutes by default. */
export const INTERVALS: readonly { seconds: number; label: string; words: string }[] = [
  { seconds: 900, label: "15 minutes", words: "15 minutes" },
  { seconds: 1800, label: "30 minutes", words: "30 minutes" },
  { seconds: 3600, label: "1 hour", words: "hour" },
  { seconds: 6 * 3600, label: "6 hours", words: "6 hours" },
  { seconds: 12 * 3600, label: "12 hours", words: "12 hours" },
  { seconds: 86_400, label: "1 day", words: "day" },
];

export const DEFAULT_INTERVAL = 3600;

/** "every hour", "every 6 hours", "every 90 s": a preset's words, or the plainest unit that divides it. */
export function intervalText(seconds: number): string {
  const preset = INTERVALS.find((i) => i.seconds === seconds);
  if (preset) return `every ${preset.words}`;
  if (seconds % 86_400 === 0) return `every ${seconds / 86_400} days`;
  if (seconds % 3600 === 0) return `every ${seconds / 3600} hours`;
  if (seconds % 60 === 0) return `every ${seconds / 60} minutes`;
  return `every ${seconds} s`;
}

/**
 * When the next check happens, in words: a paused subscription is never checked, and a due time
 * in the past means the check is about to run (the server claims due rows every few seconds).
 */
export function nextCheckText(enabled: boolean, nextCheckAt: string | null, now: number, relative: (iso: string) => string): string {
  if (!enabled) return "paused";
  if (!nextCheckAt) return "soon";
  return Date.parse(nextCheckAt) <= now ? "due now" : relative(nextCheckAt);
}
