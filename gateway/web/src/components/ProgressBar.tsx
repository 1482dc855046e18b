import type { JobStatus } from "../api/types";
import { formatPercent } from "../lib/format";

const FILL: Record<JobStatus, string> = {
  queued: "bg-zinc-400 dark:bg-zinc-500",
  running: "progress-stripes",
  paused: "bg-amber-400 dark:bg-amber-500",
  completed: "bg-emerald-500",
  failed: "bg-rose-500",
  cancelled: "bg-zinc-300 dark:bg-zinc-600",
};

export function ProgressBar({ progress, status, label }: { progress: number; status: JobStatus; label: string }) {
  const width = Math.min(100, Math.max(0, progress));
  const whole = Math.floor(width);
  return (
    <div className="flex items-center gap-3">
      <div
        role="progressbar"
        aria-label={`Progress of ${label}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={whole}
        aria-valuetext={`${whole}%`}
        className="h-2 min-w-0 flex-1 overflow-hidden rounded-full bg-zinc-200/80 dark:bg-zinc-800"
      >
        <div
          className={`h-full rounded-full transition-[width] duration-500 ease-out motion-reduce:transition-none ${FILL[status]}`}
          style={{ width: `${width}%` }}
        />
      </div>
      <span className="w-10 shrink-0 text-right text-sm font-semibold tabular-nums text-zinc-700 dark:text-zinc-200">
        {formatPercent(progress)}
      </span>
    </div>
  );
}
