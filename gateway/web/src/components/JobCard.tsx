import { type Dispatch, useState } from "react";
import type { JobType } from "../api/types";
import { formatRelative, hostOf } from "../lib/format";
import type { JobsAction, JobView } from "../state/jobs";
import { DownloadLink } from "./DownloadLink";
import { FailureNote } from "./FailureNote";
import { JobActions } from "./JobActions";
import { JobDetail } from "./JobDetail";
import { JobStats } from "./JobStats";
import { AudioIcon, ChevronIcon, FileIcon, SparkIcon, VideoIcon } from "./icons";
import { ProgressBar } from "./ProgressBar";
import { StatusChip } from "./StatusChip";
import { Thumbnail } from "./Thumbnail";

const TYPE_ICON: Record<JobType, typeof VideoIcon> = {
  auto: SparkIcon,
  video: VideoIcon,
  audio: AudioIcon,
  file: FileIcon,
};

function Artwork({ job }: { job: JobView }) {
  const Icon = TYPE_ICON[job.type];
  const icon = (
    <div className="grid size-11 shrink-0 place-items-center rounded-xl bg-indigo-50 text-indigo-600 dark:bg-indigo-500/10 dark:text-indigo-300">
      <Icon className="size-5" />
    </div>
  );
  return <Thumbnail href={job.meta.thumbnail} className="size-11 shrink-0 rounded-xl object-cover" fallback={icon} />;
}

export function JobCard({ job, now, dispatch }: { job: JobView; now: number; dispatch: Dispatch<JobsAction> }) {
  const [open, setOpen] = useState(false);
  const title = job.meta.title || job.filename || job.url;
  const detailId = `job-${job.id}-detail`;
  return (
    <li
      data-job-id={job.id}
      data-status={job.status}
      aria-label={title}
      tabIndex={-1}
      className="rounded-2xl border border-zinc-200/80 bg-white p-4 shadow-sm shadow-zinc-900/[0.03] transition-shadow hover:shadow-md focus-visible:outline-2 focus-visible:outline-indigo-500 sm:p-5 dark:border-zinc-800 dark:bg-zinc-900 dark:shadow-none"
    >
      <div className="flex items-start gap-3">
        <Artwork job={job} />
        <div className="min-w-0 flex-1">
          <div className="flex items-start justify-between gap-3">
            <h3 className="min-w-0 truncate font-medium text-zinc-900 dark:text-zinc-50" title={title}>
              {title}
            </h3>
            <StatusChip status={job.status} />
          </div>
          <p className="mt-0.5 truncate text-xs text-zinc-500 dark:text-zinc-400">
            {hostOf(job.url)} · {job.type} · added {formatRelative(job.createdAt, now)}
          </p>
        </div>
      </div>
      <div className="mt-4">
        <ProgressBar progress={job.progress} status={job.status} label={title} />
        <JobStats job={job} now={now} />
      </div>
      {job.status === "failed" && <FailureNote job={job} />}
      <div className="mt-3 flex flex-wrap items-center justify-between gap-2">
        <div className="flex flex-wrap items-center gap-2">
          {job.links.download && <DownloadLink href={job.links.download} filename={job.filename ?? "download"} size={job.size} />}
          <button
            type="button"
            aria-expanded={open}
            aria-controls={detailId}
            onClick={() => setOpen(!open)}
            className="inline-flex items-center gap-1 rounded-lg px-2 py-1.5 text-sm font-medium text-zinc-600 hover:bg-zinc-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-zinc-300 dark:hover:bg-zinc-800"
          >
            Details
            <ChevronIcon className={`size-4 transition-transform ${open ? "rotate-180" : ""}`} />
          </button>
        </div>
        <JobActions job={job} title={title} dispatch={dispatch} />
      </div>
      {open && <JobDetail id={detailId} job={job} dispatch={dispatch} />}
    </li>
  );
}
