"""Group commit for CreateJob: the creates that arrive while one transaction runs share the next.

Each create was a transaction of its own, and on SQLite every transaction goes through the one
connection (jobstore.adapters.db), so a burst of submits queued behind one commit after
another. Here a create waits for no timer: a lone one is written at once, as before, and
those that arrive meanwhile are written together, one insert of rows and one commit, as soon
as the running transaction ends. Each caller is answered only after the commit that holds its
job, so an acknowledged create is as durable as before.

Idempotency keys keep their meaning: one batch holds a key at most once (a second request
with the same key waits for the next batch, where it is a replay), and a batch that fails for
any reason (a key another replica stored first, the database away) is retried one create at
a time through `service.create_job`, which answers each caller as a lone create would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from jobstore import service
from jobstore.domain.model import Job
from jobstore.ports import UnitOfWork

# Creates written in one transaction at most: a bound on the statement and on the wait of the
# first caller in a batch.
MAX_BATCH = 256

Pending = tuple[service.CreateJob, "asyncio.Future[tuple[Job, bool]]"]


class CreateBatcher:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], max_batch: int = MAX_BATCH) -> None:
        self._uow = uow_factory
        self._max_batch = max_batch
        self._pending: list[Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def create(self, command: service.CreateJob) -> tuple[Job, bool]:
        """Create the job (or replay its key) in the next transaction; answers after its commit."""
        future: asyncio.Future[tuple[Job, bool]] = asyncio.get_running_loop().create_future()
        self._pending.append((command, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all(), name="create-group-commit")
        return await future

    async def _write_all(self) -> None:
        batch: list[Pending] = []
        try:
            while self._pending:
                batch = self._next_batch()
                await self._write(batch)
        finally:
            # Empty unless the writer was cancelled (shutdown): nobody is left waiting forever.
            self._writer = None
            left, self._pending = [*batch, *self._pending], []
            for _, future in left:
                future.cancel()

    def _next_batch(self) -> list[Pending]:
        batch: list[Pending] = []
        keys: set[str] = set()
        later: list[Pending] = []
        for item in self._pending:
            key = item[0].idempotency_key
            if len(batch) >= self._max_batch or (key is not None and key in keys):
                later.append(item)
                continue
            if key is not None:
                keys.add(key)
            batch.append(item)
        self._pending = later
        return batch

    async def _write(self, batch: list[Pending]) -> None:
        live = [(command, future) for command, future in batch if not future.done()]
        if len(live) > 1:
            try:
                jobs = await service.create_jobs(self._uow(), [command for command, _ in live])
            except Exception:
                pass  # one at a time below, so each caller gets its own answer
            else:
                for (_, future), job in zip(live, jobs, strict=True):
                    if not future.done():
                        future.set_result((job, True))
                return
        for command, future in live:
            if future.done():
                continue
            try:
                result = await service.create_job(self._uow(), command)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        """Stop writing; creates still waiting are cancelled (their callers see the RPC end)."""
        writer = self._writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
