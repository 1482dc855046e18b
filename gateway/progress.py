"""The progress path (DESIGN §4): coalesce per job, flush all pending jobs in one call.

`ProgressBuffer` is pure: it keeps the newest update per job and drops anything older than
what it has already seen for that job (a lower attempt, or the same attempt with a seq that
is not higher). `ProgressFlusher` drains it every `interval` seconds into one ReportProgress
call and passes refusals on to whoever decides which workers must stop (`RefusalHandler`).

The first event of a stage in a job's attempt (resolving, then downloading, ...) does not wait
for the tick: the flusher sends it at once, together with any other job's first-of-stage event
that arrived meanwhile, so a browser sees a new stage within a ReportProgress call of the worker
sending it. A job has a handful of stages, and each counts once per attempt however often a
worker flips between them, so this adds a handful of calls per job; every other event keeps
the cadence. (Measured on a busy 2-core machine: worker sends `downloading` -> browser sees it,
10-60 ms at the median, where the tick took 80-430 ms and missed half of the small file jobs.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

import grpc
import structlog

from gateway.ratelimit import SenderRateCap
from gateway.views import STAGE_BY_NAME
from haul.contract.enums import JobStage
from haul.contract.events import ProgressEvent
from haul.contract.limits import MAX_BATCH
from haul.jobstore.v1 import jobstore_pb2 as pb

log = structlog.get_logger(__name__)

# Jobs whose progress the buffer remembers at most: far above the jobs a deployment runs at
# once (a worker process holds one), so only a flood of made-up job ids ever reaches it.
DEFAULT_MAX_JOBS = 10_000

# One bit per stage: the stages a job's attempt has reported are kept as one int beside its seq.
_STAGE_BIT = {stage: 1 << number for number, stage in enumerate(JobStage)}


class Offered(IntEnum):
    """What `ProgressBuffer.offer` did with an event (false only when it was dropped)."""

    STALE = 0  # older than what was seen for the job: dropped
    KEPT = 1  # pending until the next flush
    NEW_STAGE = 2  # pending, and the first of its stage in this attempt: worth sending at once


@dataclass(frozen=True)
class Refused:
    job_id: str
    attempt: int
    refusal: int  # a pb.Refusal number


class ProgressBuffer:
    """The newest update per job, and what was last seen per job to drop stale ones.

    That memory is bounded three ways, so a worker connection that reports many job ids and
    leaves costs nothing afterwards: a job is forgotten when it ends (`forget`), all jobs last
    reported by a connection are forgotten when it goes (`sender_left`), and at most
    `max_jobs` are remembered at all (the least recently reported go first). Forgetting is
    safe: jobstore refuses stale reports itself; the buffer only spares it the work.
    A connection also reports at most `rate_cap` events per second (see gateway.ratelimit).
    """

    def __init__(self, max_jobs: int = DEFAULT_MAX_JOBS, rate_cap: SenderRateCap | None = None) -> None:
        self._pending: dict[str, ProgressEvent] = {}
        # job id -> (attempt, seq) last seen, and the stages that attempt reported (`_STAGE_BIT`s)
        self._latest: OrderedDict[str, tuple[int, int, int]] = OrderedDict()
        self._sender: dict[str, str] = {}  # job id -> the connection that last reported it
        self._jobs_of: dict[str, set[str]] = {}  # connection -> the job ids it last reported
        self._max_jobs = max_jobs
        self.rate_cap = rate_cap if rate_cap is not None else SenderRateCap()

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def remembered(self) -> int:
        """How many jobs the buffer holds any memory of (for tests and the benchmark)."""
        return len(self._latest) + len(self._pending) + len(self._sender) + len(self._jobs_of)

    def admit(self, sender: str) -> bool:
        """Whether the connection `sender` is within its event rate; False: drop the event."""
        return self.rate_cap.admit(sender)

    def offer(self, event: ProgressEvent, sender: str = "") -> Offered:
        """Keep the event if it is newer than anything seen for its job (STALE, falsy, if not).

        NEW_STAGE: its stage is one this attempt of the job had not reported before. The
        stages seen are forgotten with the job, and a new attempt starts with none.
        """
        job_id = event.job_id
        seen = self._latest.get(job_id)
        stages = 0
        if seen is not None:
            if (event.attempt, event.seq) <= seen[:2]:
                return Offered.STALE
            if event.attempt == seen[0]:
                stages = seen[2]
        bit = _STAGE_BIT[event.stage]
        self._latest[job_id] = (event.attempt, event.seq, stages | bit)
        self._latest.move_to_end(job_id)
        self._pending[job_id] = event
        self._note_sender(job_id, sender)
        while len(self._latest) > self._max_jobs:
            self.forget(next(iter(self._latest)))
        return Offered.KEPT if stages & bit else Offered.NEW_STAGE

    def take_all(self) -> list[ProgressEvent]:
        batch, self._pending = list(self._pending.values()), {}
        return batch

    def take(self, job_id: str) -> ProgressEvent | None:
        return self._pending.pop(job_id, None)

    def put_back(self, events: list[ProgressEvent]) -> None:
        """Return events whose flush failed, unless something newer arrived meanwhile."""
        for event in events:
            seen = self._latest.get(event.job_id)
            if seen is not None and seen[:2] == (event.attempt, event.seq):
                self._pending.setdefault(event.job_id, event)

    def forget(self, job_id: str) -> None:
        """Drop all memory of a job (it ended), so the buffer stays bounded."""
        self._pending.pop(job_id, None)
        self._latest.pop(job_id, None)
        self._note_sender(job_id, None)

    def sender_left(self, sender: str) -> None:
        """The connection went away: forget every job it was the last to report, and its rate.

        Its updates still pending are dropped with them: the worker is gone, and jobstore's
        heartbeat watchdog, not a last progress figure, decides what becomes of its jobs.
        """
        for job_id in list(self._jobs_of.get(sender, ())):
            self.forget(job_id)
        self._jobs_of.pop(sender, None)
        self.rate_cap.forget(sender)

    def _note_sender(self, job_id: str, sender: str | None) -> None:
        previous = self._sender.pop(job_id, None)
        if previous is not None:
            jobs = self._jobs_of.get(previous)
            if jobs is not None:
                jobs.discard(job_id)
                if not jobs:
                    del self._jobs_of[previous]
        if sender is not None:
            self._sender[job_id] = sender
            self._jobs_of.setdefault(sender, set()).add(job_id)


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
        self._soon: dict[str, None] = {}  # jobs whose pending event goes out before the tick, in order
        self._wake = asyncio.Event()
        self.ticks = 0  # flushes on the cadence so far
        self.soon_calls = 0  # flushes between ticks for `flush_soon` so far

    def flush_soon(self, job_id: str) -> None:
        """Send this job's pending event without waiting for the tick (its stage is new).

        `run` sends it as soon as it is free, in one call with every other job asked for
        meanwhile: while one call is in flight, the jobs asked for gather for the next.
        """
        self._soon[job_id] = None
        self._wake.set()

    async def run(self) -> None:
        """Flush on a fixed cadence: a slow flush delays the next one, but never shifts the clock.

        Between ticks it sends the jobs asked for by `flush_soon`; those calls are extra, the
        tick's clock stays as it is.
        """
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self._interval
        while True:
            if not self._soon:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(next_at):
                        await self._wake.wait()
            if loop.time() >= next_at:
                next_at = max(next_at + self._interval, loop.time())
                self._soon.clear()
                self.ticks += 1
                batch = self.buffer.take_all()
            else:
                soon, self._soon = self._soon, {}
                batch = [e for e in map(self.buffer.take, soon) if e is not None]
                self.soon_calls += bool(batch)
            with contextlib.suppress(Exception):
                await self.flush(batch)

    async def flush_job(self, job_id: str) -> None:
        """Send one job's pending progress now, so its terminal event comes after it.

        With nothing pending, a flush in flight (a tick's, or a new stage's sent at once) may
        hold the job's last event: wait until it ends (the lock queues in order), then take again
        what a failed flush put back."""
        event = self.buffer.take(job_id)
        if event is None:
            async with self._lock:
                pass
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
