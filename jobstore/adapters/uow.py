"""The SQL unit of work: one connection, one transaction, changes published on commit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, Self

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jobstore.adapters.archive_repo import SqlArchiveRepository
from jobstore.adapters.repository import SqlJobRepository
from jobstore.adapters.stats import SqlStatsRepository
from jobstore.adapters.subscriptions import SqlSubscriptionRepository
from jobstore.domain.errors import StoreUnavailable
from jobstore.domain.model import JobStatus
from jobstore.ports import ChangeFeed

# Errors meaning "the server is not there (yet)": refused, reset, starting up, shutting down.
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
)


def is_connection_error(exc: BaseException) -> bool:
    """True when the database could not be reached, as opposed to a bad statement."""
    seen: BaseException | None = exc
    for _ in range(10):  # drivers wrap errors a few layers deep
        if seen is None:
            return False
        if isinstance(seen, UNREACHABLE):
            return True
        if isinstance(seen, DBAPIError) and (
            seen.connection_invalidated or isinstance(seen, OperationalError | InterfaceError)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class CommitObserver(Protocol):
    """Told what each committed transaction wrote (jobstore's Prometheus metrics)."""

    def committed(self, finished: Sequence[JobStatus], completed_bytes: int, progress_rows: int) -> None: ...


class SqlUnitOfWork:
    jobs: SqlJobRepository
    stats: SqlStatsRepository
    archive: SqlArchiveRepository
    subscriptions: SqlSubscriptionRepository

    def __init__(self, engine: AsyncEngine, feed: ChangeFeed, observer: CommitObserver | None = None) -> None:
        self._engine = engine
        self._feed = feed
        self._observer = observer
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        try:
            self._conn = await self._engine.connect()
            await self._conn.begin()
        except Exception as exc:
            await self._close()
            if is_connection_error(exc):
                raise StoreUnavailable("the database is unavailable") from exc
            raise
        self.jobs = SqlJobRepository(self._conn)
        self.stats = SqlStatsRepository(self._conn)
        self.archive = SqlArchiveRepository(self._conn)
        self.subscriptions = SqlSubscriptionRepository(self._conn)
        return self

    async def commit(self) -> None:
        assert self._conn is not None, "commit() outside 'async with'"
        changes = list(self.jobs.changes)
        await self._feed.before_commit(self._conn, changes)
        await self._conn.commit()
        self.jobs.changes.clear()
        self._feed.after_commit(changes)
        if self._observer is not None:
            self._observer.committed(self.jobs.finished, self.jobs.completed_bytes, self.jobs.progress_rows)
        self.jobs.finished, self.jobs.completed_bytes, self.jobs.progress_rows = [], 0, 0

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()
        if exc is not None and is_connection_error(exc):
            raise StoreUnavailable("the database is unavailable") from exc

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        # A dead connection cannot roll back; closing it is all that is left to do.
        with contextlib.suppress(Exception):
            if conn.in_transaction():
                await asyncio.shield(conn.rollback())
        with contextlib.suppress(Exception):
            await asyncio.shield(conn.close())
