import { type Dispatch, useCallback, useEffect, useRef, useState } from "react";
import { listChildren } from "../api/rest";
import { explainFailure, messageOf } from "../lib/errors";
import { formatPercent } from "../lib/format";
import { rowWindow, wantsNextPage } from "../lib/virtual";
import { type ChildList, inEntryOrder } from "../state/children";
import type { JobsAction } from "../state/jobs";
import type { JobView } from "../state/table";
import { DownloadLink } from "./DownloadLink";
import { StatusChip } from "./StatusChip";

// Rows have one height so that the window of rows drawn follows from the scroll offset alone.
const ROW_HEIGHT = 48;
const VISIBLE_ROWS = 8;
// The server's largest page (haul/contract/limits.py MAX_PAGE_SIZE): a list fetched again after a
// snapshot asks for what it holds in one go, up to this many.
const MAX_PAGE = 500;

const FILL: Record<JobView["status"], string> = {
  queued: "bg-zinc-400 dark:bg-zinc-500",
  running: "bg-indigo-500",
  paused: "bg-amber-400 dark:bg-amber-500",
  completed: "bg-emerald-500",
  failed: "bg-rose-500",
  cancelled: "bg-zinc-300 dark:bg-zinc-600",
};

function ChildRow({ job, top, position, size }: { job: JobView; top: number; position: number; size: number }) {
  const title = job.meta.title || job.filename || job.url;
  const whole = Math.floor(Math.min(100, Math.max(0, job.progress)));
  return (
    <div
      role="listitem"
      aria-posinset={position}
      aria-setsize={size}
      data-child-id={job.id}
      data-status={job.status}
      style={{ top, height: ROW_HEIGHT }}
      className="absolute inset-x-0 flex items-center gap-3 border-b border-zinc-100 px-3 text-sm dark:border-zinc-800"
    >
      <span className="w-9 shrink-0 text-right text-xs tabular-nums text-zinc-400">{job.entryIndex ?? "–"}</span>
      <div className="min-w-0 flex-1">
        <p className="truncate text-zinc-800 dark:text-zinc-200" title={title}>
          {title}
        </p>
        {job.status === "failed" && (
          <p
            className="truncate text-xs text-rose-600 dark:text-rose-400"
            title={[job.errorCode, job.errorMessage].filter(Boolean).join(": ")}
          >
            {explainFailure(job.errorCode)}
          </p>
        )}
      </div>
      <div className="hidden w-24 shrink-0 items-center gap-2 sm:flex">
        <div
          role="progressbar"
          aria-label={`Progress of ${title}`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={whole}
          className="h-1.5 flex-1 overflow-hidden rounded-full bg-zinc-200/80 dark:bg-zinc-800"
        >
          <div className={`h-full rounded-full ${FILL[job.status]}`} style={{ width: `${whole}%` }} />
        </div>
        <span className="w-9 text-right text-xs tabular-nums text-zinc-500">{formatPercent(job.progress)}</span>
      </div>
      <div className="flex w-24 shrink-0 justify-end">
        <StatusChip status={job.status} />
      </div>
      <div className="w-16 shrink-0 text-right">
        {job.links.download && (
          <DownloadLink href={job.links.download} filename={job.filename ?? "download"} label="File" compact />
        )}
      </div>
    </div>
  );
}

/**
 * A collection's entries, fetched when opened, a page at a time as the list is scrolled (or
 * "Load more" is pressed), and drawn a window at a time: a thousand entries updating live stay
 * smooth. The live feed keeps the loaded ones current (the reducer routes their events here).
 */
export function CollectionChildren(props: {
  id: string;
  parent: JobView;
  list: ChildList | undefined;
  /** JobsState.snapshots: when it moves, events may have been missed, so the entries are fetched again. */
  snapshots: number;
  dispatch: Dispatch<JobsAction>;
}) {
  const { id, parent, list, snapshots, dispatch } = props;
  const [scrollTop, setScrollTop] = useState(0);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState("");
  const loading = useRef(false);
  const total = parent.collection?.total ?? 0;

  const load = useCallback(
    async (cursor: string | null, limit?: number) => {
      if (loading.current) return;
      loading.current = true;
      setBusy(true);
      setProblem("");
      try {
        const page = await listChildren(parent.id, cursor, limit);
        dispatch({ type: "children-page", parentId: parent.id, jobs: page.items, nextCursor: page.nextCursor });
      } catch (error) {
        setProblem(messageOf(error));
      } finally {
        loading.current = false;
        setBusy(false);
      }
    },
    [parent.id, dispatch],
  );

  useEffect(() => {
    dispatch({ type: "children-opened", parentId: parent.id });
    return () => dispatch({ type: "children-closed", parentId: parent.id });
  }, [parent.id, dispatch]);

  const children = list ? inEntryOrder(list) : [];
  const count = children.length;
  const hasMore = list?.nextCursor != null;
  // The first page, and again when the collection grew past what a complete list holds
  // (entries created while it was open also come through the live feed, one by one). Only
  // growth counts: entries deleted with their collection must not send the list back for a
  // collection that is gone.
  const firstPage = list !== undefined && !list.loaded;
  const seenTotal = useRef(total);
  useEffect(() => {
    if (firstPage) void load(null);
  }, [firstPage, load]);
  useEffect(() => {
    const grew = total > seenTotal.current;
    seenTotal.current = total;
    if (grew && list?.loaded && list.nextCursor === null && count < total) void load(null, Math.min(MAX_PAGE, total));
  }, [total, list?.loaded, list?.nextCursor, count, load]);

  const seenSnapshots = useRef(snapshots);
  useEffect(() => {
    if (snapshots === seenSnapshots.current) return;
    seenSnapshots.current = snapshots;
    if (list?.loaded && count > 0) void load(null, Math.min(MAX_PAGE, count));
  }, [snapshots, list?.loaded, count, load]);

  const rows = rowWindow(scrollTop, VISIBLE_ROWS * ROW_HEIGHT, ROW_HEIGHT, count);
  const more = wantsNextPage(rows, count, hasMore);
  useEffect(() => {
    if (more && list?.nextCursor) void load(list.nextCursor);
  }, [more, list?.nextCursor, load]);

  const title = parent.collection?.title || parent.meta.title || parent.url;
  return (
    <div id={id} className="mt-4 border-t border-zinc-100 pt-3 dark:border-zinc-800">
      {count === 0 ? (
        <p className="py-3 text-center text-sm text-zinc-500 dark:text-zinc-400">
          {problem || (list?.loaded ? "No entries yet." : "Loading entries…")}
        </p>
      ) : (
        <div
          role="list"
          aria-label={`Entries of ${title}`}
          tabIndex={0}
          onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
          style={{ maxHeight: VISIBLE_ROWS * ROW_HEIGHT }}
          className="relative overflow-y-auto rounded-xl border border-zinc-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-zinc-800"
        >
          <div style={{ height: count * ROW_HEIGHT }}>
            {children.slice(rows.start, rows.end).map((job, offset) => (
              <ChildRow
                key={job.id}
                job={job}
                top={(rows.start + offset) * ROW_HEIGHT}
                position={rows.start + offset + 1}
                size={Math.max(total, count)}
              />
            ))}
          </div>
        </div>
      )}
      <div className="mt-2 flex items-center justify-between gap-2 text-xs text-zinc-500 dark:text-zinc-400">
        <span aria-live="polite">{count > 0 && `Showing ${count.toLocaleString("en-US")} of ${Math.max(total, count).toLocaleString("en-US")}`}</span>
        {hasMore && (
          <button
            type="button"
            disabled={busy}
            onClick={() => list?.nextCursor && void load(list.nextCursor)}
            className="rounded-lg px-2 py-1 text-sm font-medium text-indigo-600 hover:bg-indigo-50 focus-visible:outline-2 focus-visible:outline-indigo-500 disabled:opacity-50 dark:text-indigo-400 dark:hover:bg-indigo-500/10"
          >
            {busy ? "Loading…" : "Load more"}
          </button>
        )}
        {problem && count > 0 && (
          <span role="alert" className="text-rose-600">
            {problem}
          </span>
        )}
      </div>
    </div>
  );
}
