"""The job repository on SQLAlchemy Core, for PostgreSQL and SQLite alike.

It records every job it writes in `changes`, which the unit of work publishes on commit, and
what the writes amounted to (`finished`, `progress_rows`), which it reports to its observer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from jobstore.adapters.tables import job_events, jobs
from jobstore.domain.changes import ChangeKind, JobChange
from jobstore.domain.model import Job, JobStatus, StatusChange
from jobstore.domain.values import JobMeta, JobOptions, JobStage, JobType
from jobstore.ports import DuplicateIdempotencyKey, ListCursor

# Columns written by save_progress; the rest of a running job does not change with progress.
PROGRESS_COLUMNS = (
    "stage", "progress", "downloaded_bytes", "total_bytes", "speed", "eta", "meta",
    "progress_seq", "heartbeat_at", "updated_at",
)  # fmt: skip


def as_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def job_to_row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "url": job.url,
        "type": job.type.value,
        "options": job.options.to_json(),
        "status": job.status.value,
        "stage": job.stage.value,
        "progress": job.progress,
        "downloaded_bytes": job.downloaded_bytes,
        "total_bytes": job.total_bytes,
        "speed": job.speed,
        "eta": job.eta,
        "filename": job.filename,
        "output_path": job.output_path,
        "size": job.size,
        "sha256": job.sha256,
        "error_code": job.error_code,
        "error_message": job.error_message,
        "meta": job.meta.to_json(),
        "attempt": job.attempt,
        "attempt_base": job.attempt_base,
        "max_attempts": job.max_attempts,
        "progress_seq": job.progress_seq,
        "worker_id": job.worker_id,
        "idempotency_key": job.idempotency_key,
        "request_fingerprint": job.request_fingerprint,
        "heartbeat_at": job.heartbeat_at,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def row_to_job(row: Mapping[Any, Any]) -> Job:
    return Job(
        id=row["id"],
        url=row["url"],
        type=JobType(row["type"]),
        options=JobOptions.from_json(row["options"]),
        status=JobStatus(row["status"]),
        stage=JobStage(row["stage"]),
        progress=row["progress"],
        downloaded_bytes=row["downloaded_bytes"],
        total_bytes=row["total_bytes"],
        speed=row["speed"],
        eta=row["eta"],
        filename=row["filename"],
        output_path=row["output_path"],
        size=row["size"],
        sha256=row["sha256"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        meta=JobMeta.from_json(row["meta"]),
        attempt=row["attempt"],
        attempt_base=row["attempt_base"],
        max_attempts=row["max_attempts"],
        progress_seq=row["progress_seq"],
        worker_id=row["worker_id"],
        idempotency_key=row["idempotency_key"],
        request_fingerprint=row["request_fingerprint"],
        heartbeat_at=as_utc(row["heartbeat_at"]),
        created_at=as_utc(row["created_at"]) or datetime.now(UTC),
        updated_at=as_utc(row["updated_at"]) or datetime.now(UTC),
        started_at=as_utc(row["started_at"]),
        finished_at=as_utc(row["finished_at"]),
    )


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

    async def get(self, job_id: uuid.UUID, *, for_update: bool = False) -> Job | None:
        query = jobs.select().where(jobs.c.id == job_id)
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
        query = jobs.select().order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
        if statuses:
            query = query.where(jobs.c.status.in_([s.value for s in statuses]))
        if after is not None:
            created, job_id = after
            query = query.where(
                sa.or_(jobs.c.created_at < created, sa.and_(jobs.c.created_at == created, jobs.c.id < job_id))
            )
        rows = await self._conn.execute(query)
        return [row_to_job(row) for row in rows.mappings()]

    async def save(self, job: Job) -> None:
        row = job_to_row(job)
        del row["id"]
        await self._conn.execute(jobs.update().where(jobs.c.id == job.id).values(row))
        await self._append_events(job)
        self.changes.append(JobChange(ChangeKind.UPSERTED, job))

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

    async def queued(self, limit: int) -> list[Job]:
        query = (
            jobs.select()
            .where(jobs.c.status == JobStatus.QUEUED.value)
            .order_by(jobs.c.created_at)
            .limit(limit)
        )
        return [row_to_job(row) for row in (await self._conn.execute(query)).mappings()]

    async def _append_events(self, job: Job) -> None:
        if not job.new_events:
            return
        self.finished.extend(e.to_status for e in job.new_events if e.to_status.terminal)
        if any(e.to_status is JobStatus.COMPLETED for e in job.new_events):
            self.completed_bytes += job.size
        await self._conn.execute(
            job_events.insert(),
            [
                {
                    "job_id": job.id,
                    "at": event.at,
                    "from_status": event.from_status.value if event.from_status else None,
                    "to_status": event.to_status.value,
                    "actor": event.actor,
                    "reason": event.reason,
                }
                for event in job.new_events
            ],
        )
        job.new_events.clear()
