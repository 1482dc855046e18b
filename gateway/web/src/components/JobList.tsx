import { type Dispatch, useState } from "react";
import { listDownloads } from "../api/rest";
import { ACTIVE_STATUSES } from "../lib/actions";
import { messageOf } from "../lib/errors";
import { useNow } from "../lib/useNow";
import type { ChildLists } from "../state/children";
import type { JobsAction, JobView } from "../state/jobs";
import { CollectionCard } from "./CollectionCard";
import { EmptyState } from "./EmptyState";
import { JobCard } from "./JobCard";

const FILTERS = {
  all: { label: "All", empty: null, keep: () => true },
  active: { label: "Active", empty: "in progress", keep: (j: JobView) => ACTIVE_STATUSES.includes(j.status) },
  completed: { label: "Completed", empty: "completed yet", keep: (j: JobView) => j.status === "completed" },
  failed: { label: "Failed", empty: "failed", keep: (j: JobView) => j.status === "failed" },
} as const;
type Filter = keyof typeof FILTERS;

function OlderJobs({ cursor, dispatch }: { cursor: string; dispatch: Dispatch<JobsAction> }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState("");
  async function load() {
    setBusy(true);
    try {
      const page = await listDownloads(cursor);
      dispatch({ type: "older", jobs: page.items, nextCursor: page.nextCursor });
    } catch (error) {
      setProblem(messageOf(error));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="mt-4 text-center">
      <button
        type="button"
        disabled={busy}
        onClick={() => void load()}
        className="rounded-lg px-3 py-2 text-sm font-medium text-indigo-600 hover:bg-indigo-50 disabled:opacity-50 dark:text-indigo-400 dark:hover:bg-indigo-500/10"
      >
        {busy ? "Loading…" : "Show older downloads"}
      </button>
      {problem && <p role="alert" className="text-xs text-rose-600">{problem}</p>}
    </div>
  );
}

export function JobList(props: {
  jobs: JobView[];
  olderCursor: string | null;
  childLists: ChildLists;
  snapshots: number;
  dispatch: Dispatch<JobsAction>;
}) {
  const { jobs, olderCursor, childLists, snapshots, dispatch } = props;
  const [filter, setFilter] = useState<Filter>("all");
  const now = useNow(30_000);
  const shown = jobs.filter(FILTERS[filter].keep);
  return (
    <section aria-labelledby="downloads-heading" className="min-w-0">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-3">
        <h2 id="downloads-heading" className="text-base font-semibold text-zinc-900 dark:text-zinc-100">
          Downloads <span className="font-normal text-zinc-400">{jobs.length > 0 ? jobs.length : ""}</span>
        </h2>
        <div role="group" aria-label="Show" className="flex rounded-lg bg-zinc-200/60 p-0.5 text-sm dark:bg-zinc-800/80">
          {(Object.keys(FILTERS) as Filter[]).map((key) => (
            <button
              key={key}
              type="button"
              aria-pressed={filter === key}
              onClick={() => setFilter(key)}
              className="rounded-md px-2.5 py-1 font-medium text-zinc-600 transition aria-pressed:bg-white aria-pressed:text-zinc-900 aria-pressed:shadow-sm focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-zinc-400 dark:aria-pressed:bg-zinc-700 dark:aria-pressed:text-zinc-50"
            >
              {FILTERS[key].label}
            </button>
          ))}
        </div>
      </div>
      {shown.length === 0 ? (
        <EmptyState filtered={jobs.length > 0 ? FILTERS[filter].empty : null} />
      ) : (
        <ul className="space-y-3">
          {shown.map((job) =>
            job.collection ? (
              <CollectionCard
                key={job.id}
                job={job}
                list={childLists[job.id]}
                snapshots={snapshots}
                now={now}
                dispatch={dispatch}
              />
            ) : (
              <JobCard key={job.id} job={job} now={now} dispatch={dispatch} />
            ),
          )}
        </ul>
      )}
      {olderCursor && <OlderJobs cursor={olderCursor} dispatch={dispatch} />}
    </section>
  );
}
