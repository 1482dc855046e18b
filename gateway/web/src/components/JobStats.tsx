import type { JobStage } from "../api/types";
import { formatBytes, formatEta, formatRelative, formatSpeed } from "../lib/format";
import type { JobView } from "../state/jobs";

const STAGE_LABEL: Record<JobStage, string> = {
  queued: "Waiting for a worker",
  resolving: "Looking at the link",
  downloading: "Downloading",
  merging: "Merging audio and video",
  postprocessing: "Converting",
  finalizing: "Finishing",
  done: "Done",
};

/** What the job is doing, or what it was doing when it stopped. */
function stageText(job: JobView): string {
  const label = STAGE_LABEL[job.stage];
  if (job.status === "queued" || job.status === "running" || job.status === "completed") return label;
  const verb = job.status === "paused" ? "Paused" : "Stopped";
  if (job.stage === "queued") return `${verb} before it started`;
  return `${verb} while ${label.charAt(0).toLowerCase()}${label.slice(1)}`;
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="flex items-baseline gap-1">
      <dt className="sr-only">{label}</dt>
      <dd className="tabular-nums">{value}</dd>
    </div>
  );
}

/** Size, speed, time left and stage, as far as they mean something in the job's status. */
export function JobStats({ job, now }: { job: JobView; now: number }) {
  const sizeText =
    job.status === "completed"
      ? formatBytes(job.size)
      : job.totalBytes
        ? `${formatBytes(job.downloadedBytes)} of ${formatBytes(job.totalBytes)}`
        : formatBytes(job.downloadedBytes);
  const running = job.status === "running";
  return (
    <dl className="mt-2 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs text-zinc-500 dark:text-zinc-400 [&>div+div]:before:mr-3 [&>div+div]:before:text-zinc-300 [&>div+div]:before:content-['·'] dark:[&>div+div]:before:text-zinc-600">
      <Stat label="Size" value={sizeText} />
      {running && <Stat label="Speed" value={formatSpeed(job.speed)} />}
      {running && <Stat label="Time left" value={job.eta === null ? "— left" : `${formatEta(job.eta)} left`} />}
      <Stat label="Stage" value={stageText(job)} />
      {job.finishedAt && job.status === "completed" && <Stat label="Finished" value={formatRelative(job.finishedAt, now)} />}
    </dl>
  );
}
