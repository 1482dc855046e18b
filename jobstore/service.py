"""Use cases: each function is one transaction on a unit of work.

The functions take already-validated domain values; the gRPC layer converts and validates.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from jobstore import archive, subscriptions
from jobstore.domain.collections import CollectionReport, CollectionSummary
from jobstore.domain.errors import (
    IdempotencyConflict,
    InvalidInput,
    InvalidTransition,
    JobNotFound,
)
from jobstore.domain.model import CONTROL_SOURCES, ControlAction, Job, JobStatus, Refusal, StatusChange
from jobstore.domain.stats import (
    DailyStats,
    StatsFigures,
    StatsReport,
    day_bounds,
    days_from,
    days_to_refresh,
    window_totals,
)
from jobstore.domain.values import FileResult, JobOptions, JobType, ProgressReport
from jobstore.ports import DuplicateIdempotencyKey, EntryCursor, ListCursor, UnitOfWork

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


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
class JobPage:
    jobs: list[Job]
    next_page_token: str


@dataclass(frozen=True)
class Outcome:
    """The answer to a worker: applied, or refused and why; with the job when it exists."""

    refusal: Refusal | None
    job: Job | None

    @property
    def accepted(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class CollectionOutcome(Outcome):
    """The answer to a worker's collection report: also how many children it created."""

    created: int = 0


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
    """Create a queued job. With an idempotency key, a replay returns the first job unchanged."""
    fingerprint = cmd.fingerprint()
    if cmd.idempotency_key:
        replayed = await _replay(uow, cmd.idempotency_key, fingerprint)
        if replayed is not None:
            return replayed, False
    job = Job.create(
        cmd.url, cmd.type, cmd.options, cmd.max_attempts, now(), cmd.idempotency_key, fingerprint
    )
    try:
        async with uow:
            await uow.jobs.add(job)
            await uow.commit()
    except DuplicateIdempotencyKey:
        assert cmd.idempotency_key is not None
        replayed = await _replay(uow, cmd.idempotency_key, fingerprint)
        if replayed is None:
            raise
        return replayed, False
    return job, True


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
        return await _list_children(uow, parent_id, statuses, page_size, page_token)
    after = decode_page_token(page_token) if page_token else None
    async with uow:
        jobs = await uow.jobs.list_page(statuses, page_size + 1, after)
    if len(jobs) <= page_size:
        return JobPage(jobs, "")
    jobs = jobs[:page_size]
    return JobPage(jobs, encode_page_token((jobs[-1].created_at, jobs[-1].id)))


async def _list_children(
    uow: UnitOfWork, parent_id: uuid.UUID, statuses: Sequence[JobStatus], page_size: int, page_token: str
) -> JobPage:
    after = decode_entry_token(page_token) if page_token else None
    async with uow:
        if await uow.jobs.get(parent_id) is None:
            raise JobNotFound(parent_id)
        jobs = await uow.jobs.list_children(parent_id, statuses, page_size + 1, after)
    if len(jobs) <= page_size:
        return JobPage(jobs, "")
    jobs = jobs[:page_size]
    return JobPage(jobs, encode_entry_token((jobs[-1].entry_index, jobs[-1].id)))


async def delete_job(uow: UnitOfWork, job_id: uuid.UUID, now: Clock = utcnow) -> Deletion:
    """Remove a job and its history, whatever its status; a collection's children go with it, and a
    child's parent counts one entry less. Workers learn of it from the feed; the caller removes
    the files of the job and of every job in `removed`."""
    async with uow:
        job = await _locked_with_parent(uow, job_id)
        removed = await uow.jobs.delete_children(job) if job.collection is not None else []
        await uow.jobs.delete(job)
        await _roll_up(uow, job.parent_id, now())
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
        job = await _locked_with_parent(uow, job_id)
        if job.collection is None:
            job.control(action, at, "api", reason)
            await uow.jobs.save(job)
            await _roll_up(uow, job.parent_id, at)
        else:
            await _control_children(uow, job, action, reason, at)
            job = await _roll_up(uow, job.id, at) or job
        await uow.commit()
    return job


async def _control_children(
    uow: UnitOfWork, parent: Job, action: ControlAction, reason: str, at: datetime
) -> None:
    children = [c for c in await uow.jobs.children(parent.id, for_update=True) if c.allows(action)]
    if not children:
        allowed = " or ".join(sorted(s.value for s in CONTROL_SOURCES[action]))
        raise InvalidTransition(
            f"cannot {action.value} a collection with no {allowed} entry to {action.value}"
        )
    for child in children:
        child.control(action, at, "api", reason or f"{action.value} of the collection")
    await uow.jobs.save_many(children)


async def report_collection(
    uow: UnitOfWork, job_id: uuid.UUID, report: CollectionReport, max_items: int, now: Clock = utcnow
) -> CollectionOutcome:
    """The worker resolved the job's URL to a collection: create one child per entry in one
    batched write (a refused entry as a failed child), and make the job their parent.

    At most `max_items` entries (the job's own max_items when set) are taken; the rest are cut
    and the summary says so. Children are keyed by (parent, entry key): a resent report of the
    same attempt is accepted and creates nothing. The parent's row stays locked throughout.
    """
    at = now()
    async with uow:
        job = await uow.jobs.get(job_id, for_update=True)
        if job is None:
            return CollectionOutcome(Refusal.JOB_NOT_FOUND, None)
        if job.collection is not None and report.attempt == job.attempt:
            return CollectionOutcome(None, job, 0)
        refusal = job.expansion_refusal(report.attempt)
        if refusal is not None:
            return CollectionOutcome(refusal, job)
        if job.type is JobType.FILE:
            raise InvalidInput("a file job is never expanded into a collection")
        if job.parent_id is not None:
            # One level only: a parent's counts and status are its children's, not its grandchildren's.
            raise InvalidInput("an entry of a collection is never expanded into another collection")
        cap = job.options.max_items or max_items
        entries, seen = [], await uow.jobs.entry_keys(job.id)
        for entry in report.entries:
            if entry.key not in seen:
                seen.add(entry.key)
                entries.append(entry)
        # A subscription's check skips the entries an earlier check holds, live or completed.
        held = await subscriptions.held_entry_keys(uow, job)
        entries, skipped = await archive.unarchived(uow, job, [e for e in entries if e.key not in held])
        skipped += len(held.intersection(e.key for e in report.entries))
        truncated = report.truncated or len(entries) > cap
        children = [job.entry(entry, at) for entry in entries[:cap]]
        await uow.jobs.add_children(children)
        summary = CollectionSummary(
            title=report.title, listed=report.listed, truncated=truncated, skipped=skipped
        )
        job.become_collection(summary, at)
        job.roll_up(await uow.jobs.child_counts(job.id), at)
        await uow.jobs.save(job)
        await subscriptions.note_check(uow, job, at)
        await uow.commit()
    return CollectionOutcome(None, job, len(children))


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
                await _roll_up(uow, parent_id, at)
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
            job = await _locked_with_parent(uow, job_id)
        except JobNotFound:
            return Outcome(Refusal.JOB_NOT_FOUND, None)
        events_before = len(job.new_events)
        refusal = apply(job)
        if refusal is None and len(job.new_events) > events_before:
            await uow.jobs.save(job)
            if applied is not None:
                await applied(job)
            await _roll_up(uow, job.parent_id, now())
            await subscriptions.note_check(uow, job, now())
            await uow.commit()
    return Outcome(refusal, job)


async def _locked_with_parent(uow: UnitOfWork, job_id: uuid.UUID) -> Job:
    """The job, locked, after its parent when it has one. Every path that locks a parent and a
    child locks the parent first, so two of them never wait on each other."""
    job = await uow.jobs.get(job_id)
    if job is None:
        raise JobNotFound(job_id)
    if job.parent_id is not None:
        await uow.jobs.get(job.parent_id, for_update=True)
    return await _locked(uow, job_id)


async def _roll_up(uow: UnitOfWork, parent_id: uuid.UUID | None, at: datetime) -> Job | None:
    """Derive the parent's counts, progress and status from its children and store them when they
    changed; returns the parent (None for a top-level job or a parent deleted meanwhile)."""
    if parent_id is None:
        return None
    parent = await uow.jobs.get(parent_id, for_update=True)
    if parent is None or parent.collection is None:
        return None
    if parent.roll_up(await uow.jobs.child_counts(parent_id), at):
        await uow.jobs.save(parent)
    return parent


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
            await _roll_up(uow, parent_id, at)
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
            await _roll_up(uow, parent_id, at)
        if running:
            await uow.commit()
    return running


async def queued_jobs(uow: UnitOfWork, limit: int = 1000) -> list[Job]:
    """The queued jobs, oldest first, for the dispatcher."""
    async with uow:
        return await uow.jobs.queued(limit)


async def roll_up_stats(uow: UnitOfWork, now: Clock = utcnow) -> list[date]:
    """Recompute and store the daily figures of every day that may have changed since the last
    rollup (today, and the days jobs finished on since); returns those days."""
    async with uow:
        days = await _refresh_stats(uow, now())
        await uow.commit()
    return days


async def get_stats(uow: UnitOfWork, days: int, now: Clock = utcnow) -> StatsReport:
    """The figures of the last `days` UTC days, oldest first, and of the window as a whole.

    The days that may have changed since the last rollup, today included, are recomputed
    first, so the answer is current.
    """
    at = now()
    last = at.date()
    first = last - timedelta(days=days - 1)
    async with uow:
        await _refresh_stats(uow, at)
        stored = {d.day: d.figures for d in await uow.stats.stored(first, last)}
        median, p95 = await uow.stats.duration_percentiles(day_bounds(first)[0], day_bounds(last)[1])
        await uow.commit()
    series = [DailyStats(day, stored.get(day, StatsFigures())) for day in days_from(first, last)]
    return StatsReport(series, window_totals(series, median, p95))


async def _refresh_stats(uow: UnitOfWork, at: datetime) -> list[date]:
    last_rollup = await uow.stats.last_rollup()
    first_activity = None if last_rollup is not None else await uow.stats.first_activity()
    days = days_to_refresh(last_rollup, first_activity, at)
    await uow.stats.store([DailyStats(day, await uow.stats.compute(*day_bounds(day))) for day in days], at)
    return days


async def _locked(uow: UnitOfWork, job_id: uuid.UUID) -> Job:
    job = await uow.jobs.get(job_id, for_update=True)
    if job is None:
        raise JobNotFound(job_id)
    return job


def encode_page_token(cursor: ListCursor) -> str:
    raw = f"{cursor[0].isoformat()}|{cursor[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def encode_entry_token(cursor: EntryCursor) -> str:
    raw = f"e{cursor[0]}|{cursor[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_entry_token(token: str) -> EntryCursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not raw.startswith("e"):
            raise ValueError(raw)
        index, _, job_id = raw[1:].partition("|")
        return (int(index), uuid.UUID(job_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("page_token is not one this server issued") from None


def decode_page_token(token: str) -> ListCursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created, _, job_id = raw.partition("|")
        at = datetime.fromisoformat(created)
        return (at if at.tzinfo else at.replace(tzinfo=UTC), uuid.UUID(job_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("page_token is not one this server issued") from None
