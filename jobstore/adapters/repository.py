"""The job repository on SQLAlchemy Core, for PostgreSQL and SQLite alike.

It records every job it writes in `changes`, which the unit of work publishes on commit, and
what the writes amounted to (`finished`, `progress_rows`), which it reports to its observer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from jobstore.adapters.tables import job_events, jobs
from jobstore.domain.changes import ChangeKind, JobChange
from jobstore.domain.collections import ChildCounts, CollectionSummary
from jobstore.domain.model import Job, JobStatus, StatusChange
from jobstore.domain.values import JobMeta, JobOptions, JobStage, JobType
from jobstore.ports import DuplicateIdempotencyKey, EntryCursor, ListCursor

# Columns written by save_progress; the rest of a running job does not change with progress.
PROGRESS_COLUMNS = (
    "stage", "progress", "downloaded_bytes", "total_bytes", "speed", "eta", "meta",
    "progress_seq", "heartbeat_at", "updated_at",
)  # fmt: skip


def as_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def enum_value(member: StrEnum) -> str:
    return member.value


# The Job fields a column holds in another form, each with its way to the column and back. Every
# other column holds the Job field of its name as it is; timestamps get back the UTC zone that
# SQLite drops.
STORED_AS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "type": (enum_value, JobType),
    "status": (enum_value, JobStatus),
    "stage": (enum_value, JobStage),
    "options": (JobOptions.to_json, JobOptions.from_json),
    "meta": (JobMeta.to_json, JobMeta.from_json),
    "collection": (
        lambda summary: None if summary is None else summary.to_json(),
        CollectionSummary.from_json,
    ),
}
UNFINISHED = [JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.PAUSED.value]
TIMESTAMPS = frozenset(column.name for column in jobs.c if isinstance(column.type, sa.DateTime))


def job_to_row(job: Job) -> dict[str, Any]:
    row = {column.name: getattr(job, column.name) for column in jobs.c}
    for name, (to_column, _) in STORED_AS.items():
        row[name] = to_column(row[name])
    return row


def row_to_job(row: Mapping[Any, Any]) -> Job:
    fields = {column.name: row[column.name] for column in jobs.c}
    for name, (_, from_column) in STORED_AS.items():
        fields[name] = from_column(fields[name])
    for name in TIMESTAMPS:
        fields[name] = as_utc(fields[name])
    return Job(**fields)


class SqlJobRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.changes: list[JobChange] = []
        # The terminal statuses jobs reached, the bytes of the files completed jobs delivered,
        # and the rows the progress path wrote.
        self.finished: list[JobStatus] = []
        self.completed_bytes = 0
        self.progress_rows = 0

    async def add(self, job: Job) -> None:
        try:
            await self._conn.execute(jobs.insert().values(job_to_row(job)))
        except IntegrityError as exc:
            if job.idempotency_key is not None and "idempotency" in str(exc.orig).lower():
                raise DuplicateIdempotencyKey(job.idempotency_key) from None
            raise
        await self._append_events(job)
        self.changes.append(JobChange(ChangeKind.UPSERTED, job))

    async def add_many(self, batch: Sequence[Job]) -> None:
        try:
            await self._conn.execute(jobs.insert(), [job_to_row(job) for job in batch])
        except IntegrityError as exc:
            if "idempotency" in str(exc.orig).lower():
                raise DuplicateIdempotencyKey("one of the batch's keys") from None
            raise
        await self._append_events_of(batch)
        self.changes.extend(JobChange(ChangeKind.UPSERTED, job) for job in batch)

    async def get(
        self, job_id: uuid.UUID, *, for_update: bool = False, top_level: bool = False
    ) -> Job | None:
        query = jobs.select().where(jobs.c.id == job_id)
        if top_level:
            query = query.where(jobs.c.parent_id.is_(None))
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else row_to_job(row)

    async def get_many(self, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Job]:
        if not job_ids:
            return {}
        rows = await self._conn.execute(jobs.select().where(jobs.c.id.in_(job_ids)))
        return {row["id"]: row_to_job(row) for row in rows.mappings()}

    async def get_by_idempotency_key(self, key: str) -> Job | None:
        row = (
            (await self._conn.execute(jobs.select().where(jobs.c.idempotency_key == key))).mappings().first()
        )
        return None if row is None else row_to_job(row)

    async def list_page(
        self, statuses: Sequence[JobStatus], limit: int, after: ListCursor | None
    ) -> list[Job]:
        query = (
            jobs.select()
            .where(jobs.c.parent_id.is_(None))
            .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
            .limit(limit)
        )
        if statuses:
            query = query.where(jobs.c.status.in_([s.value for s in statuses]))
        if after is not None:
            created, job_id = after
            query = query.where(
                sa.or_(jobs.c.created_at < created, sa.and_(jobs.c.created_at == created, jobs.c.id < job_id))
            )
        rows = await self._conn.execute(query)
        return [row_to_job(row) for row in rows.mappings()]

    async def list_children(
        self, parent_id: uuid.UUID, statuses: Sequence[JobStatus], limit: int, after: EntryCursor | None
    ) -> list[Job]:
        query = (
            jobs.select()
            .where(jobs.c.parent_id == parent_id)
            .order_by(jobs.c.entry_index, jobs.c.id)
            .limit(limit)
        )
        if statuses:
            query = query.where(jobs.c.status.in_([s.value for s in statuses]))
        if after is not None:
            index, job_id = after
            query = query.where(
                sa.or_(jobs.c.entry_index > index, sa.and_(jobs.c.entry_index == index, jobs.c.id > job_id))
            )
        rows = await self._conn.execute(query)
        return [row_to_job(row) for row in rows.mappings()]

    async def children(self, parent_id: uuid.UUID, *, for_update: bool = False) -> list[Job]:
        query = jobs.select().where(jobs.c.parent_id == parent_id).order_by(jobs.c.entry_index, jobs.c.id)
        if for_update:
            query = query.with_for_update()
        return [row_to_job(row) for row in (await self._conn.execute(query)).mappings()]

    async def entry_keys(self, parent_id: uuid.UUID) -> set[str]:
        query = sa.select(jobs.c.entry_key).where(jobs.c.parent_id == parent_id)
        return {key for key in (await self._conn.execute(query)).scalars() if key is not None}

    async def add_children(self, children: Sequence[Job]) -> None:
        if not children:
            return
        # One batched insert for the children and one for their creation events. The unique
        # (parent_id, entry_key) index is the backstop: a key already stored is skipped.
        insert = (postgresql.insert if self._conn.dialect.name == "postgresql" else sqlite.insert)(jobs)
        statement = insert.on_conflict_do_nothing(index_elements=["parent_id", "entry_key"])
        await self._conn.execute(statement, [job_to_row(child) for child in children])
        await self._append_events_of(children)
        self.changes.extend(JobChange(ChangeKind.UPSERTED, child) for child in children)

    async def child_counts(self, parent_id: uuid.UUID) -> ChildCounts:
        unfinished = sa.case((jobs.c.status.in_(UNFINISHED), jobs.c.progress), else_=0.0)
        query = (
            sa.select(jobs.c.status, sa.func.count(), sa.func.sum(unfinished))
            .where(jobs.c.parent_id == parent_id)
            .group_by(jobs.c.status)
        )
        by_status: dict[JobStatus, int] = {}
        progress = 0.0
        for status, count, progress_sum in (await self._conn.execute(query)).all():
            by_status[JobStatus(status)] = int(count)
            progress += float(progress_sum or 0.0)
        return ChildCounts(by_status, progress)

    async def parent_of(self, job_id: uuid.UUID) -> uuid.UUID | None:
        query = sa.select(jobs.c.parent_id).where(jobs.c.id == job_id)
        return (await self._conn.execute(query)).scalar()

    async def save(self, job: Job) -> None:
        row = job_to_row(job)
        del row["id"]
        await self._conn.execute(jobs.update().where(jobs.c.id == job.id).values(row))
        await self._append_events(job)
        self.changes.append(JobChange(ChangeKind.UPSERTED, job))

    async def save_many(self, batch: Sequence[Job]) -> None:
        if not batch:
            return
        # One executemany for the rows and one insert for their history, whatever their number.
        names = [column.name for column in jobs.c if column.name != "id"]
        statement = (
            jobs.update()
            .where(jobs.c.id == sa.bindparam("b_id"))
            .values({name: sa.bindparam(f"v_{name}") for name in names})
        )
        params = []
        for job in batch:
            row = job_to_row(job)
            params.append({"b_id": job.id, **{f"v_{name}": row[name] for name in names}})
        await self._conn.execute(statement, params)
        await self._append_events_of(batch)
        self.changes.extend(JobChange(ChangeKind.UPSERTED, job) for job in batch)

    async def save_progress(self, batch: Sequence[Job]) -> None:
        # One executemany. The guard repeats the domain's checks in SQL, so a claim or a
        # pause committed by someone else in the meantime is never overwritten.
        statement = (
            jobs.update()
            .where(jobs.c.id == sa.bindparam("b_id"))
            .where(jobs.c.attempt == sa.bindparam("b_attempt"))
            .where(jobs.c.status == JobStatus.RUNNING.value)
            .where(jobs.c.progress_seq < sa.bindparam("b_seq"))
            .values({name: sa.bindparam(f"v_{name}") for name in PROGRESS_COLUMNS})
        )
        params = []
        for job in batch:
            row = job_to_row(job)
            values = {f"v_{name}": row[name] for name in PROGRESS_COLUMNS}
            values.update(b_id=job.id, b_attempt=job.attempt, b_seq=job.progress_seq)
            params.append(values)
            self.changes.append(JobChange(ChangeKind.UPSERTED, job))
        await self._conn.execute(statement, params)
        self.progress_rows += len(params)

    async def delete(self, job: Job) -> None:
        await self._conn.execute(job_events.delete().where(job_events.c.job_id == job.id))
        await self._conn.execute(jobs.delete().where(jobs.c.id == job.id))
        self.changes.append(JobChange(ChangeKind.DELETED, job))

    async def delete_children(self, parent: Job) -> list[Job]:
        children = await self.children(parent.id, for_update=True)
        owned = sa.select(jobs.c.id).where(jobs.c.parent_id == parent.id).scalar_subquery()
        await self._conn.execute(job_events.delete().where(job_events.c.job_id.in_(owned)))
        await self._conn.execute(jobs.delete().where(jobs.c.parent_id == parent.id))
        self.changes.extend(JobChange(ChangeKind.DELETED, child) for child in children)
        return children

    async def history(self, job_id: uuid.UUID) -> list[StatusChange]:
        query = job_events.select().where(job_events.c.job_id == job_id).order_by(job_events.c.id)
        rows = await self._conn.execute(query)
        return [
            StatusChange(
                at=as_utc(row["at"]) or datetime.now(UTC),
                from_status=JobStatus(row["from_status"]) if row["from_status"] else None,
                to_status=JobStatus(row["to_status"]),
                actor=row["actor"],
                reason=row["reason"],
            )
            for row in rows.mappings()
        ]

    async def stalled(self, heartbeat_before: datetime, limit: int) -> list[Job]:
        query = (
            jobs.select()
            .where(jobs.c.status == JobStatus.RUNNING.value, jobs.c.heartbeat_at < heartbeat_before)
            .order_by(jobs.c.heartbeat_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [row_to_job(row) for row in (await self._conn.execute(query)).mappings()]

    async def queued_attempts(self, limit: int) -> list[tuple[uuid.UUID, int]]:
        query = (
            sa.select(jobs.c.id, jobs.c.attempt)
            .where(jobs.c.status == JobStatus.QUEUED.value)
            .order_by(jobs.c.created_at)
            .limit(limit)
        )
        return [(row.id, row.attempt) for row in await self._conn.execute(query)]

    async def _append_events(self, job: Job) -> None:
        await self._append_events_of([job])

    async def _append_events_of(self, batch: Sequence[Job]) -> None:
        rows: list[dict[str, Any]] = []
        for job in batch:
            if job.collection is None:  # a collection's outcome is its children's, counted already
                self.finished.extend(e.to_status for e in job.new_events if e.to_status.terminal)
            if any(e.to_status is JobStatus.COMPLETED for e in job.new_events):
                self.completed_bytes += job.size
            rows.extend(
                {
                    "job_id": job.id,
                    "at": event.at,
                    "from_status": event.from_status.value if event.from_status else None,
                    "to_status": event.to_status.value,
                    "actor": event.actor,
                    "reason": event.reason,
                }
                for event in job.new_events
            )
            job.new_events.clear()
        if rows:
            await self._conn.execute(job_events.insert(), rows)
