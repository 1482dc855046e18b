"""The change feed behind WatchJobs.

Every committed change reaches a `ChangeHub` in each jobstore process, which fans it out to
that process's WatchJobs streams.

- SQLite (one jobstore process): the unit of work hands its changes to the hub after commit.
- PostgreSQL (any number of replicas): the unit of work sends `NOTIFY` inside its own
  transaction, so a notification exists exactly when the change was committed. Every replica,
  the writer included, LISTENs and re-reads the changed rows, so all replicas see the same
  stream by the same path. When the listening connection is lost, every open stream ends
  with an error: its client resubscribes and re-reads, instead of silently missing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jobstore.adapters.repository import row_to_job
from jobstore.adapters.tables import jobs
from jobstore.domain.changes import ChangeKind, JobChange
from jobstore.domain.model import Job, JobStatus
from jobstore.domain.values import JobOptions, JobType

log = structlog.get_logger(__name__)

CHANNEL = "haul_job_changes"
NOTIFY_PAYLOAD_LIMIT = 7000  # PostgreSQL allows 8000 bytes; keep a margin.
SUBSCRIBER_QUEUE = 10_000


class FeedLost(Exception):
    """The stream can no longer promise to carry every change; the client must resubscribe."""


class ChangeHub:
    """Fans changes out to subscribers; each has a bounded queue and is dropped if it lags."""

    def __init__(self, queue_size: int = SUBSCRIBER_QUEUE) -> None:
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[JobChange | FeedLost]] = set()
        # Called with every published batch, in the publishing task; must not block.
        self.listeners: list[Callable[[Sequence[JobChange]], None]] = []
        self.ready = False

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, changes: Sequence[JobChange]) -> None:
        for listener in self.listeners:
            listener(changes)
        for queue in list(self._subscribers):
            try:
                for change in changes:
                    queue.put_nowait(change)
            except asyncio.QueueFull:
                self._end(queue, FeedLost("the watcher fell too far behind; resubscribe"))

    def fail_all(self, reason: str) -> None:
        for queue in list(self._subscribers):
            self._end(queue, FeedLost(reason))

    def _end(self, queue: asyncio.Queue[JobChange | FeedLost], error: FeedLost) -> None:
        self._subscribers.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(error)

    def subscribe(self) -> Subscription:
        """Register now and return the stream of every change from this moment on.

        Raises FeedLost at once when the feed is not connected, and from iteration when it breaks.
        """
        if not self.ready:
            raise FeedLost("the change feed is not connected yet")
        queue: asyncio.Queue[JobChange | FeedLost] = asyncio.Queue(self._queue_size + 1)
        self._subscribers.add(queue)
        return Subscription(queue, self._subscribers.discard)


class Subscription:
    def __init__(
        self, queue: asyncio.Queue[JobChange | FeedLost], unregister: Callable[[asyncio.Queue[Any]], None]
    ) -> None:
        self._queue = queue
        self._unregister = unregister

    def close(self) -> None:
        self._unregister(self._queue)

    async def __aiter__(self) -> AsyncIterator[JobChange]:
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, FeedLost):
                    raise item
                yield item
        finally:
            self.close()


class LocalChangeFeed:
    """For SQLite: one process, so the hub is fed directly after each commit."""

    crosses_replicas = False

    def __init__(self, hub: ChangeHub) -> None:
        self._hub = hub
        hub.ready = True

    async def before_commit(self, conn: AsyncConnection, changes: Sequence[JobChange]) -> None:
        return None

    def after_commit(self, changes: Sequence[JobChange]) -> None:
        if changes:
            self._hub.publish(changes)

    async def listen(self) -> None:
        return None

    async def close(self) -> None:
        return None


def notification_payloads(changes: Sequence[JobChange]) -> list[str]:
    """Pack changes into NOTIFY payloads under PostgreSQL's size limit."""
    payloads: list[str] = []
    upserted: list[str] = []
    deleted: list[list[str]] = []
    size = 0
    for change in changes:
        entry: Any = str(change.job.id)
        if change.kind is ChangeKind.DELETED:
            entry = [entry, change.job.status.value]
            deleted.append(entry)
        elif entry not in upserted:
            upserted.append(entry)
        size += len(json.dumps(entry)) + 1
        if size > NOTIFY_PAYLOAD_LIMIT:
            payloads.append(json.dumps({"u": upserted, "d": deleted}))
            upserted, deleted, size = [], [], 0
    if upserted or deleted:
        payloads.append(json.dumps({"u": upserted, "d": deleted}))
    return payloads


class PostgresChangeFeed:
    """NOTIFY on commit, LISTEN in every replica; see the module docstring."""

    crosses_replicas = True

    def __init__(self, hub: ChangeHub, engine: AsyncEngine, dsn: str, reconnect_delay: float = 1.0) -> None:
        self._hub = hub
        # Its own small pool for re-reading changed rows, so the feed never waits on RPCs.
        self._engine = engine
        self._dsn = dsn
        self._reconnect_delay = reconnect_delay
        self._inbox: asyncio.Queue[str] = asyncio.Queue()

    async def before_commit(self, conn: AsyncConnection, changes: Sequence[JobChange]) -> None:
        payloads = notification_payloads(changes)
        if payloads:
            await conn.execute(
                sa.text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p"),
                {"channel": CHANNEL, "payloads": payloads},
            )

    def after_commit(self, changes: Sequence[JobChange]) -> None:
        return None

    async def listen(self) -> None:
        """Listen until cancelled, reconnecting after any loss of the connection."""
        delay = self._reconnect_delay
        while True:
            try:
                await self._listen_once()
                delay = self._reconnect_delay
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("change feed connection failed", error=str(exc))
            self._hub.ready = False
            self._hub.fail_all("the change feed lost its database connection; resubscribe")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def close(self) -> None:
        await self._engine.dispose()

    async def _listen_once(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self._dsn, timeout=10)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(CHANNEL, lambda *args: self._inbox.put_nowait(args[3]))
            self._hub.ready = True
            log.info("change feed listening", channel=CHANNEL)
            deliverer = asyncio.create_task(self._deliver())
            try:
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=5.0)
                    if not lost.is_set():
                        await conn.fetchval("SELECT 1", timeout=5.0)
            finally:
                deliverer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await deliverer
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def _deliver(self) -> None:
        while True:
            payload = await self._inbox.get()
            try:
                self._hub.publish(await self._resolve(payload))
            except Exception:
                log.exception("change feed could not read changed jobs")
                self._hub.fail_all("the change feed could not read a change; resubscribe")

    async def _resolve(self, payload: str) -> list[JobChange]:
        message = json.loads(payload)
        ids = [uuid.UUID(job_id) for job_id in message.get("u", [])]
        changes: list[JobChange] = []
        if ids:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(jobs.select().where(jobs.c.id.in_(ids)))).mappings()
                found = {row["id"]: row_to_job(row) for row in rows}
            changes.extend(JobChange(ChangeKind.UPSERTED, found[i]) for i in ids if i in found)
        for job_id, status in message.get("d", []):
            changes.append(JobChange(ChangeKind.DELETED, _tombstone(uuid.UUID(job_id), JobStatus(status))))
        return changes


def _tombstone(job_id: uuid.UUID, status: JobStatus) -> Job:
    now = datetime.now(UTC)
    return Job(job_id, "", JobType.AUTO, JobOptions(), 0, now, now, status=status)
