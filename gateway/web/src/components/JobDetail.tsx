import { type Dispatch, type ReactNode, useEffect, useState } from "react";
import { getDownload } from "../api/rest";
import type { HistoryEvent } from "../api/types";
import { formatBytes, formatDuration, formatTimestamp, hostOf, MISSING } from "../lib/format";
import { messageOf } from "../lib/errors";
import type { JobsAction, JobView } from "../state/jobs";
import { STATUS_LABEL } from "./StatusChip";
import { Thumbnail } from "./Thumbnail";

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[6.5rem_minmax(0,1fr)] gap-2 py-1.5">
      <dt className="text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="min-w-0 break-words text-zinc-800 dark:text-zinc-200">{children}</dd>
    </div>
  );
}

function optionsText(job: JobView): string {
  const { maxHeight, videoContainer, audioFormat } = job.options;
  const parts = [maxHeight ? `up to ${maxHeight}p` : null, videoContainer, audioFormat].filter(Boolean);
  return parts.length > 0 ? `${job.type} (${parts.join(", ")})` : job.type;
}

function History({ events }: { events: HistoryEvent[] }) {
  return (
    <ol className="relative space-y-3 border-l border-zinc-200 pl-4 dark:border-zinc-800">
      {events.map((event, index) => (
        <li key={`${event.at}-${index}`} className="relative">
          <span className="absolute top-1.5 -left-[1.3rem] size-2 rounded-full bg-indigo-500 ring-4 ring-white dark:ring-zinc-900" />
          <p className="font-medium text-zinc-800 dark:text-zinc-200">
            {event.from ? `${STATUS_LABEL[event.from]} → ${STATUS_LABEL[event.to]}` : STATUS_LABEL[event.to]}
          </p>
          <p className="text-xs text-zinc-500 dark:text-zinc-400">
            <time dateTime={event.at}>{formatTimestamp(event.at)}</time> · {event.actor}
          </p>
          {event.reason && <p className="mt-0.5 break-words text-xs text-zinc-600 dark:text-zinc-400">{event.reason}</p>}
        </li>
      ))}
    </ol>
  );
}

/** Metadata and status history; fetched when opened and again whenever the status changes. */
export function JobDetail({ id, job, dispatch }: { id: string; job: JobView; dispatch: Dispatch<JobsAction> }) {
  const [problem, setProblem] = useState("");
  useEffect(() => {
    let current = true;
    getDownload(job.id).then(
      (detail) => current && dispatch({ type: "job", job: detail }),
      (error: unknown) => current && setProblem(messageOf(error)),
    );
    return () => {
      current = false;
    };
  }, [job.id, job.status, dispatch]);

  const { title, thumbnail, duration, extractor } = job.meta;
  return (
    <div id={id} className="mt-4 grid gap-6 border-t border-zinc-100 pt-4 text-sm sm:grid-cols-2 dark:border-zinc-800">
      <section aria-label="About this download" className="min-w-0">
        <Thumbnail href={thumbnail} className="mb-3 aspect-video w-full rounded-xl object-cover" />
        <dl className="divide-y divide-zinc-100 dark:divide-zinc-800">
          <Field label="Title">{title ?? MISSING}</Field>
          <Field label="Source">{extractor ? `${extractor} · ${hostOf(job.url)}` : hostOf(job.url)}</Field>
          <Field label="Duration">{formatDuration(duration)}</Field>
          <Field label="Link">
            <a href={job.url} target="_blank" rel="noreferrer noopener" className="break-all text-indigo-600 hover:underline dark:text-indigo-400">
              {job.url}
            </a>
          </Field>
          <Field label="Kind">{optionsText(job)}</Field>
          <Field label="Attempt">{job.maxAttempts ? `${job.attempt} of ${job.maxAttempts}` : MISSING}</Field>
          {job.filename && <Field label="File">{`${job.filename} (${formatBytes(job.size)})`}</Field>}
          {job.sha256 && (
            <Field label="SHA-256">
              <code className="font-mono text-xs break-all">{job.sha256}</code>
            </Field>
          )}
          <Field label="Added">{formatTimestamp(job.createdAt)}</Field>
          {job.finishedAt && <Field label="Finished">{formatTimestamp(job.finishedAt)}</Field>}
        </dl>
      </section>
      <section aria-label="Status history" className="min-w-0">
        <h4 className="mb-3 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">History</h4>
        {job.history ? <History events={job.history} /> : <p className="text-zinc-500">{problem || "Loading…"}</p>}
      </section>
    </div>
  );
}
