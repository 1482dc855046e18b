/**
 * The page's job list as a pure reducer over everything the server tells it: list snapshots
 * (Socket.IO `subscribe` or `GET /downloads` while polling), single jobs (REST replies,
 * `subscribe {jobId}`), and the `/jobs` events.
 *
 * These come over two channels (REST and the socket) and Socket.IO delivers at most once, so
 * they can arrive late, twice, or out of order. Every job therefore carries a `version`: its
 * server-side `updatedAt`, which jobstore moves forward on every accepted change. Anything
 * older than what the page holds is ignored, and within one running attempt progress only
 * ever moves forward, as it does on the server.
 */

import type {
  CompletedEvent,
  FailedEvent,
  HistoryEvent,
  Job,
  JobDetail,
  JobType,
  ProgressEvent,
  UpdateEvent,
} from "../api/types";

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

export interface JobsState {
  byId: Readonly<Record<string, JobView>>;
  /** Where the next page of older jobs starts; null when the list is complete. */
  olderCursor: string | null;
}

export type JobsAction =
  | { type: "snapshot"; jobs: Job[]; nextCursor: string | null }
  | { type: "older"; jobs: Job[]; nextCursor: string | null }
  | { type: "job"; job: Job | JobDetail }
  | { type: "submitted"; id: string; url: string; jobType: JobType; at: number }
  | { type: "removed"; id: string }
  | { type: "progress"; event: ProgressEvent }
  | { type: "update"; event: UpdateEvent }
  | { type: "completed"; event: CompletedEvent }
  | { type: "failed"; event: FailedEvent };

export const initialJobs: JobsState = { byId: {}, olderCursor: null };

function versionOf(updatedAt: string | null | undefined): number | undefined {
  const parsed = updatedAt ? Date.parse(updatedAt) : Number.NaN;
  return Number.isNaN(parsed) ? undefined : parsed;
}

function created(job: Job): number {
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

function mergeJob(current: JobView | undefined, job: Job | JobDetail): JobView {
  const history = "history" in job ? job.history : current?.history;
  const incoming: JobView = { ...job, version: versionOf(job.updatedAt) ?? -Infinity, history };
  if (!current || current.placeholder) return incoming;
  if (incoming.version < current.version) return current;
  return forwardProgress(current, incoming, job.attempt);
}

function put(state: JobsState, job: JobView): JobsState {
  return { ...state, byId: { ...state.byId, [job.id]: job } };
}

function without(state: JobsState, id: string): JobsState {
  if (!(id in state.byId)) return state;
  const { [id]: _removed, ...rest } = state.byId;
  return { ...state, byId: rest };
}

/**
 * A list snapshot is the whole truth for the span of creation times it covers: a job the page
 * holds in that span but the snapshot lacks was deleted meanwhile. Newer jobs (created after
 * the snapshot was taken), older pages and our own fresh submits are kept.
 */
function applySnapshot(state: JobsState, jobs: Job[], nextCursor: string | null): JobsState {
  const byId: Record<string, JobView> = {};
  const times = jobs.map(created);
  const newest = times.length > 0 ? Math.max(...times) : Infinity;
  const oldest = nextCursor !== null && times.length > 0 ? Math.min(...times) : -Infinity;
  for (const job of Object.values(state.byId)) {
    const when = created(job);
    const covered = when <= newest && when >= oldest;
    if (job.placeholder || !covered) byId[job.id] = job;
  }
  for (const job of jobs) byId[job.id] = mergeJob(state.byId[job.id], job);
  return { byId, olderCursor: nextCursor };
}

function applyProgress(state: JobsState, event: ProgressEvent): JobsState {
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

function applyUpdate(state: JobsState, event: UpdateEvent): JobsState {
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
function applyCompleted(state: JobsState, event: CompletedEvent): JobsState {
  const job = state.byId[event.jobId];
  if (!job || job.placeholder || job.status !== "completed") return state;
  const links = { ...job.links, file: `/files/${job.id}`, download: `/files/${job.id}/download` };
  return put(state, { ...job, filename: event.filename, size: event.size, progress: 100, links });
}

/** `failed` follows the `job-update` that changed the status; it adds the reason. */
function applyFailed(state: JobsState, event: FailedEvent): JobsState {
  const job = state.byId[event.jobId];
  if (!job || job.placeholder || job.status !== "failed") return state;
  return put(state, { ...job, errorCode: event.errorCode, errorMessage: event.message });
}

function placeholder(id: string, url: string, jobType: JobType, at: number): JobView {
  const now = new Date(at).toISOString();
  return {
    id,
    url,
    type: jobType,
    options: { maxHeight: null, audioFormat: null, videoContainer: null },
    status: "queued",
    stage: "queued",
    progress: 0,
    downloadedBytes: 0,
    totalBytes: null,
    speed: null,
    eta: null,
    filename: null,
    size: null,
    sha256: null,
    errorCode: null,
    errorMessage: null,
    meta: { title: null, duration: null, extractor: null, thumbnail: null },
    attempt: 0,
    maxAttempts: 0,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
    links: { self: `/downloads/${id}`, file: null, download: null },
    version: -Infinity,
    placeholder: true,
  };
}

export function jobsReducer(state: JobsState, action: JobsAction): JobsState {
  switch (action.type) {
    case "snapshot":
      return applySnapshot(state, action.jobs, action.nextCursor);
    case "older":
      return action.jobs.reduce(
        (acc, job) => put(acc, mergeJob(acc.byId[job.id], job)),
        { ...state, olderCursor: action.nextCursor },
      );
    case "job":
      return put(state, mergeJob(state.byId[action.job.id], action.job));
    case "submitted":
      if (action.id in state.byId) return state;
      return put(state, placeholder(action.id, action.url, action.jobType, action.at));
    case "removed":
      return without(state, action.id);
    case "progress":
      return applyProgress(state, action.event);
    case "update":
      return applyUpdate(state, action.event);
    case "completed":
      return applyCompleted(state, action.event);
    case "failed":
      return applyFailed(state, action.event);
  }
}

/** Newest first, as the server lists them. */
export function sortedJobs(state: JobsState): JobView[] {
  return Object.values(state.byId).sort(
    (a, b) => created(b) - created(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
  );
}

/** Whether the page still needs the server's snapshot of this job. */
export function needsSnapshot(state: JobsState, id: string): boolean {
  const job = state.byId[id];
  return job === undefined || job.placeholder === true;
}

const OUTCOMES: ReadonlySet<string> = new Set(["completed", "failed"]);

/**
 * Whether a job the page already held completed or failed between two states, whichever way
 * the news came (an event, a list snapshot, a poll). A job first seen in `after` does not
 * count: a page loading a list of old jobs has not seen any of them finish.
 */
export function someJobFinished(before: JobsState, after: JobsState): boolean {
  if (before.byId === after.byId) return false;
  return Object.values(after.byId).some((job) => {
    const earlier = before.byId[job.id];
    return earlier !== undefined && earlier.status !== job.status && OUTCOMES.has(job.status);
  });
}
