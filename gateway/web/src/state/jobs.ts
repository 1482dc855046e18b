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

import type { Job, JobDetail, JobType, ProgressEvent, UpdateEvent, CompletedEvent, FailedEvent } from "../api/types";
import { addPage, admitChild, type ChildLists, closeList, openList } from "./children";
import { newJob } from "./newJob";
import {
  applyCompleted,
  applyFailed,
  applyProgress,
  applyUpdate,
  created,
  type JobTable,
  type JobView,
  mergeJob,
  put,
  without,
} from "./table";

export type { JobView } from "./table";

export interface JobsState extends JobTable {
  /** Where the next page of older jobs starts; null when the list is complete. */
  olderCursor: string | null;
  /**
   * The collection of every child the page has seen. A child is never a top-level card: its
   * news goes to its collection's open list of children, or nowhere.
   */
  parentOf: Readonly<Record<string, string>>;
  /** The children of the collections whose entries are shown. */
  children: ChildLists;
  /**
   * How many list snapshots came (each live subscribe, resync or poll): the page may have missed
   * events before one, so open lists of children fetch their entries again when it moves.
   */
  snapshots: number;
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
  | { type: "failed"; event: FailedEvent }
  | { type: "children-opened"; parentId: string }
  | { type: "children-page"; parentId: string; jobs: Job[]; nextCursor: string | null }
  | { type: "children-closed"; parentId: string };

export const initialJobs: JobsState = { byId: {}, olderCursor: null, parentOf: {}, children: {}, snapshots: 0 };

function isChild(job: Job): job is Job & { parentId: string } {
  return typeof job.parentId === "string";
}

/** Remember which collection these children belong to (a new object only when that is news). */
function noteParents(state: JobsState, jobs: readonly Job[]): JobsState {
  const fresh = jobs.filter((job) => isChild(job) && state.parentOf[job.id] !== job.parentId);
  if (fresh.length === 0) return state;
  const parentOf = { ...state.parentOf };
  for (const job of fresh) parentOf[job.id] = job.parentId as string;
  return { ...state, parentOf };
}

/** A child's snapshot: into its collection's open list, never into the top-level one. */
function applyChild(state: JobsState, job: Job & { parentId: string }): JobsState {
  const noted = without(noteParents(state, [job]), job.id);
  const list = noted.children[job.parentId];
  if (!list) return noted;
  const next = admitChild(list, job);
  return next === list ? noted : { ...noted, children: { ...noted.children, [job.parentId]: next } };
}

/** Apply an event to the table that holds its job: the top-level list or an open list of children. */
function routed(state: JobsState, jobId: string, apply: <T extends JobTable>(table: T) => T): JobsState {
  const parentId = state.parentOf[jobId];
  if (parentId === undefined) return apply(state);
  const list = state.children[parentId];
  if (!list) return state;
  const next = apply(list);
  return next === list ? state : { ...state, children: { ...state.children, [parentId]: next } };
}

/** A job deleted: a child leaves its collection's list; a collection takes its open list along. */
function removed(state: JobsState, id: string): JobsState {
  const parentId = state.parentOf[id];
  if (parentId === undefined) {
    const gone = without(state, id);
    return id in gone.children ? { ...gone, children: closeList(gone.children, id) } : gone;
  }
  const { [id]: _child, ...parentOf } = state.parentOf;
  const list = state.children[parentId];
  const children = list ? { ...state.children, [parentId]: without(list, id) } : state.children;
  return { ...state, parentOf, children };
}

/**
 * A list snapshot is the whole truth for the span of creation times it covers: a job the page
 * holds in that span but the snapshot lacks was deleted meanwhile. Newer jobs (created after
 * the snapshot was taken), older pages and our own fresh submits are kept.
 */
function applySnapshot(state: JobsState, listed: Job[], nextCursor: string | null): JobsState {
  const jobs = listed.filter((job) => !isChild(job));
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
  return { ...noteParents(state, listed), byId, olderCursor: nextCursor, snapshots: state.snapshots + 1 };
}

function placeholder(id: string, url: string, jobType: JobType, at: number): JobView {
  return { ...newJob(id, url, jobType, new Date(at).toISOString()), version: -Infinity, placeholder: true };
}

export function jobsReducer(state: JobsState, action: JobsAction): JobsState {
  switch (action.type) {
    case "snapshot":
      return applySnapshot(state, action.jobs, action.nextCursor);
    case "older":
      return action.jobs.reduce(
        (acc, job) => (isChild(job) ? applyChild(acc, job) : put(acc, mergeJob(acc.byId[job.id], job))),
        { ...state, olderCursor: action.nextCursor },
      );
    case "job":
      if (isChild(action.job)) return applyChild(state, action.job);
      return put(state, mergeJob(state.byId[action.job.id], action.job));
    case "submitted":
      if (action.id in state.byId) return state;
      return put(state, placeholder(action.id, action.url, action.jobType, action.at));
    case "removed":
      return removed(state, action.id);
    case "progress":
      return routed(state, action.event.jobId, (table) => applyProgress(table, action.event));
    case "update":
      if (action.event.deleted) return removed(state, action.event.jobId);
      return routed(state, action.event.jobId, (table) => applyUpdate(table, action.event));
    case "completed":
      return routed(state, action.event.jobId, (table) => applyCompleted(table, action.event));
    case "failed":
      return routed(state, action.event.jobId, (table) => applyFailed(table, action.event));
    case "children-opened":
      return { ...state, children: openList(state.children, action.parentId) };
    case "children-page":
      return {
        ...noteParents(state, action.jobs),
        children: addPage(state.children, action.parentId, action.jobs, action.nextCursor),
      };
    case "children-closed":
      return { ...state, children: closeList(state.children, action.parentId) };
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
  if (id in state.parentOf) return false;
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

/**
 * The collection whose counts an event about `jobId` may have changed: the job's own when it
 * is a collection, its parent's when it is a child; null otherwise. Events carry no counts, so
 * the page fetches that collection again (at most every so often).
 */
export function collectionTouched(state: JobsState, jobId: string): string | null {
  const parentId = state.parentOf[jobId];
  if (parentId !== undefined) return parentId;
  return state.byId[jobId]?.collection ? jobId : null;
}
