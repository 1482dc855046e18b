import { useEffect, useMemo } from "react";
import { AddDownloads } from "./components/AddDownloads";
import { ConnectionBadge } from "./components/ConnectionBadge";
import { JobList } from "./components/JobList";
import { Logo } from "./components/Logo";
import { StatsSummary } from "./components/StatsSummary";
import { TokenDialog } from "./components/TokenDialog";
import { useDailyStats } from "./feed/useDailyStats";
import { useJobFeed } from "./feed/useJobFeed";
import { ACTIVE_STATUSES } from "./lib/actions";
import { sortedJobs } from "./state/jobs";

export function App() {
  const { state, dispatch, connection } = useJobFeed();
  const stats = useDailyStats(state, connection);
  const jobs = useMemo(() => sortedJobs(state), [state]);
  const active = jobs.filter((job) => ACTIVE_STATUSES.includes(job.status)).length;

  useEffect(() => {
    document.title = active > 0 ? `(${active}) haul` : "haul";
  }, [active]);

  return (
    <div className="min-h-dvh">
      <header className="mx-auto flex max-w-6xl items-center justify-between gap-4 px-4 py-5 sm:px-6">
        <div className="flex min-w-0 items-center gap-3">
          <Logo />
          <div className="min-w-0">
            <h1 className="text-lg leading-tight font-semibold tracking-tight text-zinc-900 dark:text-white">haul</h1>
            <p className="truncate text-xs text-zinc-500 dark:text-zinc-400">Downloads, fetched by your server</p>
          </div>
        </div>
        <ConnectionBadge connection={connection} />
      </header>
      <main className="mx-auto grid max-w-6xl items-start gap-6 px-4 pb-16 sm:px-6 lg:grid-cols-[22rem_minmax(0,1fr)]">
        <div className="space-y-4 lg:sticky lg:top-6">
          <AddDownloads onAdded={(id, url, jobType) => dispatch({ type: "submitted", id, url, jobType, at: Date.now() })} />
          <StatsSummary stats={stats} />
        </div>
        <JobList jobs={jobs} olderCursor={state.olderCursor} dispatch={dispatch} />
      </main>
      <TokenDialog />
    </div>
  );
}
