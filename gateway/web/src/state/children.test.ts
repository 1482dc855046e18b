import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import { inEntryOrder } from "./children";
import { collectionTouched, initialJobs, type JobsAction, type JobsState, jobsReducer, needsSnapshot, sortedJobs } from "./jobs";
import { newJob } from "./newJob";

const PARENT = "0a000000-0000-4000-8000-000000000001";
const OTHER_PARENT = "0a000000-0000-4000-8000-000000000002";
const T0 = Date.UTC(2025, 0, 31, 12, 0, 0);

function at(second: number): string {
  return new Date(T0 + second * 1000).toISOString();
}

function childId(n: number): string {
  return `0c000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

function job(overrides: Partial<Job>): Job {
  return {
    ...newJob(PARENT, "https://media.example/feed.rss", "auto", at(0)),
    status: "running",
    stage: "downloading",
    attempt: 1,
    maxAttempts: 3,
    updatedAt: at(1),
    startedAt: at(0),
    parentId: null,
    entryIndex: null,
    collection: null,
    ...overrides,
  };
}

function parent(overrides: Partial<Job> = {}): Job {
  const collection = {
    title: "Podcast",
    total: 3,
    queued: 3,
    running: 0,
    paused: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    skipped: 0,
    listed: 3,
    truncated: false,
  };
  return job({ collection, ...overrides });
}

function child(n: number, overrides: Partial<Job> = {}): Job {
  return job({ id: childId(n), parentId: PARENT, entryIndex: n, createdAt: at(2), updatedAt: at(2), status: "queued", ...overrides });
}

function run(...actions: JobsAction[]): JobsState {
  return actions.reduce(jobsReducer, initialJobs);
}

const listed: JobsAction = { type: "snapshot", jobs: [parent()], nextCursor: null };
const opened: JobsAction = { type: "children-opened", parentId: PARENT };

function page(from: number, to: number, nextCursor: string | null): JobsAction {
  const jobs = Array.from({ length: to - from + 1 }, (_, i) => child(from + i));
  return { type: "children-page", parentId: PARENT, jobs, nextCursor };
}

describe("children never reach the top-level list", () => {
  it("a child's snapshot is remembered as its collection's, not shown as a card", () => {
    const state = run(listed, { type: "job", job: child(1) });
    expect(sortedJobs(state).map((j) => j.id)).toEqual([PARENT]);
    expect(state.parentOf[childId(1)]).toBe(PARENT);
    expect(needsSnapshot(state, childId(1))).toBe(false);
  });

  it("a list snapshot that holds children (an older server) keeps them out too", () => {
    const state = run({ type: "snapshot", jobs: [parent(), child(1), child(2)], nextCursor: null });
    expect(sortedJobs(state).map((j) => j.id)).toEqual([PARENT]);
    expect(Object.keys(state.parentOf)).toHaveLength(2);
  });

  it("a known child's events change nothing while its collection's list is closed", () => {
    const before = run(listed, { type: "job", job: child(1) });
    const after = jobsReducer(before, {
      type: "update",
      event: { jobId: childId(1), status: "running", stage: "downloading", updatedAt: at(5) },
    });
    expect(after).toBe(before);
  });
});

describe("an open list of children", () => {
  it("fills page by page, in entry order, and knows whether more are left", () => {
    let state = run(listed, opened, page(1, 100, "cursor-2"));
    const list = state.children[PARENT];
    expect(list?.loaded).toBe(true);
    expect(list?.nextCursor).toBe("cursor-2");
    state = jobsReducer(state, page(101, 150, null));
    const ordered = inEntryOrder(state.children[PARENT]!);
    expect(ordered).toHaveLength(150);
    expect(ordered.map((j) => j.entryIndex)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(state.children[PARENT]?.nextCursor).toBeNull();
    expect(sortedJobs(state)).toHaveLength(1);
  });

  it("sorts by entry index whatever order the pages came in", () => {
    const state = run(listed, opened, page(4, 6, null), page(1, 3, "x"));
    expect(inEntryOrder(state.children[PARENT]!).map((j) => j.entryIndex)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("takes its children's live events: progress, status, completion", () => {
    let state = run(listed, opened, page(1, 3, null));
    state = jobsReducer(state, { type: "update", event: { jobId: childId(2), status: "running", stage: "downloading", updatedAt: at(5) } });
    state = jobsReducer(state, {
      type: "progress",
      event: { jobId: childId(2), stage: "downloading", progress: 40, downloadedBytes: 400, attempt: 1, updatedAt: at(6) },
    });
    expect(state.children[PARENT]?.byId[childId(2)]?.progress).toBe(40);
    state = jobsReducer(state, { type: "update", event: { jobId: childId(2), status: "completed", stage: "done", progress: 100, updatedAt: at(7) } });
    state = jobsReducer(state, { type: "completed", event: { jobId: childId(2), filename: "ep2.mp3", size: 1234 } });
    const done = state.children[PARENT]?.byId[childId(2)];
    expect(done?.status).toBe("completed");
    expect(done?.links.download).toBe(`/files/${childId(2)}/download`);
    expect(sortedJobs(state).map((j) => j.id)).toEqual([PARENT]);
  });

  it("ignores a child event older than what it holds", () => {
    const state = run(listed, opened, page(1, 1, null), {
      type: "update",
      event: { jobId: childId(1), status: "completed", stage: "done", updatedAt: at(9) },
    });
    const stale = jobsReducer(state, { type: "update", event: { jobId: childId(1), status: "running", updatedAt: at(3) } });
    expect(stale.children[PARENT]?.byId[childId(1)]?.status).toBe("completed");
  });

  it("drops a child deleted meanwhile, and closes with its collection", () => {
    let state = run(listed, opened, page(1, 3, null));
    state = jobsReducer(state, { type: "update", event: { jobId: childId(3), deleted: true } });
    expect(Object.keys(state.children[PARENT]!.byId)).toHaveLength(2);
    expect(state.parentOf[childId(3)]).toBeUndefined();
    state = jobsReducer(state, { type: "update", event: { jobId: PARENT, deleted: true } });
    expect(state.children[PARENT]).toBeUndefined();
    expect(sortedJobs(state)).toHaveLength(0);
  });

  it("forgets its children when closed, and a page that arrives after the close is dropped", () => {
    let state = run(listed, opened, page(1, 3, "more"), { type: "children-closed", parentId: PARENT });
    expect(state.children[PARENT]).toBeUndefined();
    state = jobsReducer(state, page(4, 6, null));
    expect(state.children[PARENT]).toBeUndefined();
  });

  it("a child's snapshot joins its own collection's list only", () => {
    const state = run(
      { type: "snapshot", jobs: [parent(), parent({ id: OTHER_PARENT, createdAt: at(1) })], nextCursor: null },
      opened,
      { type: "children-opened", parentId: OTHER_PARENT },
      page(1, 2, null),
      { type: "children-page", parentId: OTHER_PARENT, jobs: [], nextCursor: null },
      { type: "job", job: child(7) },
    );
    expect(Object.keys(state.children[PARENT]!.byId)).toContain(childId(7));
    expect(Object.keys(state.children[OTHER_PARENT]!.byId)).toEqual([]);
  });

  it("a child's snapshot beyond the pages loaded so far waits for its page", () => {
    let state = run(listed, opened, page(1, 100, "cursor-2"), { type: "job", job: child(150) });
    expect(state.children[PARENT]?.byId[childId(150)]).toBeUndefined();
    expect(state.parentOf[childId(150)]).toBe(PARENT); // known, so it is not fetched again
    state = jobsReducer(state, { type: "job", job: child(50, { status: "running", updatedAt: at(8) }) });
    expect(state.children[PARENT]?.byId[childId(50)]?.status).toBe("running");
  });

  it("a child's snapshot before the first page arrived waits for that page", () => {
    const state = run(listed, opened, { type: "job", job: child(1) });
    expect(state.children[PARENT]?.byId[childId(1)]).toBeUndefined();
  });

  it("a complete list takes a child created after it was loaded (a feed that grew)", () => {
    const state = run(listed, opened, page(1, 3, null), { type: "job", job: child(4) });
    expect(inEntryOrder(state.children[PARENT]!).map((j) => j.entryIndex)).toEqual([1, 2, 3, 4]);
  });
});

describe("snapshots", () => {
  it("are counted, so open lists of children know to fetch again after events may have been missed", () => {
    const state = run(listed, opened, page(1, 3, null), listed);
    expect(state.snapshots).toBe(2);
    expect(Object.keys(state.children[PARENT]!.byId)).toHaveLength(3); // a snapshot keeps the open list
  });
});

describe("collectionTouched", () => {
  it("names the collection whose counts an event may change", () => {
    const state = run(
      { type: "snapshot", jobs: [parent(), job({ id: OTHER_PARENT, createdAt: at(1) })], nextCursor: null },
      { type: "job", job: child(1) },
    );
    expect(collectionTouched(state, childId(1))).toBe(PARENT);
    expect(collectionTouched(state, PARENT)).toBe(PARENT);
    expect(collectionTouched(state, OTHER_PARENT)).toBeNull(); // a plain download
    expect(collectionTouched(state, childId(99))).toBeNull(); // not known yet
  });
});
