import type { Job, JobType } from "../api/types";

/**
 * A job as it is the moment it is created: queued, nothing known of its media yet. The list
 * shows one in place of a job the server has not sent yet, and tests start from one.
 */
export function newJob(id: string, url: string, jobType: JobType, createdAt: string): Job {
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
    createdAt,
    updatedAt: createdAt,
    startedAt: null,
    finishedAt: null,
    links: { self: `/downloads/${id}`, file: null, download: null },
  };
}
