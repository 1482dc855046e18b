"""The simulated workers of the progress benchmark, for both paths.

Both paths follow one schedule: every job reports `rate` times a second, jobs spread evenly
over the tick, seq rising from 1. `downloadedBytes` carries the seq, so the browser's copy of
an update names the send it came from. An emit time is taken just before the event is handed
to the transport (Socket.IO emit, or the ReportProgress call); how far that falls behind the
schedule is recorded as send lag.

- `BatchedPath`: K Socket.IO workers on the gateway's `/worker` namespace, fire-and-forget
  `progress` events; the gateway coalesces and flushes them.
- `NaivePath`: what a design without batching would do: every event is its own ReportProgress
  call (one update, one transaction) straight to jobstore, from a bounded number of
  synchronous senders, each owning a share of the jobs and awaiting each call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import socketio

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.bench.stack import WORKER_TOKEN

SETUP_CONCURRENCY = 16
CALL_TIMEOUT = 15.0


@dataclass(frozen=True)
class Job:
    id: str
    attempt: int
    phase: float  # where in each tick this job reports, as a fraction of the tick


@dataclass
class PathStats:
    emitted: dict[tuple[str, int], float] = field(default_factory=dict)  # (job id, seq) -> emit time
    lags: list[float] = field(default_factory=list)  # emit time - scheduled time
    calls_in_window: int = 0  # naive only: ReportProgress calls completed inside the window
    rows_in_window: int = 0  # naive only: updates jobstore accepted inside the window
    refused: int = 0
    errors: int = 0
    controls: int = 0  # batched only: control messages the gateway sent to workers


def events(jobs: list[Job], rate: float, ticks: int, t0: float) -> Iterator[tuple[float, Job, int]]:
    """(due time, job, seq) in time order, for jobs sorted by phase."""
    for tick in range(ticks):
        for job in jobs:
            yield t0 + (tick + job.phase) / rate, job, tick + 1


def progress_of(seq: int, ticks: int) -> float:
    return round(min(100.0, 100.0 * seq / ticks), 3)


async def _drive(
    jobs: list[Job], rate: float, ticks: int, t0: float, t_stop: float, stats: PathStats, send: Any
) -> None:
    """Send this share of the schedule; stop at `t_stop` whatever is left (bounded in time)."""
    for due, job, seq in events(jobs, rate, ticks, t0):
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        emitted = time.monotonic()
        if emitted >= t_stop:
            return
        stats.lags.append(emitted - due)
        stats.emitted[(job.id, seq)] = emitted
        if not await send(job, seq):
            return


async def _bounded(coros: list[Coroutine[Any, Any, Any]], limit: int = SETUP_CONCURRENCY) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(coro: Coroutine[Any, Any, Any]) -> Any:
        async with gate:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


async def create_jobs(stub: pb_grpc.JobStoreServiceStub, count: int, label: str) -> list[str]:
    async def create(index: int) -> str:
        request = pb.CreateJobRequest(url=f"https://media.example/bench/{label}/{index}.mp4")
        reply = await stub.CreateJob(request, timeout=CALL_TIMEOUT)
        return str(reply.job.id)

    return list(await _bounded([create(i) for i in range(count)]))


def _shares(job_ids: list[str], attempts: list[int], owners: int) -> list[list[Job]]:
    """Job i goes to owner i mod `owners`, at phase i/N: each owner's list is sorted by phase."""
    total = len(job_ids)
    jobs = [
        Job(job_id, attempt, i / total)
        for i, (job_id, attempt) in enumerate(zip(job_ids, attempts, strict=True))
    ]
    return [jobs[owner::owners] for owner in range(owners)]


class BatchedPath:
    def __init__(self, base_url: str, stub: pb_grpc.JobStoreServiceStub, rate: float, ticks: int) -> None:
        self._base_url = base_url
        self._stub = stub
        self._rate = rate
        self.ticks = ticks
        self.clients: list[socketio.AsyncClient] = []
        self.shares: list[list[Job]] = []
        self.stats = PathStats()

    async def setup(self, jobs: int, workers: int) -> list[str]:
        job_ids = await create_jobs(self._stub, jobs, "batched")
        workers = max(1, min(workers, jobs))
        for index in range(workers):
            self.clients.append(await self._connect(f"bench-worker-{index}"))
        owner_of = [i % workers for i in range(jobs)]

        async def claim(i: int) -> int:
            client = self.clients[owner_of[i]]
            reply = await client.call(
                "claim", {"jobId": job_ids[i]}, namespace="/worker", timeout=CALL_TIMEOUT
            )
            if not isinstance(reply, dict) or not reply.get("ok"):
                raise RuntimeError(f"claim of {job_ids[i]} refused: {reply}")
            return int(reply["attempt"])

        attempts = await _bounded([claim(i) for i in range(jobs)])
        self.shares = _shares(job_ids, attempts, workers)
        return job_ids

    async def _connect(self, worker_id: str) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)

        @client.on("control", namespace="/worker")
        async def on_control(_data: Any) -> None:
            self.stats.controls += 1

        await client.connect(
            self._base_url,
            namespaces=["/worker"],
            auth={"token": WORKER_TOKEN},
            transports=["websocket"],
            wait_timeout=15,
        )
        await client.emit("hello", {"workerId": worker_id, "tools": {}}, namespace="/worker")
        return client

    def senders(self, t0: float, t_stop: float) -> list[Coroutine[Any, Any, None]]:
        def sender(client: socketio.AsyncClient) -> Any:
            async def send(job: Job, seq: int) -> bool:
                payload = {
                    "jobId": job.id,
                    "attempt": job.attempt,
                    "seq": seq,
                    "stage": "downloading",
                    "progress": progress_of(seq, self.ticks),
                    "downloadedBytes": seq,
                }
                try:
                    await client.emit("progress", payload, namespace="/worker")
                except socketio.exceptions.SocketIOError:
                    self.stats.errors += 1
                    return False
                return True

            return send

        return [
            _drive(share, self._rate, self.ticks, t0, t_stop, self.stats, sender(client))
            for client, share in zip(self.clients, self.shares, strict=True)
        ]

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(TimeoutError, socketio.exceptions.SocketIOError):
                await asyncio.wait_for(client.disconnect(), 5)
        self.clients.clear()


class NaivePath:
    def __init__(self, stub: pb_grpc.JobStoreServiceStub, rate: float, ticks: int) -> None:
        self._stub = stub
        self._rate = rate
        self.ticks = ticks
        self.shares: list[list[Job]] = []
        self.stats = PathStats()

    async def setup(self, jobs: int, senders: int) -> list[str]:
        job_ids = await create_jobs(self._stub, jobs, "naive")

        async def claim(job_id: str) -> int:
            request = pb.ClaimJobRequest(job_id=job_id, worker_id="bench-naive-worker")
            reply = await self._stub.ClaimJob(request, timeout=CALL_TIMEOUT)
            if not reply.accepted:
                raise RuntimeError(f"ClaimJob of {job_id} refused: {reply.refusal}")
            return int(reply.attempt)

        attempts = await _bounded([claim(job_id) for job_id in job_ids])
        self.shares = _shares(job_ids, attempts, max(1, min(senders, jobs)))
        return job_ids

    def senders(self, t0: float, t_stop: float) -> list[Coroutine[Any, Any, None]]:
        stats = self.stats

        async def send(job: Job, seq: int) -> bool:
            update = pb.ProgressUpdate(
                job_id=job.id,
                attempt=job.attempt,
                seq=seq,
                stage=pb.JOB_STAGE_DOWNLOADING,
                progress=progress_of(seq, self.ticks),
                downloaded_bytes=seq,
            )
            try:
                reply = await self._stub.ReportProgress(
                    pb.ReportProgressRequest(updates=[update]), timeout=CALL_TIMEOUT
                )
            except grpc.aio.AioRpcError:
                stats.errors += 1
                return True
            accepted = sum(1 for result in reply.results if result.accepted)
            stats.refused += len(reply.results) - accepted
            if time.monotonic() <= t_stop:
                stats.calls_in_window += 1
                stats.rows_in_window += accepted
            return True

        return [_drive(share, self._rate, self.ticks, t0, t_stop, stats, send) for share in self.shares]
