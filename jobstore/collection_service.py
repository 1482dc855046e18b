"""Collection use cases: a job whose URL listed entries becomes a parent of one child per entry.

The parent follows its children: its counts, progress and status are rolled up from theirs in
the same transaction as every change to a child. Every path that locks a parent and a child
locks the parent first, so two of them never wait on each other. The job use cases
(jobstore.service) call the locking and roll-up helpers here for a child's changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from jobstore import archive, subscriptions
from jobstore.clock import Clock, utcnow
from jobstore.domain.collections import CollectionReport, CollectionSummary
from jobstore.domain.errors import InvalidInput, InvalidTransition, JobNotFound
from jobstore.domain.model import CONTROL_SOURCES, ControlAction, Job, JobStatus, Refusal
from jobstore.domain.values import JobType
from jobstore.outcomes import CollectionOutcome
from jobstore.paging import JobPage, cut_page, decode_entry_token, entry_token
from jobstore.ports import UnitOfWork


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


async def list_children(
    uow: UnitOfWork, parent_id: uuid.UUID, statuses: Sequence[JobStatus], page_size: int, page_token: str
) -> JobPage:
    """A page of one collection's children in entry order, optionally only those in `statuses`."""
    after = decode_entry_token(page_token) if page_token else None
    async with uow:
        if await uow.jobs.get(parent_id) is None:
            raise JobNotFound(parent_id)
        jobs = await uow.jobs.list_children(parent_id, statuses, page_size + 1, after)
    return JobPage(*cut_page(jobs, page_size, entry_token))


async def control_children(
    uow: UnitOfWork, parent: Job, action: ControlAction, reason: str, at: datetime
) -> None:
    """Inside a control's transaction: apply `action` to every child whose status allows it;
    refused only when none does. The caller rolls the parent up."""
    children = [c for c in await uow.jobs.children(parent.id, for_update=True) if c.allows(action)]
    if not children:
        allowed = " or ".join(sorted(s.value for s in CONTROL_SOURCES[action]))
        raise InvalidTransition(
            f"cannot {action.value} a collection with no {allowed} entry to {action.value}"
        )
    for child in children:
        child.control(action, at, "api", reason or f"{action.value} of the collection")
    await uow.jobs.save_many(children)


async def locked_with_parent(uow: UnitOfWork, job_id: uuid.UUID) -> Job:
    """The job, locked, after its parent when it has one (parents before children).

    Most jobs have no parent: one locking read takes those (it locks nothing for a child, so the
    order holds), and only a child, or a job not found, costs the reads below.
    """
    job = await uow.jobs.get(job_id, for_update=True, top_level=True)
    if job is not None:
        return job
    job = await uow.jobs.get(job_id)
    if job is None:
        raise JobNotFound(job_id)
    if job.parent_id is not None:
        await uow.jobs.get(job.parent_id, for_update=True)
    job = await uow.jobs.get(job_id, for_update=True)
    if job is None:
        raise JobNotFound(job_id)
    return job


async def roll_up(uow: UnitOfWork, parent_id: uuid.UUID | None, at: datetime) -> Job | None:
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
