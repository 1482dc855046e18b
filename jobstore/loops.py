"""jobstore's background loops: the dispatcher (which is also the reconciler), the reaper, and
the rollup of daily figures."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Sequence

import structlog

from jobstore import service, stats_service
from jobstore.adapters.rqueue import RqDispatcher
from jobstore.domain.changes import ChangeKind, JobChange
from jobstore.domain.model import Job, JobStatus
from jobstore.ports import UnitOfWork

log = structlog.get_logger(__name__)

MAX_BACKOFF = 30.0
# The statuses a queued job reaches without a claim (completed and failed need one).
LEFT_UNCLAIMED = frozenset({JobStatus.PAUSED, JobStatus.CANCELLED})
NOT_QUEUED_BATCH = 5000


def backed_off(delay: float) -> float:
    """The wait after a failed pass: doubled, at least a second and at most MAX_BACKOFF, so a
    database that is away is not hammered and one that came back is used again soon."""
    return min(max(delay * 2, 1.0), MAX_BACKOFF)


def left_unclaimed(change: JobChange) -> bool:
    """Whether the change may leave a pending RQ job of no use behind: the job was paused or
    cancelled (queued or running), or deleted (whatever its status: nothing of it is wanted)."""
    return change.kind is ChangeKind.DELETED or change.job.status in LEFT_UNCLAIMED


class DispatchLoop:
    """Enqueue queued jobs on RQ: at once when a job becomes queued, and every `interval`
    seconds for all of them, which repairs whatever RQ lost (a worker that died between taking
    a job off the queue list and starting it included: see `RqDispatcher`). Jobs that left the
    queue unclaimed (paused, cancelled, deleted) have their pending RQ jobs withdrawn at once.

    A wake-up acts only on the jobs its changes named (`pass_noticed`): it enqueues the ones
    that became queued, under the attempt the change carries, without reading the database. A
    burst of creates used to run the full pass (up to 1,000 queued rows read and one HMGET
    each) for every few creates, which cost more than the creates themselves. The full pass
    still runs every `interval` seconds, however often the loop is woken."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        dispatcher: RqDispatcher,
        interval: float,
        queue_depth: Callable[[int], None] | None = None,
    ) -> None:
        self._uow = uow_factory
        self._dispatcher = dispatcher
        self._interval = interval
        # Told how many jobs wait in RQ after every pass.
        self._queue_depth = queue_depth
        self._wake = asyncio.Event()
        # Jobs that left `queued` without a claim since the last pass.
        self._leaving: set[uuid.UUID] = set()
        # Jobs that became queued since the last pass -> the attempt their next claim gets.
        self._fresh: dict[uuid.UUID, int] = {}
        # Whether the first pass has looked at every job on the queue list.
        self._swept = False

    def notice(self, changes: Sequence[JobChange]) -> None:
        """Called with every published change; wakes the loop when something became queued, or
        left the queue without a claim (its pending RQ job is then withdrawn)."""
        wake = False
        for change in changes:
            if change.kind is ChangeKind.UPSERTED and change.job.status is JobStatus.QUEUED:
                self._leaving.discard(change.job.id)
                self._fresh[change.job.id] = change.job.attempt + 1
                wake = True
            elif left_unclaimed(change):
                self._leaving.add(change.job.id)
                self._fresh.pop(change.job.id, None)
                wake = True
        if wake:
            self._wake.set()

    async def run(self) -> None:
        delay = self._interval
        full_due = time.monotonic()  # the first pass is a full one, at once: what waits goes now
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, full_due - time.monotonic()))
            self._wake.clear()
            full = time.monotonic() >= full_due
            try:
                if full:
                    # What was noticed first: the full pass reads only the oldest queued jobs,
                    # and would leave newer noticed ones waiting for a wake-up that may not come.
                    await self.pass_noticed()
                    await self.pass_once()
                    delay = self._interval
                    full_due = time.monotonic() + delay
                else:
                    await self.pass_noticed()
            except Exception as exc:
                delay = backed_off(delay)
                full_due = time.monotonic() + delay
                log.warning("dispatch pass failed", error=str(exc), retry_in=delay)

    async def pass_once(self) -> int:
        if not self._swept:
            # What this process was not told about: jobs that left the queue while no jobstore
            # ran, or whose notice a stopped one never acted on.
            self._leaving |= await asyncio.to_thread(self._dispatcher.listed_jobs)
            self._swept = True
        leaving, self._leaving = self._leaving, set()
        try:
            if leaving:
                await self._withdraw(leaving)
        except BaseException:
            self._leaving |= leaving  # withdrawn on the next pass
            raise
        queued = await service.queued_attempts(self._uow())
        pairs = [(job_id, attempt + 1) for job_id, attempt in queued]
        added = await asyncio.to_thread(self._dispatcher.ensure_enqueued, pairs) if pairs else 0
        if self._queue_depth is not None:
            self._queue_depth(await asyncio.to_thread(self._dispatcher.depth))
        return added

    async def pass_noticed(self) -> int:
        """Act on the changes noticed since the last pass only: withdraw the jobs that left the
        queue, and enqueue those that became queued where RQ holds nothing under their id
        (anything it holds is the full pass's to judge). Returns how many were enqueued."""
        leaving, self._leaving = self._leaving, set()
        fresh, self._fresh = self._fresh, {}
        try:
            if leaving:
                await self._withdraw(leaving)
            pairs = list(fresh.items())
            added = await asyncio.to_thread(self._dispatcher.enqueue_new, pairs) if pairs else 0
        except BaseException:
            # Tried again on the next pass, unless a later change said otherwise.
            self._fresh = {**{k: v for k, v in fresh.items() if k not in self._leaving}, **self._fresh}
            self._leaving |= {k for k in leaving if k not in self._fresh}
            raise
        if self._queue_depth is not None:
            self._queue_depth(await asyncio.to_thread(self._dispatcher.depth))
        return added

    async def _withdraw(self, leaving: set[uuid.UUID]) -> None:
        # The database is read after the changes were noticed: a job resumed since is queued
        # again, under the same RQ id, and keeps it. One resumed after this read loses it, and
        # is woken for and enqueued again by the next pass.
        withdrawn = await not_queued(self._uow(), leaving)
        if withdrawn:
            removed = await asyncio.to_thread(self._dispatcher.withdraw, withdrawn)
            if removed:
                log.info("jobs withdrawn from the queue", jobs=len(withdrawn), rq_jobs=len(removed))


async def not_queued(uow: UnitOfWork, job_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the jobs the database does not hold as queued (any other status, or gone)."""
    ids = sorted(job_ids)
    found: dict[uuid.UUID, Job] = {}
    async with uow:
        for start in range(0, len(ids), NOT_QUEUED_BATCH):  # under PostgreSQL's 32,767 parameters
            found.update(await uow.jobs.get_many(ids[start : start + NOT_QUEUED_BATCH]))
    return {
        job_id for job_id in job_ids if job_id not in found or found[job_id].status is not JobStatus.QUEUED
    }


class ReapLoop:
    """Re-queue running jobs whose heartbeat expired; the worker's own watchdog may be dead too."""

    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], heartbeat_timeout: float, interval: float
    ) -> None:
        self._uow = uow_factory
        self._heartbeat_timeout = heartbeat_timeout
        self._interval = interval

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.pass_once()
            except Exception as exc:
                log.warning("reap pass failed", error=str(exc))

    async def pass_once(self) -> int:
        reaped = await service.reap_stalled(self._uow(), self._heartbeat_timeout)
        for job in reaped:
            log.warning(
                "stalled job reaped", job_id=str(job.id), status=job.status.value, attempt=job.attempt
            )
        return len(reaped)


class DailyStatsLoop:
    """Keep the daily figures current: recompute today, and the days jobs finished on since the
    last pass, every `interval` seconds. The first pass runs at once (and, on a database that
    has never been rolled up, fills in every day since the first job finished)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], interval: float) -> None:
        self._uow = uow_factory
        self._interval = interval

    async def run(self) -> None:
        while True:
            try:
                await stats_service.roll_up_stats(self._uow())
            except Exception as exc:
                log.warning("stats rollup failed", error=str(exc))
            await asyncio.sleep(self._interval)
