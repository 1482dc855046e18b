/**
 * The gateway's wire shapes (REST bodies and Socket.IO `/jobs` events), by the names the UI uses.
 * They are generated: the contract's pydantic models (haul/contract) make the OpenAPI document,
 * and `make types` turns it into schema.gen.ts. Edit the models, never these types.
 */

import type { components } from "./schema.gen";

type Schemas = components["schemas"];

export type JobStatus = Schemas["JobStatus"];
export type JobStage = Schemas["JobStage"];
export type JobType = Schemas["JobType"];
export type AudioFormat = Schemas["AudioFormat"];
export type VideoContainer = Schemas["VideoContainer"];
export type ControlAction = Schemas["ControlAction"];

/** The options a download is asked with (`POST /downloads`); a job's own are `JobOptions`. */
export type DownloadOptions = Schemas["DownloadOptions"];
export type JobOptions = Schemas["JobOptions"];
export type JobMeta = Schemas["JobMeta"];
export type JobLinks = Schemas["JobLinks"];
/** A collection's title and its children's counts (`Job.collection`). */
export type CollectionSummary = Schemas["CollectionSummary"];
export type Job = Schemas["Job"];
export type HistoryEvent = Schemas["HistoryEvent"];
/** `GET /downloads/{jobId}`: the job with its status history, oldest first. */
export type JobDetail = Schemas["JobDetail"];
/** `GET /downloads`: newest first. */
export type JobPage = Schemas["JobPage"];
/** `POST /downloads` → 202. */
export type Accepted = Schemas["Accepted"];
/** `DELETE /downloads/{jobId}`. */
export type Deleted = Schemas["Deleted"];

/** `subscribe` on `/jobs`, and its answers. */
export type SubscribeRequest = Schemas["SubscribeRequest"];
export type JobSnapshot = Schemas["JobSnapshot"];
export type ListSnapshot = Schemas["ListSnapshot"];
/**
 * `progress`: only ever sent while the job is running. During a rolling upgrade an older gateway
 * may send it without `attempt` and `updatedAt`, so the page accepts it without them.
 */
export type ProgressEvent = Omit<Schemas["JobProgress"], "attempt" | "updatedAt"> &
  Partial<Pick<Schemas["JobProgress"], "attempt" | "updatedAt">>;
/** `job-update`: a status or stage change, or `{jobId, deleted: true}`. */
export type UpdateEvent = Schemas["JobUpdate"];
export type CompletedEvent = Schemas["JobCompleted"];
export type FailedEvent = Schemas["JobFailed"];
/** Every error, REST or socket: `{error: {code, message}}`. */
export type SocketError = Schemas["Error"];

export type StatsFigures = Schemas["StatsFigures"];
/** One UTC day, as `YYYY-MM-DD`. */
export type DailyStats = Schemas["DailyStats"];
/** `GET /stats?days=N`: one entry per day, oldest first, ending today (UTC), and the window's totals. */
export type Stats = Schemas["Stats"];
