/**
 * Which actions a job's status allows: the sources of each transition in jobstore's state
 * machine (CONTROL_SOURCES in jobstore/domain/model.py, DESIGN §2). The server has the last
 * word and answers 409 if the status moved on meanwhile. Delete works in any status.
 */

import type { ControlAction, JobStatus } from "../api/types";

const SOURCES: Record<ControlAction, readonly JobStatus[]> = {
  cancel: ["queued", "running", "paused"],
  pause: ["queued", "running"],
  resume: ["paused"],
  retry: ["failed", "cancelled"],
};

export const CONTROL_ACTIONS: readonly ControlAction[] = ["pause", "resume", "cancel", "retry"];

export function allows(action: ControlAction, status: JobStatus): boolean {
  return SOURCES[action].includes(status);
}

export const ACTIVE_STATUSES: readonly JobStatus[] = ["queued", "running", "paused"];
