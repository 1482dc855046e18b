import { useEffect, useMemo, useState } from "react";
import { AddDownloads } from "./components/AddDownloads";
import { ConnectionBadge } from "./components/ConnectionBadge";
import { JobList } from "./components/JobList";
import { Logo } from "./components/Logo";
import { StatsSummary } from "./components/StatsSummary";
import { SubscriptionsView } from "./components/SubscriptionsView";
import { TokenDialog } from "./components/TokenDialog";
import { type View, viewFromHash, ViewTabs } from "./components/ViewTabs";
import { useDailyStats } from "./feed/useDailyStats";
import { useJobFeed } from "./feed/useJobFeed";
import { ACTIVE_STATUSES } from "./lib/actions";
import { sortedJobs } from "./state/jobs";

export function App() {
  const { state, dispatch, connection } = useJobFeed();
  const stats = useDailyStats(state, connection);
  const jobs = useMemo(() => sortedJobs(state), [state]);
  const active = jobs.filter((job) => ACTIVE_STATUSES.includes(job.status)).length;
  const [view, setView] = useState<View>(() => viewFromHash(window.location.hash));

  useEffect(() => {
    document.title = active > 0 ? `(${active}) haul` : "haul";
  }, [active]);

  useEffect(() => {
    const onHash = () => setView(viewFromHash(window.location.hash));
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  function show(next: View) {
    setView(next);
    history.replaceState(null, "", next === "downloads" ? window.location.pathname + window.location.search : `#${next}`);
  }

  /** Switch to Downloads and bring one job's card into view, with the focus on it. */
  function showJob(jobId: string) {
    show("downloads");
    requestAnimationFrame(() => {
      const card = document.querySelector<HTMLElement>(`li[data-job-id="${CSS.escape(jobId)}"]`);
      card?.scrollIntoView({ block: "center" });
      card?.focus({ preventScroll: true });
    });
  }

  return (
    <div className="min-h-dvh">
      <header className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-4 px-4 py-5 sm:px-6">
        <div className="flex min-w-0 items-center gap-3">
          <Logo />
          <div className="min-w-0">
            <h1 className="text-lg leading-tight font-semibold tracking-tight text-zinc-900 dark:text-white">haul</h1>
            <p className="truncate text-xs text-zinc-500 dark:text-zinc-400">Downloads, fetched by your server</p>
          </div>
        </div>
        <div className="flex items-center gap-3">
          <ViewTabs view={view} onChange={show} />
          <ConnectionBadge connection={connection} />
        </div>
      </header>
      <main className="mx-auto max-w-6xl px-4 pb-16 sm:px-6">
        {view === "downloads" ? (
          <div id="view-downloads" role="tabpanel" aria-labelledby="tab-downloads" className="grid items-start gap-6 lg:grid-cols-[22rem_minmax(0,1fr)]">
            <div className="space-y-4 lg:sticky lg:top-6">
              <AddDownloads onAdded={(id, url, jobType) => dispatch({ type: "submitted", id, url, jobType, at: Date.now() })} />
              <StatsSummary stats={stats} />
            </div>
            <JobList
              jobs={jobs}
              olderCursor={state.olderCursor}
              childLists={state.children}
              snapshots={state.snapshots}
              dispatch={dispatch}
            />
          </div>
        ) : (
          <div id="view-subscriptions" role="tabpanel" aria-labelledby="tab-subscriptions">
            <SubscriptionsView onShowJob={showJob} />
          </div>
        )}
      </main>
      <TokenDialog />
    </div>
  );
}
