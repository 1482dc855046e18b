/**
 * One table of jobs by id, and how the server's news merges into it. The top-level list and
 * each open collection's children are such tables (state/jobs.ts, state/children.ts): an
 * event changes whichever table holds its job, by the same rules.
 *
 * Everything can arrive late, twice, or out of order (two channels, at-most-once delivery), so
 * every job carries a `version`, its server-side `updatedAt`; anything older than what the
 * table holds is ignored, and within one running attempt progress only ever moves forward.
 */

import type { CompletedEvent, FailedEvent, HistoryEvent, Job, JobDetail, ProgressEvent, UpdateEvent } from "../api/types";

export interface JobView extends Job {
  /** Milliseconds of `updatedAt`; -Infinity for a job known only from our own submit. */
  version: number;
  /** Known once the job's details were fetched. */
  history?: HistoryEvent[];
  /** Made from a submit reply before the server's first snapshot of the job arrived. */
  placeholder?: boolean;
  /** The bar shows the previous attempt's progress: the current one has not reported yet. */
  carried?: boolean;
}

export interface JobTable {
  byId: Readonly<Record<string, JobView>>;
}

export function versionOf(updatedAt: string | null | undefined): number | undefined {
  const parsed = updatedAt ? Date.parse(updatedAt) : Number.NaN;
  return Number.isNaN(parsed) ? undefined : parsed;
}

export function created(job: Job): number {
  return Date.parse(job.createdAt);
}

const ACTIVE: ReadonlySet<string> = new Set(["queued", "running", "paused"]);

/**
 * The bar never goes back while a job is under way. Within one running attempt the server
 * guarantees it; across attempts (a resume, a requeue after a stall) the new attempt starts
 * at 0 until its worker reports, so until then the bar keeps what the job had. A retry of a
 * failed or cancelled job starts again from 0, as the server says.
 */
function forwardProgress(current: JobView, next: JobView, attempt: number | undefined): JobView {
  const { carried: _previous, ...fresh } = next;
  if (fresh.progress >= current.progress) return fresh;
  const held = { progress: current.progress, downloadedBytes: current.downloadedBytes };
  if (ACTIVE.has(current.status) && ACTIVE.has(fresh.status) && fresh.progress === 0) {
    return { ...fresh, ...held, carried: true };
  }
  const sameRun =
    !current.carried &&
    current.status === "running" &&
    fresh.status === "running" &&
    (attempt === undefined || attempt === current.attempt);
  return sameRun ? { ...fresh, ...held } : fresh;
}

export function mergeJob(current: JobView | undefined, job: Job | JobDetail): JobView {
  const history = "history" in job ? job.history : current?.history;
  const incoming: JobView = { ...job, version: versionOf(job.updatedAt) ?? -Infinity, history };
  if (!current || current.placeholder) return incoming;
  if (incoming.version < current.version) return current;
  return forwardProgress(current, incoming, job.attempt);
}

export function put<T extends JobTable>(state: T, job: JobView): T {
  return { ...state, byId: { ...state.byId, [job.id]: job } };
}

export function without<T extends JobTable>(state: T, id: string): T {
  if (!(id in state.byId)) return state;
  const { [id]: _removed, ...rest } = state.byId;
  return { ...state, byId: rest };
}

export function applyProgress<T extends JobTable>(state: T, event: ProgressEvent): T {
  const job = state.byId[event.jobId];
  if (!job || job.placeholder) return state;
  const version = versionOf(event.updatedAt);
  if (version === undefined ? job.status !== "running" : version < job.version) return state;
  const next: JobView = {
    ...job,
    // The gateway sends progress only for running jobs, so a newer report means running.
    status: "running",
    stage: event.stage,
    progress: event.progress,
    downloadedBytes: event.downloadedBytes,
    totalBytes: event.totalBytes ?? job.totalBytes,
    speed: event.speed ?? null,
    eta: event.eta ?? null,
    attempt: event.attempt ?? job.attempt,
    version: version ?? job.version,
  };
  return put(state, forwardProgress(job, next, event.attempt));
}

export function applyUpdate<T extends JobTable>(state: T, event: UpdateEvent): T {
  if (event.deleted) return without(state, event.jobId);
  const job = state.byId[event.jobId];
  if (!job || job.placeholder) return state;
  const version = versionOf(event.updatedAt);
  if (version !== undefined && version < job.version) return state;
  const status = event.status ?? job.status;
  const next: JobView = {
    ...job,
    status,
    stage: event.stage ?? job.stage,
    progress: event.progress ?? job.progress,
    attempt: event.attempt ?? job.attempt,
    version: version ?? job.version,
  };
  if (status !== "running") Object.assign(next, { speed: null, eta: null });
  if (status !== "completed") Object.assign(next, { size: null, links: { ...job.links, file: null, download: null } });
  return put(state, forwardProgress(job, next, event.attempt));
}

/** `completed` follows the `job-update` that changed the status; it adds the file. */
export function applyCompleted<T extends JobTable>(state: T, event: CompletedEvent): T {
  const job = state.byId[event.jobId];
  if (!job || job.placeholder || job.status !== "completed") return state;
  const links = { ...job.links, file: `/files/${job.id}`, download: `/files/${job.id}/download` };
  return put(state, { ...job, filename: event.filename, size: event.size, progress: 100, links });
}

/** `failed` follows the `job-update` that changed the status; it adds the reason. */
export function applyFailed<T extends JobTable>(state: T, event: FailedEvent): T {
  const job = state.byId[event.jobId];
  if (!job || job.placeholder || job.status !== "failed") return state;
  return put(state, { ...job, errorCode: event.errorCode, errorMessage: event.message });
}
