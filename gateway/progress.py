"""The progress path (DESIGN §4): coalesce per job, flush all pending jobs in one call.

`ProgressBuffer` is pure: it keeps the newest update per job and drops anything older than
what it has already seen for that job (a lower attempt, or the same attempt with a seq that
is not higher). `ProgressFlusher` drains it every `interval` seconds into one ReportProgress
call and passes refusals on to whoever decides which workers must stop (`RefusalHandler`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import grpc
import structlog

from gateway.views import STAGE_BY_NAME
from haul.contract.events import ProgressEvent
from haul.contract.limits import MAX_BATCH
from haul.jobstore.v1 import jobstore_pb2 as pb

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Refused:
    job_id: str
    attempt: int
    refusal: int  # a pb.Refusal number


class ProgressBuffer:
    def __init__(self) -> None:
        self._pending: dict[str, ProgressEvent] = {}
        self._latest: dict[str, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def offer(self, event: ProgressEvent) -> bool:
        """Keep the event if it is newer than anything seen for its job; False if dropped as stale."""
        seen = self._latest.get(event.job_id)
        if seen is not None and (event.attempt, event.seq) <= seen:
            return False
        self._latest[event.job_id] = (event.attempt, event.seq)
        self._pending[event.job_id] = event
        return True

    def take_all(self) -> list[ProgressEvent]:
        batch, self._pending = list(self._pending.values()), {}
        return batch

    def take(self, job_id: str) -> ProgressEvent | None:
        return self._pending.pop(job_id, None)

    def put_back(self, events: list[ProgressEvent]) -> None:
        """Return events whose flush failed, unless something newer arrived meanwhile."""
        for event in events:
            if self._latest.get(event.job_id) == (event.attempt, event.seq):
                self._pending.setdefault(event.job_id, event)

    def forget(self, job_id: str) -> None:
        """Drop all memory of a job (it ended), so the buffer stays bounded."""
        self._pending.pop(job_id, None)
        self._latest.pop(job_id, None)


def to_update(event: ProgressEvent) -> pb.ProgressUpdate:
    update = pb.ProgressUpdate(
        job_id=event.job_id,
        attempt=event.attempt,
        seq=event.seq,
        stage=STAGE_BY_NAME[event.stage],
        progress=event.progress,
        downloaded_bytes=event.downloaded_bytes,
    )
    if event.total_bytes is not None:
        update.total_bytes = event.total_bytes
    if event.speed is not None:
        update.speed = event.speed
    if event.eta is not None:
        update.eta = event.eta
    if event.meta is not None:
        update.meta.CopyFrom(
            pb.JobMeta(
                title=event.meta.title,
                duration=event.meta.duration,
                extractor=event.meta.extractor,
                thumbnail=event.meta.thumbnail,
            )
        )
    return update


ReportProgress = Callable[[list[pb.ProgressUpdate]], Awaitable[pb.ReportProgressResponse]]
OnFlushed = Callable[[int], None]


class RefusalHandler(Protocol):
    async def progress_refused(self, refused: list[Refused]) -> None:
        """jobstore refused these reports: the workers behind them no longer own their jobs."""


class ProgressFlusher:
    def __init__(
        self,
        buffer: ProgressBuffer,
        report: ReportProgress,
        interval: float,
        refusals: RefusalHandler,
        on_flushed: OnFlushed = lambda _size: None,
    ) -> None:
        self.buffer = buffer
        self._report = report
        self._interval = interval
        self._refusals = refusals
        self._on_flushed = on_flushed
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        """Flush on a fixed cadence: a slow flush delays the next one, but never shifts the clock."""
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self._interval
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at = max(next_at + self._interval, loop.time())
            with contextlib.suppress(Exception):
                await self.flush(self.buffer.take_all())

    async def flush_job(self, job_id: str) -> None:
        """Send one job's pending progress now (before its terminal event)."""
        event = self.buffer.take(job_id)
        if event is not None:
            await self.flush([event])

    async def flush(self, batch: list[ProgressEvent]) -> None:
        if not batch:
            return
        async with self._lock:  # one call in flight, so updates reach jobstore in order
            for start in range(0, len(batch), MAX_BATCH):
                chunk = batch[start : start + MAX_BATCH]
                try:
                    reply = await self._report([to_update(e) for e in chunk])
                except grpc.aio.AioRpcError as exc:
                    if exc.code() is grpc.StatusCode.INVALID_ARGUMENT:
                        # Retrying cannot help, and keeping it would block every job behind it.
                        log.error("jobstore refused a progress batch as malformed; dropped it",
                                  details=exc.details(), jobs=len(chunk))  # fmt: skip
                        continue
                    self.buffer.put_back(chunk)
                    log.warning(
                        "progress flush failed; kept for the next one", code=exc.code().name, jobs=len(chunk)
                    )
                    raise
                self._on_flushed(len(chunk))
                refused = [
                    Refused(event.job_id, event.attempt, result.refusal)
                    for event, result in zip(chunk, reply.results, strict=True)
                    if not result.accepted and result.refusal != pb.REFUSAL_STALE_SEQ
                ]
                if refused:
                    await self._refusals.progress_refused(refused)
