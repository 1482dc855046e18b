"""Which worker holds which job on this gateway, and when that worker must stop.

A worker connection (a Socket.IO sid on `/worker`) holds a job at one attempt from its claim
until it reports the outcome, is told to stop, or disconnects. Every rule that stops a worker
lives here: jobstore's change feed moving the job away from the holder's attempt (cancel,
pause, a requeue, an outcome it did not report, a newer attempt), a deletion, and jobstore
refusing the holder's progress. `WorkerAssignments` decides; a `ControlChannel` only carries
the resulting `control {jobId, action}` to the socket.

Each gateway instance knows only its own connections. A worker that reconnects (a new sid,
perhaps on another instance) is found again through its next progress report, which makes it
the holder. Only a proven claimer gets here: `WorkerNamespace` asks `gateway.claims` first,
so a connection that neither claimed the attempt nor sends its claim secret never becomes a
holder, and never receives the job's control messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway import views
from gateway.progress import ProgressBuffer, Refused
from haul.contract.events import ControlAction, ControlMessage
from haul.jobstore.v1 import jobstore_pb2 as pb

# What a worker holding a job is told when the job moves to each status without it.
CONTROL_FOR_STATUS: dict[int, ControlAction] = {
    pb.JOB_STATUS_CANCELLED: "cancel",
    pb.JOB_STATUS_PAUSED: "pause",
    pb.JOB_STATUS_COMPLETED: "abort",
    pb.JOB_STATUS_FAILED: "abort",
    pb.JOB_STATUS_QUEUED: "abort",
}

# What a worker is told when jobstore refuses its progress; any other refusal means "abort".
CONTROL_FOR_REFUSAL: dict[int, ControlAction] = {
    pb.REFUSAL_JOB_NOT_FOUND: "cancel",
}


@dataclass(frozen=True)
class Holding:
    """The worker connection working on a job, and the attempt it works on."""

    sid: str
    attempt: int


class ControlChannel(Protocol):
    async def send(self, sid: str, message: ControlMessage) -> None:
        """Deliver one `control` message to one worker connection of this gateway."""


class WorkerAssignments:
    """The holder of each job on this gateway, kept current, and the rules that stop it."""

    def __init__(self, channel: ControlChannel, progress: ProgressBuffer) -> None:
        self._channel = channel
        self._progress = progress
        self._holding: dict[str, Holding] = {}  # job id -> holder
        self._jobs_of: dict[str, set[str]] = {}  # sid -> job ids it holds

    def holder_of(self, job_id: str) -> Holding | None:
        """The local connection working on `job_id`, or None when no worker here holds it."""
        return self._holding.get(job_id)

    def claimed(self, job_id: str, sid: str, attempt: int) -> None:
        """jobstore gave `attempt` of the job to the worker on `sid`."""
        self._hold(job_id, sid, attempt)

    def reported_progress(self, job_id: str, sid: str, attempt: int) -> None:
        """Progress from `sid`, proven to be the claimer, was accepted: it holds the job from now on.

        This is how a worker is found again after it reconnects under a new sid; the caller has
        checked its claim secret (`gateway.claims`), so a rogue connection never gets here.
        """
        self._hold(job_id, sid, attempt)

    def released(self, job_id: str) -> None:
        """The holder is reporting the job's outcome. It lets go first, so that the change feed
        announcing that outcome (which may arrive before jobstore's reply) does not stop it."""
        holding = self._holding.pop(job_id, None)
        if holding is not None:
            self._jobs_of.get(holding.sid, set()).discard(job_id)

    def disconnected(self, sid: str) -> None:
        """The connection is gone; whatever it held has no local holder now."""
        for job_id in self._jobs_of.pop(sid, set()):
            holding = self._holding.get(job_id)
            if holding is not None and holding.sid == sid:
                del self._holding[job_id]

    async def job_changed(self, job: pb.Job, *, status_changed: bool) -> None:
        """Stop the holder when jobstore's new state of the job no longer belongs to its attempt.

        `status_changed` is False when only the stage or progress moved: for a job that is not
        running, such a change says nothing the status change did not already say.
        """
        holding = self._holding.get(job.id)
        if holding is None:
            return
        if job.status == pb.JOB_STATUS_RUNNING:
            if holding.attempt < job.attempt:
                await self._stop(job.id, "abort", f"attempt {job.attempt} now owns the job")
            return
        action = CONTROL_FOR_STATUS.get(job.status)
        # The feed can lag behind a claim: a change from before the holder's attempt (the job's
        # creation, say, delivered after the claim) says nothing about that attempt.
        if status_changed and action is not None and job.attempt >= holding.attempt:
            await self._stop(job.id, action, f"the job is now {views.STATUS_NAMES.get(job.status)}")

    async def job_deleted(self, job_id: str) -> None:
        """A deleted job's worker must stop and remove its partial files."""
        await self._stop(job_id, "cancel", "the job was deleted")

    async def progress_refused(self, refused: list[Refused]) -> None:
        """jobstore refused these reports: their attempts no longer own the jobs."""
        for item in refused:
            action = CONTROL_FOR_REFUSAL.get(item.refusal, "abort")
            await self._stop(item.job_id, action, "jobstore refused this attempt's progress")

    async def _stop(self, job_id: str, action: ControlAction, reason: str) -> None:
        holding = self._holding.get(job_id)
        if holding is None:
            return
        await self._channel.send(holding.sid, ControlMessage(job_id=job_id, action=action, reason=reason))
        if action != "pause":
            # Cancel and abort end this attempt's reports, so its buffered progress goes with it
            # (the buffer stays bounded); a paused job is not over.
            self._progress.forget(job_id)
        self.released(job_id)

    def _hold(self, job_id: str, sid: str, attempt: int) -> None:
        previous = self._holding.get(job_id)
        if previous is not None and previous.sid != sid:
            self._jobs_of.get(previous.sid, set()).discard(job_id)
        self._holding[job_id] = Holding(sid, attempt)
        self._jobs_of.setdefault(sid, set()).add(job_id)
