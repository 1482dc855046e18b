/**
 * The gateway's wire shapes, as gateway/views.py writes them (REST bodies and Socket.IO `/jobs`
 * events). Names and enums follow jobstore/domain/model.py and the OpenAPI document.
 */

export type JobStatus = "queued" | "running" | "paused" | "completed" | "failed" | "cancelled";
export type JobStage =
  | "queued"
  | "resolving"
  | "downloading"
  | "merging"
  | "postprocessing"
  | "finalizing"
  | "done";
export type JobType = "auto" | "video" | "audio" | "file";
export type AudioFormat = "mp3" | "m4a" | "opus";
export type VideoContainer = "mp4" | "mkv" | "webm";
export type ControlAction = "cancel" | "pause" | "resume" | "retry";

export interface DownloadOptions {
  maxHeight?: number | null;
  audioFormat?: AudioFormat | null;
  videoContainer?: VideoContainer | null;
}

export interface JobMeta {
  title: string | null;
  duration: number | null;
  extractor: string | null;
  thumbnail: string | null;
}

export interface JobLinks {
  self: string;
  file: string | null;
  download: string | null;
}

export interface Job {
  id: string;
  url: string;
  type: JobType;
  options: DownloadOptions;
  status: JobStatus;
  stage: JobStage;
  progress: number;
  downloadedBytes: number;
  totalBytes: number | null;
  speed: number | null;
  eta: number | null;
  filename: string | null;
  size: number | null;
  sha256: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  meta: JobMeta;
  attempt: number;
  maxAttempts: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  links: JobLinks;
}

export interface HistoryEvent {
  at: string;
  from: JobStatus | null;
  to: JobStatus;
  actor: string;
  reason: string;
}

/** `GET /downloads/{jobId}`: the job with its status history, oldest first. */
export interface JobDetail extends Job {
  history: HistoryEvent[];
}

/** `GET /downloads`: newest first. */
export interface JobPage {
  items: Job[];
  nextCursor: string | null;
}

/** `POST /downloads` → 202. */
export interface Accepted {
  jobId: string;
  status: JobStatus;
}

/** The answer to `subscribe {all: true}` on `/jobs`. */
export interface ListSnapshot {
  jobs: Job[];
  nextCursor: string | null;
}

/** `progress`: only ever sent while the job is running. */
export interface ProgressEvent {
  jobId: string;
  stage: JobStage;
  progress: number;
  downloadedBytes: number;
  speed?: number;
  eta?: number;
  totalBytes?: number;
  attempt?: number;
  updatedAt?: string;
}

/** `job-update`: a status or stage change, or `{jobId, deleted: true}`. */
export interface UpdateEvent {
  jobId: string;
  status?: JobStatus;
  stage?: JobStage;
  progress?: number;
  attempt?: number;
  updatedAt?: string;
  deleted?: boolean;
}

export interface CompletedEvent {
  jobId: string;
  filename: string;
  size: number;
  outputPath: string;
}

export interface FailedEvent {
  jobId: string;
  errorCode: string;
  message: string;
}

export interface SocketError {
  error: { code: string; message: string };
}

/** One span's figures of finished downloads (gateway/stats.py); what each means is jobstore's to say. */
export interface StatsFigures {
  completed: number;
  failed: number;
  cancelled: number;
  bytesDownloaded: number;
  /** Seconds of the completed jobs' successful attempt; null when none completed. */
  medianDurationSeconds: number | null;
  p95DurationSeconds: number | null;
  retries: number;
}

/** One UTC day, as `YYYY-MM-DD`. */
export interface DailyStats extends StatsFigures {
  day: string;
}

/** `GET /stats?days=N`: one entry per day, oldest first, ending today (UTC), and the window's totals. */
export interface Stats {
  days: DailyStats[];
  totals: StatsFigures;
}
