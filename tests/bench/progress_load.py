"""The load behind `test_throttle_under_load.py`: simulated workers that claim jobs through a
real gateway and send one `progress` per job per tick over the websocket transport, and a
scrape of the gateway's counters to compare before and after.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from prometheus_client.parser import text_string_to_metric_families

from haul.contract.events import WORKER_NAMESPACE

RATE = 20  # updates per job per second
TICK = 1 / RATE
# Claims each worker has in flight while setting up.
CLAIMS_AT_ONCE = 5
# Ticks a worker may have sent beyond the last one the gateway confirmed reading.
IN_FLIGHT = 2


# --- the gateway's counters --------------------------------------------------------------------


@dataclass(frozen=True)
class Scrape:
    at: float
    flushes: float
    updates: float
    batch_count: float
    batch_sum: float
    batches_over_jobs: float  # calls that carried more updates than there are jobs
    progress: dict[str, float]  # /worker progress events by outcome

    def __sub__(self, earlier: Scrape) -> Scrape:
        return Scrape(
            self.at - earlier.at,
            self.flushes - earlier.flushes,
            self.updates - earlier.updates,
            self.batch_count - earlier.batch_count,
            self.batch_sum - earlier.batch_sum,
            self.batches_over_jobs - earlier.batches_over_jobs,
            {k: v - earlier.progress.get(k, 0.0) for k, v in self.progress.items()},
        )


async def scrape(http: aiohttp.ClientSession, base_url: str, jobs: int) -> Scrape:
    """The gateway's counters now; `batches_over_jobs` counts calls that carried more than `jobs`."""
    async with http.get(f"{base_url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    at = time.monotonic()
    samples: dict[str, float] = {}
    buckets: dict[float, float] = {}
    progress: dict[str, float] = {"accepted": 0.0, "dropped": 0.0, "stale": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "haul_gateway_progress_batch_size_bucket":
                buckets[float(sample.labels["le"])] = sample.value
            elif sample.name == "haul_gateway_socket_events_total":
                labels = sample.labels
                if labels.get("namespace") == WORKER_NAMESPACE and labels.get("event") == "progress":
                    progress[labels["outcome"]] = sample.value
            else:
                samples[sample.name] = sample.value
    count = samples.get("haul_gateway_progress_batch_size_count", 0.0)
    within = buckets.get(float(jobs), 0.0)
    return Scrape(
        at,
        samples.get("haul_gateway_progress_flushes_total", 0.0),
        samples.get("haul_gateway_progress_updates_flushed_total", 0.0),
        count,
        samples.get("haul_gateway_progress_batch_size_sum", 0.0),
        count - within,
        progress,
    )


# --- simulated workers -------------------------------------------------------------------------


def update(job_id: str, seq: int) -> dict[str, Any]:
    """The `seq`-th progress of a job: every field is a function of seq, so the last one is known."""
    return {
        "jobId": job_id,
        "attempt": 1,
        "seq": seq,
        "stage": "downloading",
        "progress": min(100.0, seq * 0.25),
        "downloadedBytes": seq * 1000,
        "totalBytes": 1_000_000,
        "speed": 20_000.0,
        "eta": 42.0,
    }


@dataclass
class SimWorker:
    index: int
    job_ids: list[str]
    client: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(reconnection=False))
    last_seq: int = 0
    sent: int = 0
    waited: float = 0.0  # seconds spent waiting for the gateway to catch up
    lag: list[float] = field(default_factory=list)  # round trips of the barriers
    disconnects: int = 0

    async def connect(self, base_url: str, token: str) -> None:
        async def on_disconnect(reason: Any = None) -> None:
            self.disconnects += 1

        self.client.on("disconnect", on_disconnect, namespace=WORKER_NAMESPACE)
        await self.client.connect(
            base_url,
            namespaces=[WORKER_NAMESPACE],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=10,
        )
        await self.client.emit("hello", {"workerId": f"sim-{self.index}"}, namespace=WORKER_NAMESPACE)

    async def claim(self, job_id: str) -> None:
        """Claim one job through the gateway; "unavailable" means ask again (the contract's rule)."""
        retried = False
        for _ in range(10):
            reply = await self.client.call("claim", {"jobId": job_id}, namespace=WORKER_NAMESPACE, timeout=30)
            if reply.get("refusal") != "unavailable":
                break
            retried = True
            await asyncio.sleep(0.2)
        if retried and reply.get("refusal") == "already_claimed":
            return  # the first try committed after all; the test checks every job's attempt below
        assert reply.get("ok") is True and reply.get("attempt") == 1, (job_id, reply)

    async def claim_all(self) -> None:
        for start in range(0, len(self.job_ids), CLAIMS_AT_ONCE):
            await asyncio.gather(*(self.claim(j) for j in self.job_ids[start : start + CLAIMS_AT_ONCE]))

    async def barrier(self) -> None:
        """An acked event behind everything sent so far: its answer means the gateway read it all."""
        asked = time.monotonic()
        await self.client.call(
            "hello", {"workerId": f"sim-{self.index}"}, namespace=WORKER_NAMESPACE, timeout=30
        )
        self.lag.append(time.monotonic() - asked)

    async def send(self, start: float, until: float) -> None:
        """One progress per job per tick, on a fixed schedule; a late tick goes out at once.

        After each tick the worker waits until the gateway has read all but its last IN_FLIGHT
        ticks, so the backlog stays small and "sent" means "reached the gateway".
        """
        loop = asyncio.get_running_loop()
        tick = 0
        in_flight: list[asyncio.Future[None]] = []
        while loop.time() < until:
            seq = tick + 1
            for job_id in self.job_ids:
                await self.client.emit("progress", update(job_id, seq), namespace=WORKER_NAMESPACE)
            self.last_seq, self.sent = seq, self.sent + len(self.job_ids)
            tick += 1
            in_flight.append(asyncio.ensure_future(self.barrier()))
            if len(in_flight) > IN_FLIGHT:
                waited = loop.time()
                await in_flight.pop(0)
                self.waited += loop.time() - waited
            delay = start + tick * TICK - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.gather(*in_flight)
