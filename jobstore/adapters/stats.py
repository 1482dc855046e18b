"""The `daily_stats` table and the queries that compute a day's figures, for PostgreSQL and SQLite.

Percentiles are found the portable way: count the durations, then read only the one or two
values around the wanted rank with ORDER BY ... LIMIT 2 OFFSET n (SQLite has no
percentile_cont), so a span's durations never travel to Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from jobstore.adapters.repository import as_utc
from jobstore.adapters.tables import daily_stats, job_events, jobs
from jobstore.domain.model import JobStatus
from jobstore.domain.stats import MEDIAN, P95, DailyStats, StatsFigures, interpolate, rank_position

OUTCOMES = (JobStatus.COMPLETED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)
# `-> queued` from these is a retry; from paused it is a resume.
RETRY_SOURCES = (JobStatus.RUNNING.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)
# ...except when the single-machine launcher re-queues jobs left running by a restart
# (`service.requeue_interrupted`): the job resumes, and the attempt is not counted against it.
NOT_A_RETRY_ACTORS = ("startup",)
FIGURE_COLUMNS = (
    "completed", "failed", "cancelled", "bytes_downloaded", "median_duration_seconds",
    "p95_duration_seconds", "retries",
)  # fmt: skip


def duration_seconds(dialect: str) -> sa.ColumnElement[float]:
    """finished_at - started_at in seconds, in the database's own arithmetic."""
    if dialect == "postgresql":
        return sa.cast(sa.extract("epoch", jobs.c.finished_at - jobs.c.started_at), sa.Float)
    # SQLite stores UTC text; julianday() reads it to the millisecond.
    return (sa.func.julianday(jobs.c.finished_at) - sa.func.julianday(jobs.c.started_at)) * 86400.0


class SqlStatsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._dialect = conn.dialect.name

    async def last_rollup(self) -> datetime | None:
        return as_utc(await self._conn.scalar(sa.select(sa.func.max(daily_stats.c.computed_at))))

    async def first_activity(self) -> datetime | None:
        finished = await self._conn.scalar(
            sa.select(sa.func.min(jobs.c.finished_at)).where(jobs.c.status.in_(OUTCOMES))
        )
        retried = await self._conn.scalar(sa.select(sa.func.min(job_events.c.at)).where(*_retries()))
        found = [at for at in (as_utc(finished), as_utc(retried)) if at is not None]
        return min(found, default=None)

    async def compute(self, start: datetime, end: datetime) -> StatsFigures:
        counts = await self._conn.execute(
            sa.select(jobs.c.status, sa.func.count(), sa.func.coalesce(sa.func.sum(jobs.c.size), 0))
            .where(_finished_between(start, end), jobs.c.status.in_(OUTCOMES))
            .group_by(jobs.c.status)
        )
        by_status = {status: (int(n), int(size)) for status, n, size in counts}
        retries = await self._conn.scalar(
            sa.select(sa.func.count()).select_from(job_events).where(*_retries(), _at_between(start, end))
        )
        median, p95 = await self.duration_percentiles(start, end)
        completed, size = by_status.get(JobStatus.COMPLETED.value, (0, 0))
        return StatsFigures(
            completed=completed,
            failed=by_status.get(JobStatus.FAILED.value, (0, 0))[0],
            cancelled=by_status.get(JobStatus.CANCELLED.value, (0, 0))[0],
            bytes_downloaded=size,
            median_duration_seconds=median,
            p95_duration_seconds=p95,
            retries=int(retries or 0),
        )

    async def duration_percentiles(self, start: datetime, end: datetime) -> tuple[float | None, float | None]:
        """The median and 95th percentile of the durations of jobs completed in [start, end)."""
        completed = (
            _finished_between(start, end),
            jobs.c.status == JobStatus.COMPLETED.value,
            jobs.c.started_at.is_not(None),
        )
        count = int(
            await self._conn.scalar(sa.select(sa.func.count()).select_from(jobs).where(*completed)) or 0
        )
        if count == 0:
            return None, None
        duration = duration_seconds(self._dialect)
        found: list[float] = []
        for quantile in (MEDIAN, P95):
            lower, fraction = rank_position(quantile, count)
            query = sa.select(duration).where(*completed).order_by(duration).limit(2).offset(lower)
            neighbours = [float(value) for value in (await self._conn.scalars(query))]
            found.append(interpolate(neighbours, fraction))
        return found[0], found[1]

    async def store(self, days: Sequence[DailyStats], computed_at: datetime) -> None:
        """Upsert the days' rows, one statement for all of them."""
        if not days:
            return
        dialect_insert: Any = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(daily_stats)
        statement = statement.on_conflict_do_update(
            index_elements=[daily_stats.c.day],
            set_={name: statement.excluded[name] for name in (*FIGURE_COLUMNS, "computed_at")},
        )
        rows = [
            {"day": d.day, "computed_at": computed_at, **{n: getattr(d.figures, n) for n in FIGURE_COLUMNS}}
            for d in days
        ]
        await self._conn.execute(statement, rows)

    async def stored(self, first: date, last: date) -> list[DailyStats]:
        query = daily_stats.select().where(daily_stats.c.day.between(first, last)).order_by(daily_stats.c.day)
        return [
            DailyStats(row["day"], StatsFigures(**{n: row[n] for n in FIGURE_COLUMNS}))
            for row in (await self._conn.execute(query)).mappings()
        ]


def _finished_between(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    # Downloads only: a collection finishes when its children have, and they are counted.
    return sa.and_(jobs.c.finished_at >= start, jobs.c.finished_at < end, jobs.c.collection.is_(None))


def _at_between(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(job_events.c.at >= start, job_events.c.at < end)


def _retries() -> tuple[sa.ColumnElement[bool], ...]:
    return (
        job_events.c.to_status == JobStatus.QUEUED.value,
        job_events.c.from_status.in_(RETRY_SOURCES),
        job_events.c.actor.not_in(NOT_A_RETRY_ACTORS),
    )
