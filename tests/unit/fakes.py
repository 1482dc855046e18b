"""An in-memory unit of work for service-layer unit tests (pure logic only)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from jobstore.domain.model import Job, JobStatus, StatusChange
from jobstore.ports import DuplicateIdempotencyKey, ListCursor


class FakeJobRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Job] = {}
        self.history_rows: dict[uuid.UUID, list[StatusChange]] = {}
        self.progress_writes = 0

    def _copy(self, job: Job | None) -> Job | None:
        return None if job is None else copy.deepcopy(job)

    async def add(self, job: Job) -> None:
        # The key is unique, as the database's index makes it: a second insert is refused.
        if job.idempotency_key is not None and any(
            j.idempotency_key == job.idempotency_key for j in self.rows.values()
        ):
            raise DuplicateIdempotencyKey(job.idempotency_key)
        await self.save(job)

    async def add_many(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            await self.add(job)

    async def get(
        self, job_id: uuid.UUID, *, for_update: bool = False, top_level: bool = False
    ) -> Job | None:
        job = self.rows.get(job_id)
        return None if job is None or (top_level and job.parent_id is not None) else self._copy(job)

    async def get_many(self, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Job]:
        return {i: copy.deepcopy(self.rows[i]) for i in job_ids if i in self.rows}

    async def get_by_idempotency_key(self, key: str) -> Job | None:
        return self._copy(next((j for j in self.rows.values() if j.idempotency_key == key), None))

    async def list_page(
        self, statuses: Sequence[JobStatus], limit: int, after: ListCursor | None
    ) -> list[Job]:
        jobs = sorted(self.rows.values(), key=lambda j: (j.created_at, j.id), reverse=True)
        jobs = [j for j in jobs if not statuses or j.status in statuses]
        if after is not None:
            jobs = [j for j in jobs if (j.created_at, j.id) < after]
        return [copy.deepcopy(j) for j in jobs[:limit]]

    async def save(self, job: Job) -> None:
        self.history_rows.setdefault(job.id, []).extend(job.new_events)
        job.new_events.clear()
        self.rows[job.id] = copy.deepcopy(job)

    async def save_progress(self, jobs: Sequence[Job]) -> None:
        self.progress_writes += 1
        for job in jobs:
            self.rows[job.id] = copy.deepcopy(job)

    async def delete(self, job: Job) -> None:
        self.rows.pop(job.id, None)
        self.history_rows.pop(job.id, None)

    async def history(self, job_id: uuid.UUID) -> list[StatusChange]:
        return list(self.history_rows.get(job_id, []))

    async def stalled(self, heartbeat_before: datetime, limit: int) -> list[Job]:
        return [
            copy.deepcopy(j)
            for j in self.rows.values()
            if j.status is JobStatus.RUNNING
            and j.heartbeat_at is not None
            and j.heartbeat_at < heartbeat_before
        ][:limit]

    async def queued_attempts(self, limit: int) -> list[tuple[uuid.UUID, int]]:
        queued = sorted(
            (j for j in self.rows.values() if j.status is JobStatus.QUEUED), key=lambda j: j.created_at
        )
        return [(j.id, j.attempt) for j in queued][:limit]


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.jobs = FakeJobRepository()
        self.commits = 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def commit(self) -> None:
        self.commits += 1
