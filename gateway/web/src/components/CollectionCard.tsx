import { type Dispatch, useState } from "react";
import { cappedText, countsText, zipAvailable } from "../lib/collections";
import { formatRelative, hostOf } from "../lib/format";
import type { ChildList } from "../state/children";
import type { JobsAction } from "../state/jobs";
import type { JobView } from "../state/table";
import { CardHeading, IconTile } from "./CardHeading";
import { CollectionChildren } from "./CollectionChildren";
import { DisclosureButton } from "./DisclosureButton";
import { DownloadLink } from "./DownloadLink";
import { FailureNote } from "./FailureNote";
import { StackIcon } from "./icons";
import { JobActions } from "./JobActions";
import { ProgressBar } from "./ProgressBar";
import { StatusChip } from "./StatusChip";

/** A name for the saved ZIP made of the title, with nothing a file system would refuse. */
function zipName(title: string): string {
  const safe = title.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, " ").trim().slice(0, 100);
  return `${safe || "collection"}.zip`;
}

/**
 * A playlist, channel or feed: one card with its children's counts and their aggregate progress.
 * Its actions apply to its children (the server cascades them), and its entries are shown on
 * demand.
 */
export function CollectionCard(props: {
  job: JobView;
  list: ChildList | undefined;
  snapshots: number;
  now: number;
  dispatch: Dispatch<JobsAction>;
}) {
  const { job, list, snapshots, now, dispatch } = props;
  const [open, setOpen] = useState(false);
  const collection = job.collection;
  if (!collection) return null;
  const title = collection.title || job.meta.title || job.url;
  const capped = cappedText(collection);
  const childrenId = `job-${job.id}-entries`;
  return (
    <li
      data-job-id={job.id}
      data-status={job.status}
      data-collection=""
      aria-label={title}
      tabIndex={-1}
      className="rounded-2xl border border-zinc-200/80 bg-white p-4 shadow-sm shadow-zinc-900/[0.03] transition-shadow hover:shadow-md focus-visible:outline-2 focus-visible:outline-indigo-500 sm:p-5 dark:border-zinc-800 dark:bg-zinc-900 dark:shadow-none"
    >
      <CardHeading
        art={
          <IconTile tone="violet">
            <StackIcon className="size-5" />
          </IconTile>
        }
        title={title}
        badge={<StatusChip status={job.status} />}
      >
        {hostOf(job.url)} · collection · added {formatRelative(job.createdAt, now)}
      </CardHeading>
      <div className="mt-4">
        <ProgressBar progress={job.progress} status={job.status} label={title} />
        <p data-testid="counts" className="mt-2 text-xs text-zinc-600 tabular-nums dark:text-zinc-400">
          {countsText(collection)}
        </p>
        {capped && (
          <p data-testid="capped" className="mt-1 text-xs font-medium text-amber-700 dark:text-amber-400">
            {capped}
          </p>
        )}
      </div>
      {job.status === "failed" && job.errorCode && <FailureNote job={job} />}
      <div className="mt-3 flex flex-wrap items-center justify-between gap-2">
        <div className="flex flex-wrap items-center gap-2">
          {zipAvailable(collection) && (
            <DownloadLink href={`/files/${job.id}/download`} filename={zipName(title)} label="Download all (ZIP)" />
          )}
          <DisclosureButton label="Entries" open={open} controls={childrenId} onToggle={() => setOpen(!open)} />
        </div>
        <JobActions job={job} title={title} dispatch={dispatch} collection />
      </div>
      {open && <CollectionChildren id={childrenId} parent={job} list={list} snapshots={snapshots} dispatch={dispatch} />}
    </li>
  );
}
