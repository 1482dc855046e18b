"""The job and its state machine (DESIGN §2), free of any I/O.

Every status change goes through a method here, and each one appends a `StatusChange` to
the job's `new_events`, which the repository stores as the job's history. The values a job is
made of (its type, options, stage and meta, and what workers report) are in
`jobstore.domain.values`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

# The enums are the contract's; re-exported here, where the domain has always named them.
from haul.contract.enums import TERMINAL_STATUSES as TERMINAL_STATUSES
from haul.contract.enums import ControlAction as ControlAction
from haul.contract.enums import JobStatus as JobStatus
from haul.contract.enums import Refusal as Refusal
from jobstore.domain.collections import ENTRY_REFUSED, ChildCounts, CollectionEntry, CollectionSummary
from jobstore.domain.errors import InvalidTransition
from jobstore.domain.values import FileResult, JobMeta, JobOptions, JobStage, JobType, ProgressReport

# Which statuses each person-driven action may start from.
CONTROL_SOURCES: dict[ControlAction, frozenset[JobStatus]] = {
    ControlAction.CANCEL: frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED}),
    ControlAction.PAUSE: frozenset({JobStatus.QUEUED, JobStatus.RUNNING}),
    ControlAction.RESUME: frozenset({JobStatus.PAUSED}),
    ControlAction.RETRY: frozenset({JobStatus.FAILED, JobStatus.CANCELLED}),
}


@dataclass(frozen=True)
class StatusChange:
    """One entry of a job's history."""

    at: datetime
    from_status: JobStatus | None
    to_status: JobStatus
    actor: str
    reason: str = ""


@dataclass
class Job:
    id: uuid.UUID
    url: str
    type: JobType
    options: JobOptions
    max_attempts: int
    created_at: datetime
    updated_at: datetime
    status: JobStatus = JobStatus.QUEUED
    stage: JobStage = JobStage.QUEUED
    progress: float = 0.0
    downloaded_bytes: int = 0
    total_bytes: int | None = None
    speed: float | None = None
    eta: float | None = None
    filename: str = ""
    output_path: str = ""
    size: int = 0
    sha256: str = ""
    error_code: str = ""
    error_message: str = ""
    meta: JobMeta = field(default_factory=JobMeta)
    # The fencing token: it only ever rises, one per claim.
    attempt: int = 0
    # `attempt` when the current window of attempts opened (creation, resume, retry).
    attempt_base: int = 0
    progress_seq: int = 0
    worker_id: str = ""
    heartbeat_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    idempotency_key: str | None = None
    request_fingerprint: str | None = None
    # A collection's child: its parent, its position (from 1) and its key within the parent.
    parent_id: uuid.UUID | None = None
    entry_index: int = 0
    entry_key: str | None = None
    # Set on a collection's parent only; its status and progress then follow its children's.
    collection: CollectionSummary | None = None
    # Set on a subscription's check job (a collection): what it finds is noted on the subscription.
    subscription_id: uuid.UUID | None = None
    new_events: list[StatusChange] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def create(
        cls,
        url: str,
        type: JobType,
        options: JobOptions,
        max_attempts: int,
        now: datetime,
        idempotency_key: str | None = None,
        request_fingerprint: str | None = None,
    ) -> Job:
        job = cls(
            id=uuid.uuid4(),
            url=url,
            type=type,
            options=options,
            max_attempts=max_attempts,
            created_at=now,
            updated_at=now,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
        )
        job.new_events.append(StatusChange(now, None, JobStatus.QUEUED, "api", "created"))
        return job

    def entry(self, entry: CollectionEntry, now: datetime) -> Job:
        """A queued child of this collection for one entry; failed at once when refused."""
        child = Job.create(entry.url, self.type, self.options.for_entry(), self.max_attempts, now)
        child.parent_id, child.entry_index, child.entry_key = self.id, entry.index, entry.key
        if entry.title:
            child.meta = JobMeta(title=entry.title)
        if entry.refused:
            child.error_code, child.error_message = ENTRY_REFUSED, entry.refused
            child._move(JobStatus.FAILED, now, "collection", f"{ENTRY_REFUSED}: {entry.refused}")
            child.finished_at = now
        return child

    def expansion_refusal(self, attempt: int) -> Refusal | None:
        """Why a worker's report that this job is a collection cannot be applied; None when it can
        (the current attempt of a running job that is not a collection yet)."""
        return self._report_refusal(attempt)

    def become_collection(self, summary: CollectionSummary, now: datetime) -> None:
        """The worker found a collection: this job now only follows its children. Its claim ends,
        so no heartbeat is expected and the reaper leaves it alone."""
        self.collection = summary
        if summary.title and not self.meta.title:
            self.meta = JobMeta(title=summary.title, extractor=self.meta.extractor)
        self.worker_id, self.heartbeat_at = "", None
        self.stage = JobStage.DOWNLOADING
        self.speed = self.eta = None
        self.updated_at = now

    def roll_up(self, counts: ChildCounts, now: datetime) -> bool:
        """Derive this parent's counts, progress and status from its children's (see
        jobstore.domain.collections); True when anything changed."""
        assert self.collection is not None, "only a collection rolls up"
        before = (self.collection, self.progress, self.status)
        self.collection = self.collection.counted(counts)
        self.progress = counts.progress()
        status = counts.status()
        if status is not self.status:
            self._move(status, now, "collection", _roll_up_reason(counts, status))
            self.finished_at = now if status.terminal else None
            self.stage = JobStage.DONE if status is JobStatus.COMPLETED else JobStage.DOWNLOADING
        changed = (self.collection, self.progress, self.status) != before
        if changed:
            self.updated_at = now
        return changed

    @property
    def attempts_left(self) -> int:
        return max(0, self.max_attempts - (self.attempt - self.attempt_base))

    # -- transitions driven by people ------------------------------------------------------

    def allows(self, action: ControlAction) -> bool:
        """Whether `control(action)` would apply. An entry the URL policy refused is never retried:
        its URL would be refused again, or worse, fetched."""
        if action is ControlAction.RETRY and self.error_code == ENTRY_REFUSED:
            return False
        return self.status in CONTROL_SOURCES[action]

    def control(self, action: ControlAction, now: datetime, actor: str, reason: str = "") -> None:
        """Apply cancel, pause, resume or retry, or raise InvalidTransition."""
        if action is ControlAction.RETRY and self.error_code == ENTRY_REFUSED:
            raise InvalidTransition("an entry refused by the URL policy cannot be retried")
        if self.status not in CONTROL_SOURCES[action]:
            raise InvalidTransition(f"cannot {action.value} a job that is {self.status.value}")
        if action is ControlAction.CANCEL:
            self._move(JobStatus.CANCELLED, now, actor, reason or "cancelled")
            self.finished_at = now
        elif action is ControlAction.PAUSE:
            self._move(JobStatus.PAUSED, now, actor, reason or "paused")
        elif action is ControlAction.RESUME:
            self._requeue(now, actor, reason or "resumed")
            self.attempt_base = self.attempt
        else:
            self._requeue(now, actor, reason or "retried")
            self.attempt_base = self.attempt
            self._reset_outcome()
        self.speed = self.eta = None

    # -- transitions driven by workers -----------------------------------------------------

    def claim(self, worker_id: str, now: datetime) -> Refusal | None:
        """Give the job to a worker: queued → running with a new attempt number."""
        if self.status is not JobStatus.QUEUED:
            return self._claim_refusal()
        self._move(JobStatus.RUNNING, now, f"worker:{worker_id}", f"claimed as attempt {self.attempt + 1}")
        self.attempt += 1
        self.worker_id = worker_id
        self.started_at = self.heartbeat_at = now
        self.stage = JobStage.RESOLVING
        self.progress, self.downloaded_bytes, self.progress_seq = 0.0, 0, 0
        self.total_bytes = self.speed = self.eta = None
        self.error_code = self.error_message = ""
        return None

    def apply_progress(self, report: ProgressReport, now: datetime) -> Refusal | None:
        """Store a progress report of the current attempt; progress never goes backwards."""
        refusal = self._report_refusal(report.attempt)
        if refusal is not None:
            return refusal
        if report.seq <= self.progress_seq:
            return Refusal.STALE_SEQ
        self.progress_seq = report.seq
        self.stage = report.stage
        self.progress = max(self.progress, report.progress)
        self.downloaded_bytes = report.downloaded_bytes
        self.total_bytes, self.speed, self.eta = report.total_bytes, report.speed, report.eta
        if report.meta is not None:
            self.meta = report.meta
        self.heartbeat_at = self.updated_at = now
        return None

    def complete(self, attempt: int, result: FileResult, now: datetime) -> Refusal | None:
        """The worker's file is in place. A resend of the same completion is accepted again.

        A completed job's byte counts describe the file it delivered: `downloaded_bytes` and
        `total_bytes` become its size. The last progress report may say nothing about bytes (the
        finishing step reports none, a finish found its file already in place, a conversion
        made a file of another size, or the transfer beat the progress cadence).
        """
        if self.status is JobStatus.COMPLETED and attempt == self.attempt:
            return None
        refusal = self._report_refusal(attempt)
        if refusal is not None:
            return refusal
        self._move(JobStatus.COMPLETED, now, f"worker:{self.worker_id}", "completed")
        self.stage, self.progress, self.finished_at = JobStage.DONE, 100.0, now
        self.filename, self.output_path = result.filename, result.output_path
        self.size, self.sha256 = result.size, result.sha256
        self.downloaded_bytes = self.total_bytes = result.size
        if result.meta is not None:
            self.meta = result.meta
        self.speed = self.eta = None
        return None

    def fail(self, attempt: int, code: str, message: str, retryable: bool, now: datetime) -> Refusal | None:
        """The attempt failed; queue it again while attempts remain and the error allows."""
        already_applied = self.status in (JobStatus.FAILED, JobStatus.QUEUED) and self.error_code == code
        if already_applied and attempt == self.attempt:
            return None
        refusal = self._report_refusal(attempt)
        if refusal is not None:
            return refusal
        actor = f"worker:{self.worker_id}"
        self._fail_or_requeue(code, message, retryable, now, actor)
        return None

    def interrupted(self, now: datetime, actor: str, reason: str) -> None:
        """Its worker went away with the whole service (a restart of a single machine): queue it
        again at once, without counting the attempt against the job. Partial files are kept."""
        self._requeue(now, actor, reason)
        self.attempt_base = min(self.attempt_base + 1, self.attempt)
        self.speed = self.eta = None

    def stall(self, now: datetime, heartbeat_timeout: float) -> None:
        """The reaper found no heartbeat for too long: treat it as a retryable failure."""
        message = f"no sign of life from the worker for {heartbeat_timeout:g} s"
        self._fail_or_requeue("STALLED", message, True, now, "reaper")

    # -- helpers ---------------------------------------------------------------------------

    def _fail_or_requeue(self, code: str, message: str, retryable: bool, now: datetime, actor: str) -> None:
        self.error_code, self.error_message = code, message
        if retryable and self.attempts_left > 0:
            self._requeue(now, actor, f"{code}: {message}; attempt {self.attempt} of {self.max_attempts}")
        else:
            self._move(JobStatus.FAILED, now, actor, f"{code}: {message}")
            self.finished_at = now
        self.speed = self.eta = None

    def _requeue(self, now: datetime, actor: str, reason: str) -> None:
        self._move(JobStatus.QUEUED, now, actor, reason)
        self.stage = JobStage.QUEUED
        self.worker_id = ""
        self.heartbeat_at = None
        self.finished_at = None

    def _reset_outcome(self) -> None:
        self.progress, self.downloaded_bytes, self.total_bytes = 0.0, 0, None
        self.filename = self.output_path = self.sha256 = ""
        self.size = 0
        self.error_code = self.error_message = ""

    def _move(self, to: JobStatus, now: datetime, actor: str, reason: str) -> None:
        self.new_events.append(StatusChange(now, self.status, to, actor, reason))
        self.status = to
        self.updated_at = now

    def _claim_refusal(self) -> Refusal:
        if self.status.terminal:
            return Refusal.JOB_FINISHED
        if self.status is JobStatus.RUNNING:
            return Refusal.ALREADY_CLAIMED
        return Refusal.JOB_NOT_RUNNING

    def _report_refusal(self, attempt: int) -> Refusal | None:
        if self.collection is not None:
            # Its worker handed it over to its children; nothing more comes from that attempt.
            return Refusal.JOB_NOT_RUNNING if attempt == self.attempt else Refusal.STALE_ATTEMPT
        if attempt != self.attempt:
            return Refusal.STALE_ATTEMPT
        if self.status.terminal:
            return Refusal.JOB_FINISHED
        if self.status is not JobStatus.RUNNING:
            return Refusal.JOB_NOT_RUNNING
        return None


def _roll_up_reason(counts: ChildCounts, status: JobStatus) -> str:
    if status is JobStatus.RUNNING:
        return "entries are queued or running"
    if status is JobStatus.PAUSED:
        return "every unfinished entry is paused"
    if not counts.total:
        return "the collection has no entries"
    return (
        f"every entry finished ({counts.by_status.get(JobStatus.COMPLETED, 0)} of {counts.total} completed)"
    )
