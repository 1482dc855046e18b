import type { DailyStats, Stats } from "../api/types";
import { STATS_DAYS } from "../feed/useDailyStats";
import { formatBytes, formatElapsed } from "../lib/format";

// The days are UTC days, as jobstore counts them.
const DAY = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" });
// A day with a few completions next to a busy one still shows a bar.
const MIN_BAR_PERCENT = 12;

function dayLabel(day: string): string {
  const parsed = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(parsed) ? day : DAY.format(parsed);
}

function count(value: number): string {
  return value.toLocaleString();
}

/** Completed jobs per day, oldest first: a glance at the week, each bar named for screen readers. */
function DayBars({ days }: { days: DailyStats[] }) {
  const most = Math.max(0, ...days.map((d) => d.completed));
  return (
    <ol aria-label="Completed per day" className="flex h-7 shrink-0 items-stretch gap-1">
      {days.map((d) => {
        const text = `${dayLabel(d.day)}: ${count(d.completed)} completed`;
        const height = d.completed > 0 ? Math.max(MIN_BAR_PERCENT, (d.completed / most) * 100) : 0;
        return (
          <li
            key={d.day}
            title={text}
            className="flex w-2 items-end overflow-hidden rounded-sm bg-zinc-100 dark:bg-zinc-800"
          >
            <span className="sr-only">{text}</span>
            {height > 0 && (
              <span aria-hidden="true" style={{ height: `${height}%` }} className="w-full bg-indigo-500 dark:bg-indigo-400" />
            )}
          </li>
        );
      })}
    </ol>
  );
}

interface FigureProps {
  name: string;
  label: string;
  /** What a screen reader says instead of a terse label. */
  spoken?: string;
  value: string;
  dot?: string;
}

function Figure({ name, label, spoken, value, dot }: FigureProps) {
  return (
    <div data-figure={name} className="flex min-w-0 flex-col-reverse">
      <dt title={spoken} className="flex items-center gap-1.5 truncate text-xs text-zinc-500 dark:text-zinc-400">
        {dot && <span aria-hidden="true" className={`size-1.5 shrink-0 rounded-full ${dot}`} />}
        {spoken ? (
          <>
            <span aria-hidden="true">{label}</span>
            <span className="sr-only">{spoken}</span>
          </>
        ) : (
          label
        )}
      </dt>
      <dd className="truncate text-base font-semibold text-zinc-900 tabular-nums dark:text-zinc-100">{value}</dd>
    </div>
  );
}

/** The last days' outcomes at a glance: counts, bytes delivered, how long downloads take, retries. */
export function StatsSummary({ stats }: { stats: Stats | null }) {
  if (!stats) return null;
  const { totals } = stats;
  return (
    <section
      aria-labelledby="stats-heading"
      className="rounded-2xl border border-zinc-200/80 bg-white px-4 py-3.5 shadow-sm sm:px-5 sm:py-4 dark:border-zinc-800 dark:bg-zinc-900"
    >
      <div className="flex items-center justify-between gap-3">
        <h2 id="stats-heading" className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">
          Last {STATS_DAYS} days
        </h2>
        <DayBars days={stats.days} />
      </div>
      <dl className="mt-3 grid grid-cols-[repeat(3,auto)] justify-between gap-x-4 gap-y-3 md:grid-cols-6 md:justify-normal lg:grid-cols-[repeat(3,auto)] lg:justify-between">
        <Figure name="completed" label="Completed" value={count(totals.completed)} dot="bg-emerald-500" />
        <Figure name="failed" label="Failed" value={count(totals.failed)} dot="bg-rose-500" />
        <Figure name="retries" label="Retries" value={count(totals.retries)} />
        <Figure name="downloaded" label="Downloaded" value={formatBytes(totals.bytesDownloaded)} />
        <Figure name="median" label="Median time" value={formatElapsed(totals.medianDurationSeconds)} />
        <Figure name="p95" label="p95 time" spoken="95th percentile time" value={formatElapsed(totals.p95DurationSeconds)} />
      </dl>
    </section>
  );
}
