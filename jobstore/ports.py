"""What the service layer needs from storage, and what storage needs from the change feed,
as protocols: the service layer and the adapters both depend on these, never on each other,
and tests can use fakes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy.ext.asyncio import AsyncConnection

from jobstore.domain.archive import ArchiveEntry
from jobstore.domain.changes import JobChange
from jobstore.domain.collections import ChildCounts
from jobstore.domain.model import Job, JobStatus, StatusChange
from jobstore.domain.stats import DailyStats, StatsFigures
from jobstore.domain.subscriptions import Subscription

# Keyset position for listing: (created_at, id) of the last job on the previous page.
ListCursor = tuple[datetime, uuid.UUID]
# Keyset position for listing a collection's children: (entry_index, id) of the last child.
EntryCursor = tuple[int, uuid.UUID]


class DuplicateIdempotencyKey(Exception):
    """Raised by `JobRepository.add` when a concurrent create stored the same key first."""


class JobRepository(Protocol):
    async def add(self, job: Job) -> None:
        """Store a new job; raises DuplicateIdempotencyKey when its key is taken."""

    async def add_many(self, jobs: Sequence[Job]) -> None:
        """`add` for many new jobs in one batched statement; DuplicateIdempotencyKey when any
        key is taken (none of them is stored then, once the transaction is rolled back)."""

    async def get(
        self, job_id: uuid.UUID, *, for_update: bool = False, top_level: bool = False
    ) -> Job | None:
        """The job; with `top_level`, only a job without a parent (None for a child)."""

    async def get_many(self, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Job]: ...

    async def get_by_idempotency_key(self, key: str) -> Job | None: ...

    async def list_page(
        self, statuses: Sequence[JobStatus], limit: int, after: ListCursor | None
    ) -> list[Job]:
        """A page of top-level jobs (a collection's children are not among them), newest first."""

    async def list_children(
        self, parent_id: uuid.UUID, statuses: Sequence[JobStatus], limit: int, after: EntryCursor | None
    ) -> list[Job]:
        """A page of a collection's children, in entry order."""

    async def children(self, parent_id: uuid.UUID, *, for_update: bool = False) -> list[Job]:
        """Every child of a collection, in entry order."""

    async def entry_keys(self, parent_id: uuid.UUID) -> set[str]:
        """The entry keys of a collection's stored children."""

    async def add_children(self, children: Sequence[Job]) -> None:
        """Store new children in one batched write; a (parent, key) already stored is skipped."""

    async def child_counts(self, parent_id: uuid.UUID) -> ChildCounts:
        """How many children are in each status, and the progress of the unfinished ones."""

    async def parent_of(self, job_id: uuid.UUID) -> uuid.UUID | None:
        """The job's parent's id; None for a top-level (or missing) job."""

    async def delete_children(self, parent: Job) -> list[Job]:
        """Remove a collection's children and their history; returns them as they were."""

    async def save(self, job: Job) -> None:
        """Store every field of the job and append its new history events."""

    async def save_many(self, jobs: Sequence[Job]) -> None:
        """`save` for many jobs at once, in one batched statement (a control on a collection)."""

    async def save_progress(self, jobs: Sequence[Job]) -> None:
        """Store the progress fields of many running jobs at once, in one statement."""

    async def delete(self, job: Job) -> None: ...

    async def history(self, job_id: uuid.UUID) -> list[StatusChange]: ...

    async def stalled(self, heartbeat_before: datetime, limit: int) -> list[Job]:
        """Running jobs whose heartbeat is older than the cutoff, locked for update."""

    async def queued_attempts(self, limit: int) -> list[tuple[uuid.UUID, int]]:
        """(id, attempt) of the oldest queued jobs: what the dispatcher needs, without the rows."""


class StatsRepository(Protocol):
    """The daily figures (the `daily_stats` table) and the reads of jobs and history behind them."""

    async def last_rollup(self) -> datetime | None:
        """When the most recently computed day was computed; None before the first rollup."""

    async def first_activity(self) -> datetime | None:
        """When the first stored job finished or was first retried; None when none has."""

    async def compute(self, start: datetime, end: datetime) -> StatsFigures:
        """The figures of the span [start, end), from the jobs table and the jobs' history."""

    async def duration_percentiles(self, start: datetime, end: datetime) -> tuple[float | None, float | None]:
        """Median and 95th percentile of the durations of jobs completed in [start, end)."""

    async def store(self, days: Sequence[DailyStats], computed_at: datetime) -> None:
        """Insert or replace the rows of these days."""

    async def stored(self, first: date, last: date) -> list[DailyStats]:
        """The stored rows of the days from first to last, oldest first; days without a row are absent."""


class SubscriptionRepository(Protocol):
    """Subscriptions (jobstore.domain.subscriptions) and what their checks hold."""

    async def add(self, subscription: Subscription) -> None: ...

    async def get(self, subscription_id: uuid.UUID, *, for_update: bool = False) -> Subscription | None: ...

    async def list_page(self, limit: int, after: ListCursor | None) -> list[Subscription]:
        """Newest first."""

    async def due(self, now: datetime, limit: int) -> list[Subscription]:
        """Enabled subscriptions due at `now`, locked, skipping those another transaction holds."""

    async def claim(self, subscription: Subscription, due_at: datetime) -> bool:
        """Store it only if its due time is still `due_at`; False when someone else moved it."""

    async def save(self, subscription: Subscription) -> None: ...

    async def delete(self, subscription: Subscription) -> None:
        """Remove it; its jobs stay."""

    async def held_entry_keys(self, subscription_id: uuid.UUID, except_parent: uuid.UUID) -> set[str]:
        """Entry keys with a queued, running, paused or completed child in another check."""


class ArchiveRepository(Protocol):
    """The download archive (jobstore.domain.archive)."""

    async def add(self, entry: ArchiveEntry) -> bool:
        """Store the entry unless its identity is already archived; True when it was stored."""

    async def held(self, archive_ids: Iterable[str]) -> set[str]:
        """Which of these identities the archive holds."""

    async def list_page(self, limit: int, after: ListCursor | None) -> list[ArchiveEntry]:
        """Newest first."""

    async def get(self, entry_id: uuid.UUID) -> ArchiveEntry | None: ...

    async def delete(self, entry_id: uuid.UUID) -> None: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without commit() rolls back."""

    @property
    def jobs(self) -> JobRepository: ...

    @property
    def stats(self) -> StatsRepository: ...

    @property
    def archive(self) -> ArchiveRepository: ...

    @property
    def subscriptions(self) -> SubscriptionRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class ChangeFeed(Protocol):
    """Carries every committed change to the WatchJobs streams of every jobstore process."""

    @property
    def crosses_replicas(self) -> bool:
        """True when changes travel through the database (PostgreSQL LISTEN/NOTIFY), so every
        replica hears them, and `listen` must run for as long as jobstore serves. False for a
        feed within one process, which needs no listener."""

    async def before_commit(self, conn: AsyncConnection, changes: Sequence[JobChange]) -> None:
        """Inside the transaction, just before it commits."""

    def after_commit(self, changes: Sequence[JobChange]) -> None:
        """Once the transaction has committed."""

    async def listen(self) -> None:
        """Hear changes until cancelled; returns at once when the feed does not cross replicas."""

    async def close(self) -> None:
        """Let go of what the feed holds (its own database connections, if any)."""
