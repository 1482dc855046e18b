import type { JobStatus } from "../api/types";

export const STATUS_LABEL: Record<JobStatus, string> = {
  queued: "Queued",
  running: "Running",
  paused: "Paused",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

const LOOK: Record<JobStatus, string> = {
  queued: "bg-zinc-100 text-zinc-700 ring-zinc-300/60 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700",
  running: "bg-indigo-50 text-indigo-700 ring-indigo-300/60 dark:bg-indigo-500/15 dark:text-indigo-300 dark:ring-indigo-500/30",
  paused: "bg-amber-50 text-amber-800 ring-amber-300/60 dark:bg-amber-500/15 dark:text-amber-300 dark:ring-amber-500/30",
  completed: "bg-emerald-50 text-emerald-700 ring-emerald-300/60 dark:bg-emerald-500/15 dark:text-emerald-300 dark:ring-emerald-500/30",
  failed: "bg-rose-50 text-rose-700 ring-rose-300/60 dark:bg-rose-500/15 dark:text-rose-300 dark:ring-rose-500/30",
  cancelled: "bg-zinc-100 text-zinc-500 ring-zinc-300/60 dark:bg-zinc-800/60 dark:text-zinc-400 dark:ring-zinc-700",
};

export function StatusChip({ status }: { status: JobStatus }) {
  return (
    <span
      data-testid="status"
      className={`inline-flex shrink-0 items-center gap-1.5 rounded-full px-2.5 py-0.5 text-xs font-semibold ring-1 ring-inset ${LOOK[status]}`}
    >
      {status === "running" && <span className="size-1.5 animate-pulse rounded-full bg-current" aria-hidden="true" />}
      {STATUS_LABEL[status]}
    </span>
  );
}
