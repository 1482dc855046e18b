"""Job use cases: each function is one transaction on a unit of work.

A collection's own use cases (its report, its children, how a parent follows them) are in
jobstore.collection_service; the ones here call its helpers when a job is a child.

The functions take already-validated domain values; the gRPC layer converts and validates.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from haul.runtime.timeline import mark
from jobstore import archive, subscriptions
from jobstore.clock import Clock, utcnow
from jobstore.collection_service import control_children, list_children, locked_with_parent, roll_up
from jobstore.domain.errors import IdempotencyConflict, JobNotFound
from jobstore.domain.model import ControlAction, Job, JobStatus, Refusal, StatusChange
from jobstore.domain.values import FileResult, JobOptions, JobType, ProgressReport
from jobstore.outcomes import Outcome
from jobstore.paging import JobPage, after_newest, cut_page, newest_token
from jobstore.ports import DuplicateIdempotencyKey, UnitOfWork


@dataclass(frozen=True)
class CreateJob:
    url: str
    type: JobType
    options: JobOptions
    max_attempts: int
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        canonical = json.dumps(
            [self.url, self.type.value, self.options.to_json(), self.max_attempts], sort_keys=True
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Deletion:
    """A deleted job, and every job deleted with it (a collection's children)."""

    job: Job
    removed: list[Job]


@dataclass(frozen=True)
class ProgressOutcome:
    job_id: uuid.UUID
    seq: int
    refusal: Refusal | None


async def create_job(uow: UnitOfWork, cmd: CreateJob, now: Clock = utcnow) -> tuple[Job, bool]:
    """Create a queued job. With an idempotency key, a replay returns the first job unchanged.

    The insert comes first and the key's unique index decides: a replay is rare, and reading
    the key before every insert cost each create a second transaction on the one connection.
    """
    fingerprint = cmd.fingerprint()
    job = Job.create(
        cmd.url, cmd.type, cmd.options, cmd.max_attempts, now(), cmd.idempotency_key, fingerprint
    )
    try:
        async with uow:
            await uow.jobs.add(job)
            await uow.commit()
        mark("commit", job_id=str(job.id))
    except DuplicateIdempotencyKey:
        assert cmd.idempotency_key is not None
        replayed = await _replay(uow, cmd.idempotency_key, fingerprint)
        if replayed is None:
            raise
        return replayed, False
    return job, True


async def create_jobs(uow: UnitOfWork, cmds: Sequence[CreateJob], now: Clock = utcnow) -> list[Job]:
    """Create many queued jobs in one transaction (jobstore.group_commit), all or none. Replays
    are not looked for: a key stored before makes the whole insert fail (DuplicateIdempotencyKey)."""
    created = [
        Job.create(c.url, c.type, c.options, c.max_attempts, now(), c.idempotency_key, c.fingerprint())
        for c in cmds
    ]
    async with uow:
        await uow.jobs.add_many(created)
        await uow.commit()
    for job in created:
        mark("commit", job_id=str(job.id))
    return created


async def _replay(uow: UnitOfWork, key: str, fingerprint: str) -> Job | None:
    async with uow:
        existing = await uow.jobs.get_by_idempotency_key(key)
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict("this Idempotency-Key was already used for a different request")
    return existing


async def get_job(
    uow: UnitOfWork, job_id: uuid.UUID, include_history: bool
) -> tuple[Job, list[StatusChange]]:
    """One job and, when asked, its status history, oldest first."""
    async with uow:
        job = await uow.jobs.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        history = await uow.jobs.history(job_id) if include_history else []
    return job, history


async def list_jobs(
    uow: UnitOfWork,
    statuses: Sequence[JobStatus],
    page_size: int,
    page_token: str,
    parent_id: uuid.UUID | None = None,
) -> JobPage:
    """A page of top-level jobs, newest first, or of one collection's children in entry order;
    optionally only those in the given statuses."""
    if parent_id is not None:
        return await list_children(uow, parent_id, statuses, page_size, page_token)
    after = after_newest(page_token)
    async with uow:
        jobs = await uow.jobs.list_page(statuses, page_size + 1, after)
    return JobPage(*cut_page(jobs, page_size, newest_token))


async def delete_job(uow: UnitOfWork, job_id: uuid.UUID, now: Clock = utcnow) -> Deletion:
    """Remove a job and its history, whatever its status; a collection's children go with it, and a
    child's parent counts one entry less. Workers learn of it from the feed; the caller removes
    the files of the job and of every job in `removed`."""
    async with uow:
        job = await locked_with_parent(uow, job_id)
        removed = await uow.jobs.delete_children(job) if job.collection is not None else []
        await uow.jobs.delete(job)
        await roll_up(uow, job.parent_id, now())
        await uow.commit()
    return Deletion(job, removed)


async def control_job(
    uow: UnitOfWork, job_id: uuid.UUID, action: ControlAction, reason: str, now: Clock = utcnow
) -> Job:
    """Cancel, pause, resume or retry; raises InvalidTransition when the status forbids it.

    On a collection the action applies to every child whose status allows it (retry: the failed
    and cancelled ones), and is refused only when none does; the parent then follows its children.
    """
    at = now()
    async with uow:
        job = await locked_with_parent(uow, job_id)
        if job.collection is None:
            job.control(action, at, "api", reason)
            await uow.jobs.save(job)
            await roll_up(uow, job.parent_id, at)
        else:
            await control_children(uow, job, action, reason, at)
            job = await roll_up(uow, job.id, at) or job
        await uow.commit()
    return job


async def claim_job(uow: UnitOfWork, job_id: uuid.UUID, worker_id: str, now: Clock = utcnow) -> Outcome:
    """A worker takes a queued job. Of concurrent claims exactly one wins."""
    return await _apply_worker_report(uow, job_id, lambda job: job.claim(worker_id, now()))


async def report_progress(
    uow: UnitOfWork, reports: Sequence[ProgressReport], now: Clock = utcnow
) -> list[ProgressOutcome]:
    """Apply a batch of progress reports: one read and one write statement for the whole batch."""
    at = now()
    outcomes: list[ProgressOutcome] = []
    async with uow:
        jobs = await uow.jobs.get_many(sorted({r.job_id for r in reports}))
        parents = sorted({job.parent_id for job in jobs.values() if job.parent_id is not None})
        for parent_id in parents:  # parents before children, as every path locks them
            await uow.jobs.get(parent_id, for_update=True)
        changed: dict[uuid.UUID, Job] = {}
        for report in reports:
            job = jobs.get(report.job_id)
            refusal = Refusal.JOB_NOT_FOUND if job is None else job.apply_progress(report, at)
            if job is not None and refusal is None:
                changed[job.id] = job
            outcomes.append(ProgressOutcome(report.job_id, report.seq, refusal))
        if changed:
            await uow.jobs.save_progress(list(changed.values()))
            for parent_id in parents:
                await roll_up(uow, parent_id, at)
            await uow.commit()
    return outcomes


async def complete_job(
    uow: UnitOfWork,
    job_id: uuid.UUID,
    attempt: int,
    result: FileResult,
    now: Clock = utcnow,
    archive_id: str = "",
) -> Outcome:
    """The worker's attempt finished and its file is in place; the media's identity, when given,
    joins the download archive in the same transaction."""
    return await _apply_worker_report(
        uow,
        job_id,
        lambda job: job.complete(attempt, result, now()),
        applied=lambda job: archive.record_completion(uow, job, archive_id, now()),
    )


async def fail_job(
    uow: UnitOfWork,
    job_id: uuid.UUID,
    attempt: int,
    code: str,
    message: str,
    retryable: bool,
    now: Clock = utcnow,
) -> Outcome:
    """The worker's attempt failed; the job is queued again while attempts remain."""
    return await _apply_worker_report(
        uow, job_id, lambda job: job.fail(attempt, code, message, retryable, now())
    )


async def _apply_worker_report(
    uow: UnitOfWork,
    job_id: uuid.UUID,
    apply: Callable[[Job], Refusal | None],
    now: Clock = utcnow,
    applied: Callable[[Job], Awaitable[None]] | None = None,
) -> Outcome:
    """Lock the job, apply a worker's claim or report, and store it if it changed anything; a
    collection's child takes its parent along.

    A resent report that was already applied changes nothing and costs no write.
    """
    async with uow:
        try:
            job = await locked_with_parent(uow, job_id)
        except JobNotFound:
            return Outcome(Refusal.JOB_NOT_FOUND, None)
        events_before = len(job.new_events)
        refusal = apply(job)
        if refusal is None and len(job.new_events) > events_before:
            await uow.jobs.save(job)
            if applied is not None:
                await applied(job)
            await roll_up(uow, job.parent_id, now())
            await subscriptions.note_check(uow, job, now())
            await uow.commit()
    return Outcome(refusal, job)


async def reap_stalled(
    uow: UnitOfWork, heartbeat_timeout: float, limit: int = 500, now: Clock = utcnow
) -> list[Job]:
    """Re-queue (or fail, when out of attempts) running jobs whose heartbeat expired.

    A collection's child takes its parent along, and parents are locked before children on every
    path: when stalled children have parents, a first look (rolled back, so it holds no lock)
    finds the parents, and the pass that reaps locks them first. A child whose parent was not
    locked that way waits for the next pass.
    """
    at = now()
    cutoff = datetime.fromtimestamp(at.timestamp() - heartbeat_timeout, UTC)
    async with uow:
        candidates = await uow.jobs.stalled(cutoff, limit)
        parents = sorted({job.parent_id for job in candidates if job.parent_id is not None})
    async with uow:
        locked = {job.id for parent_id in parents if (job := await uow.jobs.get(parent_id, for_update=True))}
        stalled = [
            job
            for job in await uow.jobs.stalled(cutoff, limit)
            if job.parent_id is None or job.parent_id in locked
        ]
        for job in stalled:
            job.stall(at, heartbeat_timeout)
            await uow.jobs.save(job)
        for parent_id in sorted(locked):
            await roll_up(uow, parent_id, at)
        if stalled:
            await uow.commit()
    return stalled


async def requeue_interrupted(uow: UnitOfWork, limit: int = 10_000, now: Clock = utcnow) -> list[Job]:
    """Queue again every running job: for a jobstore that starts together with all the workers
    there are (a single machine), none of them can still be running."""
    at = now()
    async with uow:
        running = await uow.jobs.stalled(at, limit)
        for job in running:
            job.interrupted(at, "startup", "the service restarted while it ran; resumed")
            await uow.jobs.save(job)
        for parent_id in sorted({job.parent_id for job in running if job.parent_id is not None}):
            await roll_up(uow, parent_id, at)
        if running:
            await uow.commit()
    return running


async def queued_attempts(uow: UnitOfWork, limit: int = 1000) -> list[tuple[uuid.UUID, int]]:
    """(id, attempt) of the queued jobs, oldest first, for the dispatcher's full pass: reading
    whole rows cost it more than the rest of the pass, and held the one SQLite connection."""
    async with uow:
        return await uow.jobs.queued_attempts(limit)
