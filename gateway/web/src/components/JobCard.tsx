import { type Dispatch, useState } from "react";
import type { JobType } from "../api/types";
import { formatRelative, hostOf } from "../lib/format";
import type { JobsAction, JobView } from "../state/jobs";
import { CardHeading, IconTile } from "./CardHeading";
import { DisclosureButton } from "./DisclosureButton";
import { DownloadLink } from "./DownloadLink";
import { FailureNote } from "./FailureNote";
import { JobActions } from "./JobActions";
import { JobDetail } from "./JobDetail";
import { JobStats } from "./JobStats";
import { AudioIcon, FileIcon, SparkIcon, VideoIcon } from "./icons";
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
    <IconTile tone="indigo">
      <Icon className="size-5" />
    </IconTile>
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
      <CardHeading art={<Artwork job={job} />} title={title} badge={<StatusChip status={job.status} />}>
        {hostOf(job.url)} · {job.type} · added {formatRelative(job.createdAt, now)}
      </CardHeading>
      <div className="mt-4">
        <ProgressBar progress={job.progress} status={job.status} label={title} />
        <JobStats job={job} now={now} />
      </div>
      {job.status === "failed" && <FailureNote job={job} />}
      <div className="mt-3 flex flex-wrap items-center justify-between gap-2">
        <div className="flex flex-wrap items-center gap-2">
          {job.links.download && <DownloadLink href={job.links.download} filename={job.filename ?? "download"} size={job.size} />}
          <DisclosureButton label="Details" open={open} controls={detailId} onToggle={() => setOpen(!open)} />
        </div>
        <JobActions job={job} title={title} dispatch={dispatch} />
      </div>
      {open && <JobDetail id={detailId} job={job} dispatch={dispatch} />}
    </li>
  );
}
