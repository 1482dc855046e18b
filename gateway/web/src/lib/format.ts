/** How numbers look on screen: sizes in SI units (1 kB = 1000 B), compact durations. */

const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];
export const MISSING = "—";

function isKnown(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

/** 0 B, 999 B, 1.5 kB, 12.3 MB, 456 MB: three significant digits at most. */
export function formatBytes(bytes: number | null | undefined): string {
  if (!isKnown(bytes)) return MISSING;
  let value = bytes;
  let unit = 0;
  while (value >= 999.5 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  const digits = value < 9.995 ? 2 : value < 99.95 ? 1 : 0;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

export function formatSpeed(bytesPerSecond: number | null | undefined): string {
  return isKnown(bytesPerSecond) ? `${formatBytes(bytesPerSecond)}/s` : MISSING;
}

/** Time left: 45 s, 3 min 05 s, 1 h 02 min, 2 d 3 h. */
export function formatEta(seconds: number | null | undefined): string {
  if (!isKnown(seconds)) return MISSING;
  const total = Math.ceil(seconds);
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes} min ${String(total % 60).padStart(2, "0")} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/**
 * How long something took: < 0.1 s, 0.4 s, 9.5 s, 12 s, 3 min 05 s, 1 h 02 min. Tenths only
 * under ten seconds, where they still say something; longer spans read like `formatEta`.
 */
export function formatElapsed(seconds: number | null | undefined): string {
  if (!isKnown(seconds)) return MISSING;
  if (seconds === 0) return "0 s";
  if (seconds < 0.05) return "< 0.1 s";
  if (seconds < 9.95) return `${seconds.toFixed(1)} s`;
  return formatEta(Math.round(seconds));
}

/** A media length as a clock: 0:07, 4:05, 1:02:03. */
export function formatDuration(seconds: number | null | undefined): string {
  if (!isKnown(seconds)) return MISSING;
  const total = Math.round(seconds);
  const clock = [Math.floor((total % 3600) / 60), total % 60].map((n) => String(n).padStart(2, "0"));
  const hours = Math.floor(total / 3600);
  return hours > 0 ? `${hours}:${clock.join(":")}` : `${Number(clock[0])}:${clock[1]}`;
}

/** Whole percent, rounded down, so 100% only shows once the job is really done. */
export function formatPercent(progress: number): string {
  return `${Math.floor(Math.min(100, Math.max(0, progress)))}%`;
}

const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 7],
  ["week", 4.35],
  ["month", 12],
  ["year", Infinity],
];

/** "just now", "5 minutes ago", "yesterday". */
export function formatRelative(iso: string | null, now: number = Date.now()): string {
  if (!iso) return MISSING;
  let value = (Date.parse(iso) - now) / 1000;
  if (Math.abs(value) < 10) return "just now";
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return RELATIVE.format(Math.round(value), unit);
    value /= size;
  }
  return MISSING;
}

const STAMP = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function formatTimestamp(iso: string | null): string {
  return iso ? STAMP.format(new Date(iso)) : MISSING;
}

/** The host of a URL, without "www.", or the URL itself when it does not parse. */
export function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^www\./, "");
  } catch {
    return url;
  }
}
