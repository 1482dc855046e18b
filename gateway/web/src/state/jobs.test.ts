import { describe, expect, it } from "vitest";
import type { Job, JobDetail } from "../api/types";
import {
  type JobsAction,
  type JobsState,
  initialJobs,
  jobsReducer,
  needsSnapshot,
  someJobFinished,
  sortedJobs,
} from "./jobs";
import { newJob } from "./newJob";

const ID = "5f0c6d2e-8c1a-4a55-9a53-0b7a3c1f2d01";
const OTHER = "9b8e7c6d-1a2b-4c3d-8e9f-0a1b2c3d4e5f";

function at(second: number): string {
  return new Date(Date.UTC(2025, 0, 31, 12, 0, second)).toISOString();
}

function job(overrides: Partial<Job> = {}): Job {
  return {
    ...newJob(ID, "https://media.example/clip.mp4", "video", at(0)),
    status: "running",
    stage: "downloading",
    progress: 10,
    downloadedBytes: 100,
    totalBytes: 1000,
    speed: 50,
    eta: 18,
    meta: { title: "Clip", duration: 4, extractor: "generic", thumbnail: null },
    attempt: 1,
    maxAttempts: 3,
    updatedAt: at(10),
    startedAt: at(1),
    ...overrides,
  };
}

function run(...actions: JobsAction[]): JobsState {
  return actions.reduce(jobsReducer, initialJobs);
}

function progress(value: number, second: number, attempt = 1): JobsAction {
  return {
    type: "progress",
    event: {
      jobId: ID,
      stage: "downloading",
      progress: value,
      downloadedBytes: value * 10,
      totalBytes: 1000,
      speed: 64,
      attempt,
      updatedAt: at(second),
    },
  };
}

const seeded: JobsAction = { type: "snapshot", jobs: [job()], nextCursor: null };

describe("snapshots", () => {
  it("fill an empty page, newest first", () => {
    const state = run({
      type: "snapshot",
      jobs: [job(), job({ id: OTHER, createdAt: at(5), updatedAt: at(6) })],
      nextCursor: null,
    });
    expect(sortedJobs(state).map((j) => j.id)).toEqual([OTHER, ID]);
  });

  it("do not overwrite a newer state with an older one", () => {
    const state = run(seeded, progress(60, 20), {
      type: "snapshot",
      jobs: [job({ progress: 30, updatedAt: at(15) })],
      nextCursor: null,
    });
    expect(state.byId[ID]?.progress).toBe(60);
  });

  it("replace an older state with a newer one", () => {
    const state = run(seeded, {
      type: "snapshot",
      jobs: [job({ status: "paused", progress: 40, speed: null, updatedAt: at(30) })],
      nextCursor: null,
    });
    expect(state.byId[ID]).toMatchObject({ status: "paused", progress: 40, speed: null });
  });

  it("drop jobs deleted while the page was not listening", () => {
    const state = run(
      { type: "snapshot", jobs: [job(), job({ id: OTHER, createdAt: at(5) })], nextCursor: null },
      { type: "snapshot", jobs: [job({ id: OTHER, createdAt: at(5) })], nextCursor: null },
    );
    expect(Object.keys(state.byId)).toEqual([OTHER]);
  });

  it("an empty complete snapshot means every job is gone", () => {
    expect(run(seeded, { type: "snapshot", jobs: [], nextCursor: null }).byId).toEqual({});
  });

  it("keep older pages the snapshot does not cover and a fresh submit it does not know yet", () => {
    const older = job({ id: OTHER, createdAt: at(-600), updatedAt: at(-590) });
    const fresh = "0d4a1c2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    const state = run(
      { type: "snapshot", jobs: [job()], nextCursor: "page-2" },
      { type: "older", jobs: [older], nextCursor: null },
      { type: "submitted", id: fresh, url: "https://x.example/a", jobType: "auto", at: Date.now() },
      { type: "snapshot", jobs: [job({ updatedAt: at(11) })], nextCursor: "page-2" },
    );
    expect(Object.keys(state.byId).sort()).toEqual([fresh, ID, OTHER].sort());
    expect(state.olderCursor).toBe("page-2");
  });
});

describe("progress events", () => {
  it("move the bar forward and carry speed, ETA and size", () => {
    const state = run(seeded, progress(55, 12));
    expect(state.byId[ID]).toMatchObject({ progress: 55, downloadedBytes: 550, speed: 64, eta: null });
  });

  it("arriving out of order never move the bar backwards", () => {
    const state = run(seeded, progress(70, 14), progress(40, 12), progress(65, 13));
    expect(state.byId[ID]?.progress).toBe(70);
  });

  it("that are newer but lower within one attempt still leave the bar where it was", () => {
    const state = run(seeded, progress(70, 14), progress(60, 15));
    expect(state.byId[ID]).toMatchObject({ progress: 70, downloadedBytes: 700 });
  });

  it("arriving twice change nothing", () => {
    const once = run(seeded, progress(30, 12));
    expect(jobsReducer(once, progress(30, 12))).toEqual(once);
  });

  it("from before a pause are ignored once the pause is known", () => {
    const state = run(
      seeded,
      { type: "job", job: job({ status: "paused", progress: 50, speed: null, eta: null, updatedAt: at(20) }) },
      progress(52, 19),
    );
    expect(state.byId[ID]).toMatchObject({ status: "paused", progress: 50 });
  });

  it("of a retried job start again from zero", () => {
    const state = run(
      seeded,
      progress(80, 12),
      { type: "update", event: { jobId: ID, status: "failed", stage: "downloading", progress: 80, attempt: 1, updatedAt: at(13) } },
      { type: "update", event: { jobId: ID, status: "queued", stage: "queued", progress: 0, attempt: 1, updatedAt: at(14) } },
      { type: "update", event: { jobId: ID, status: "running", stage: "resolving", progress: 0, attempt: 2, updatedAt: at(15) } },
      progress(5, 16, 2),
    );
    expect(state.byId[ID]).toMatchObject({ status: "running", attempt: 2, progress: 5 });
  });

  it("of a resumed job keep the bar until the new attempt reports", () => {
    const paused = run(seeded, progress(40, 12), {
      type: "update",
      event: { jobId: ID, status: "paused", stage: "downloading", progress: 40, attempt: 1, updatedAt: at(13) },
    });
    const claimed = run(
      { type: "snapshot", jobs: [paused.byId[ID] as Job], nextCursor: null },
      { type: "update", event: { jobId: ID, status: "queued", stage: "queued", progress: 40, attempt: 1, updatedAt: at(14) } },
      { type: "update", event: { jobId: ID, status: "running", stage: "resolving", progress: 0, attempt: 2, updatedAt: at(15) } },
    );
    expect(claimed.byId[ID]).toMatchObject({ status: "running", attempt: 2, progress: 40 });
    expect(jobsReducer(claimed, progress(41, 16, 2)).byId[ID]?.progress).toBe(41);
    expect(jobsReducer(claimed, progress(3, 16, 2)).byId[ID]?.progress).toBe(3);
  });

  it("without a timestamp (an older gateway) apply only while the job runs", () => {
    const paused = run({ type: "snapshot", jobs: [job({ status: "paused" })], nextCursor: null });
    const late = { type: "progress", event: { jobId: ID, stage: "downloading", progress: 90, downloadedBytes: 1 } } as const;
    expect(jobsReducer(paused, late)).toBe(paused);
    expect(jobsReducer(run(seeded), late).byId[ID]?.progress).toBe(90);
  });

  it("for a job the page does not know are left for its snapshot", () => {
    const state = run(progress(10, 12));
    expect(state.byId).toEqual({});
    expect(needsSnapshot(state, ID)).toBe(true);
  });
});

describe("job-update events", () => {
  it("change the status and clear what no longer applies", () => {
    const state = run(seeded, {
      type: "update",
      event: { jobId: ID, status: "cancelled", stage: "downloading", progress: 10, attempt: 1, updatedAt: at(20) },
    });
    expect(state.byId[ID]).toMatchObject({ status: "cancelled", speed: null, eta: null });
  });

  it("older than the state the page holds are ignored", () => {
    const state = run(
      seeded,
      { type: "job", job: job({ status: "paused", updatedAt: at(30) }) },
      { type: "update", event: { jobId: ID, status: "running", stage: "downloading", progress: 12, updatedAt: at(25) } },
    );
    expect(state.byId[ID]?.status).toBe("paused");
  });

  it("remove a deleted job", () => {
    expect(run(seeded, { type: "update", event: { jobId: ID, deleted: true } }).byId).toEqual({});
  });
});

describe("outcome events", () => {
  const done: JobsAction = {
    type: "update",
    event: { jobId: ID, status: "completed", stage: "done", progress: 100, attempt: 1, updatedAt: at(40) },
  };

  it("completed adds the file and its download link", () => {
    const state = run(seeded, done, {
      type: "completed",
      event: { jobId: ID, filename: "clip.mp4", size: 1000 },
    });
    expect(state.byId[ID]).toMatchObject({ status: "completed", filename: "clip.mp4", size: 1000, progress: 100 });
    expect(state.byId[ID]?.links.download).toBe(`/files/${ID}/download`);
  });

  it("failed adds the reason only to a job that failed", () => {
    const failed = run(
      seeded,
      { type: "update", event: { jobId: ID, status: "failed", stage: "downloading", progress: 10, updatedAt: at(40) } },
      { type: "failed", event: { jobId: ID, errorCode: "HTTP_404", message: "HTTP Error 404" } },
    );
    expect(failed.byId[ID]).toMatchObject({ errorCode: "HTTP_404", errorMessage: "HTTP Error 404" });
    const retried = run(
      seeded,
      { type: "job", job: job({ status: "queued", updatedAt: at(50) }) },
      { type: "failed", event: { jobId: ID, errorCode: "HTTP_404", message: "late" } },
    );
    expect(retried.byId[ID]?.errorCode).toBeNull();
  });
});

describe("submits and details", () => {
  it("a submitted job shows at once and gives way to the server's snapshot", () => {
    const submitted = run({ type: "submitted", id: ID, url: "https://media.example/clip.mp4", jobType: "video", at: 0 });
    expect(submitted.byId[ID]).toMatchObject({ status: "queued", placeholder: true });
    expect(needsSnapshot(submitted, ID)).toBe(true);
    const known = jobsReducer(submitted, { type: "job", job: job() });
    expect(known.byId[ID]?.placeholder).toBeUndefined();
    expect(needsSnapshot(known, ID)).toBe(false);
  });

  it("history from the detail survives later snapshots without one", () => {
    const detail: JobDetail = {
      ...job(),
      history: [{ at: at(0), from: null, to: "queued", actor: "api", reason: "created" }],
    };
    const state = run(seeded, { type: "job", job: detail }, { type: "snapshot", jobs: [job({ updatedAt: at(11) })], nextCursor: null });
    expect(state.byId[ID]?.history).toHaveLength(1);
  });

  it("a removed job is gone", () => {
    expect(run(seeded, { type: "removed", id: ID }).byId).toEqual({});
  });
});

describe("someJobFinished", () => {
  const running = run(seeded);
  const finishing = (status: "completed" | "failed" | "paused"): JobsAction => ({
    type: "update",
    event: { jobId: ID, status, updatedAt: at(20) },
  });

  it("is true when a followed job completes or fails", () => {
    expect(someJobFinished(running, jobsReducer(running, finishing("completed")))).toBe(true);
    expect(someJobFinished(running, jobsReducer(running, finishing("failed")))).toBe(true);
  });

  it("is true when a poll's snapshot brings the news", () => {
    const polled = jobsReducer(running, {
      type: "snapshot",
      jobs: [job({ status: "completed", updatedAt: at(20) })],
      nextCursor: null,
    });
    expect(someJobFinished(running, polled)).toBe(true);
  });

  it("is false for progress, a pause, or the file added to a job already completed", () => {
    expect(someJobFinished(running, jobsReducer(running, progress(50, 12)))).toBe(false);
    expect(someJobFinished(running, jobsReducer(running, finishing("paused")))).toBe(false);
    const completed = jobsReducer(running, finishing("completed"));
    const withFile = jobsReducer(completed, {
      type: "completed",
      event: { jobId: ID, filename: "clip.mp4", size: 1000 },
    });
    expect(withFile).not.toBe(completed);
    expect(someJobFinished(completed, withFile)).toBe(false);
  });

  it("is false for finished jobs the page sees for the first time", () => {
    const loaded = run({ type: "snapshot", jobs: [job({ status: "completed" })], nextCursor: null });
    expect(someJobFinished(initialJobs, loaded)).toBe(false);
  });
});
