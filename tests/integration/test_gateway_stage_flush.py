"""A job's new stage goes from the gateway to jobstore at once; the rest of its progress keeps the
flush cadence (HAUL_FLUSH_INTERVAL), and a worker flipping stages gets only a handful of calls.

Each test runs its own gateway with the flush interval it needs in front of an in-process
jobstore, and reads the gateway's flusher: how many ticks and how many calls between ticks it
made, so that what reached the browser says which of the two carried it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from gateway.app import GATEWAY, Gateway
from gateway.progress import ProgressFlusher
from haul.contract.enums import JobStage
from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.sio_clients import WORKER_TOKEN, Recorder, browser, progress, worker
from tests.support.inprocess import gateway_settings, jobstore_settings, start_gateway, start_jobstore

URL = "https://media.example/clip.mp4"
LONG_INTERVAL = 5.0  # the longest the settings allow: far longer than a test step takes
TRIES = 3  # a tick may fall inside a step by chance; a step is tried again that many times at most


@dataclass
class Running:
    gateway: Gateway
    flusher: ProgressFlusher
    stub: pb_grpc.JobStoreServiceStub
    worker: Recorder
    browser: Recorder

    async def claimed_job(self) -> tuple[str, str]:
        """A new job, claimed by the worker, with the browser subscribed to it: (id, claim secret)."""
        job_id = (await self.stub.CreateJob(pb.CreateJobRequest(url=URL))).job.id
        await self.browser.call("subscribe", {"jobId": job_id})
        claim = await self.worker.call("claim", {"jobId": job_id})
        assert claim["ok"] and claim["attempt"] == 1, claim
        return job_id, claim["claimSecret"]


@contextlib.asynccontextmanager
async def running(pg_url: str, data_dir: Path, flush_interval: float) -> AsyncIterator[Running]:
    jobstore = await start_jobstore(jobstore_settings(pg_url))
    try:
        settings = gateway_settings(jobstore.port, data_dir, flush_interval=flush_interval)
        runner, app = await start_gateway(settings)
        try:
            gateway = app[GATEWAY]
            base_url = f"http://127.0.0.1:{settings.port}"
            w, b = worker(), browser()
            await w.connect(base_url, WORKER_TOKEN)
            await b.connect(base_url)
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{jobstore.port}") as channel:
                    yield Running(gateway, gateway.flusher, pb_grpc.JobStoreServiceStub(channel), w, b)
            finally:
                await w.close()
                await b.close()
        finally:
            await runner.cleanup()
    finally:
        await jobstore.stop()


def staged(job_id: str, seq: int, stage: JobStage, value: float, secret: str) -> dict[str, Any]:
    return {**progress(job_id, 1, seq, value, claimSecret=secret), "stage": stage.value}


async def test_a_new_stage_reaches_the_browser_before_the_tick(pg_url: str, tmp_path: Path) -> None:
    async with running(pg_url, tmp_path / "data", LONG_INTERVAL) as run:
        for _ in range(TRIES):
            job_id, secret = await run.claimed_job()
            ticks = run.flusher.ticks
            for seq, stage in enumerate((JobStage.RESOLVING, JobStage.DOWNLOADING), start=1):
                await run.worker.emit("progress", staged(job_id, seq, stage, 0.0, secret))
                await run.browser.wait_for("progress", {"jobId": job_id, "stage": stage.value})
            if run.flusher.ticks == ticks:
                break  # no tick came meanwhile: the calls between ticks carried both stages
        assert run.flusher.ticks == ticks, f"a tick fell inside each of {TRIES} tries"
        assert run.flusher.soon_calls >= 2


async def test_an_event_of_a_stage_already_seen_waits_for_the_tick(pg_url: str, tmp_path: Path) -> None:
    async with running(pg_url, tmp_path / "data", 1.0) as run:
        job_id, secret = await run.claimed_job()
        await run.worker.emit("progress", staged(job_id, 1, JobStage.DOWNLOADING, 10.0, secret))
        await run.browser.wait_for("progress", {"jobId": job_id, "progress": 10.0})
        ticks, soon_calls = run.flusher.ticks, run.flusher.soon_calls
        await run.worker.emit("progress", staged(job_id, 2, JobStage.DOWNLOADING, 20.0, secret))
        await run.browser.wait_for("progress", {"jobId": job_id, "progress": 20.0})
        assert run.flusher.ticks > ticks, "the same stage went out before the tick"
        assert run.flusher.soon_calls == soon_calls


async def test_a_worker_flipping_stages_gets_a_handful_of_calls(pg_url: str, tmp_path: Path) -> None:
    async with running(pg_url, tmp_path / "data", 1.0) as run:
        job_id, secret = await run.claimed_job()
        flips = (JobStage.DOWNLOADING, JobStage.MERGING, JobStage.POSTPROCESSING)
        soon_calls = run.flusher.soon_calls
        last = 30
        for seq in range(1, last + 1):
            await run.worker.emit("progress", staged(job_id, seq, flips[seq % 3], float(seq), secret))
            # A round trip after each, so that the flips are not all taken in by one call: a
            # claim of the job it holds already is refused, and changes nothing.
            refused = await run.worker.call("claim", {"jobId": job_id})
            assert refused == {"ok": False, "refusal": "already_claimed"}
        await run.browser.wait_for("progress", {"jobId": job_id, "progress": float(last)})
        stored = (await run.stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
        assert stored.progress_seq == last
        assert 1 <= run.flusher.soon_calls - soon_calls <= len(flips), "one call at most per stage"
