"""The dispatcher puts queued jobs on RQ, the reconciler repairs what RQ lost, the reaper re-queues stalls."""

from __future__ import annotations

import asyncio
import json
import uuid
import zlib
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from redis import Redis
from rq import Queue
from rq.job import Job as RqJob
from rq.serializers import JSONSerializer

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from jobstore.adapters.rqueue import TASK, rq_job_id
from jobstore.server import Jobstore
from tests.support.inprocess import jobstore_settings, start_jobstore

URL = "https://media.example/a.mp4"


@pytest.fixture
async def dispatching(database_url: str, redis_url: str) -> AsyncIterator[Jobstore]:
    settings = jobstore_settings(
        database_url, redis_url=redis_url, dispatch_interval=0.3, heartbeat_timeout=1.0, reap_interval=0.2
    )
    app = await start_jobstore(settings)
    yield app
    await app.stop()


async def eventually(check: Callable[[], object], within: float = 10.0) -> None:
    for _ in range(int(within / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {within} s")


def held_by_rq(redis_url: str, job_id: str, attempt: int) -> RqJob | None:
    redis = Redis.from_url(redis_url)
    try:
        return RqJob.fetch(rq_job_id(uuid.UUID(job_id), attempt), connection=redis, serializer=JSONSerializer)
    except Exception:
        return None


async def test_a_new_job_is_enqueued_on_rq_with_the_json_serializer(
    dispatching: Jobstore, redis_url: str
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dispatching.port}") as channel:
        job = (await pb_grpc.JobStoreServiceStub(channel).CreateJob(pb.CreateJobRequest(url=URL))).job
    await eventually(lambda: held_by_rq(redis_url, job.id, 1))
    rq_job = held_by_rq(redis_url, job.id, 1)
    assert rq_job is not None
    assert rq_job.func_name == TASK and rq_job.kwargs == {"job_id": job.id, "attempt": 1}
    assert rq_job.get_status() == "queued"
    # The payload is JSON, never pickle.
    raw = Redis.from_url(redis_url).hget(RqJob.key_for(rq_job.id), "data")
    assert raw is not None
    assert json.loads(zlib.decompress(raw))[0] == TASK
    assert Queue("haul", connection=Redis.from_url(redis_url)).count == 1


async def test_the_reconciler_re_enqueues_after_redis_is_flushed(
    dispatching: Jobstore, redis_url: str
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dispatching.port}") as channel:
        stub = pb_grpc.JobStoreServiceStub(channel)
        jobs = [(await stub.CreateJob(pb.CreateJobRequest(url=URL))).job for _ in range(3)]
    await eventually(lambda: all(held_by_rq(redis_url, j.id, 1) for j in jobs))
    Redis.from_url(redis_url).flushall()
    assert not any(held_by_rq(redis_url, j.id, 1) for j in jobs)
    await eventually(lambda: all(held_by_rq(redis_url, j.id, 1) for j in jobs))
    assert Queue("haul", connection=Redis.from_url(redis_url)).count == 3


async def test_the_reaper_requeues_a_job_whose_heartbeat_expired(
    dispatching: Jobstore, redis_url: str
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dispatching.port}") as channel:
        stub = pb_grpc.JobStoreServiceStub(channel)
        job = (await stub.CreateJob(pb.CreateJobRequest(url=URL, max_attempts=2))).job
        assert (await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="gone"))).accepted

        async def status() -> pb.Job:
            return (await stub.GetJob(pb.GetJobRequest(job_id=job.id, include_history=True))).job

        for _ in range(100):
            current = await status()
            if current.status == pb.JOB_STATUS_QUEUED:
                break
            await asyncio.sleep(0.1)
        assert current.status == pb.JOB_STATUS_QUEUED and current.error_code == "STALLED"
        # The next attempt is dispatched under its own RQ id.
        await eventually(lambda: held_by_rq(redis_url, job.id, 2))
        assert (await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="gone-too"))).attempt == 2
        for _ in range(100):
            current = await status()
            if current.status == pb.JOB_STATUS_FAILED:
                break
            await asyncio.sleep(0.1)
        assert current.status == pb.JOB_STATUS_FAILED and current.error_code == "STALLED"
        history = (await stub.GetJob(pb.GetJobRequest(job_id=job.id, include_history=True))).history
        assert [e.actor for e in history].count("reaper") == 2


async def test_a_job_kept_alive_by_progress_is_not_reaped(dispatching: Jobstore) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dispatching.port}") as channel:
        stub = pb_grpc.JobStoreServiceStub(channel)
        job = (await stub.CreateJob(pb.CreateJobRequest(url=URL))).job
        await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="alive"))
        for seq in range(1, 11):  # 2.5 s of heartbeats, 2.5 stall timeouts
            update = pb.ProgressUpdate(
                job_id=job.id, attempt=1, seq=seq, stage=pb.JOB_STAGE_DOWNLOADING, progress=seq
            )
            reply = await stub.ReportProgress(pb.ReportProgressRequest(updates=[update]))
            assert reply.results[0].accepted
            await asyncio.sleep(0.25)
        assert (await stub.GetJob(pb.GetJobRequest(job_id=job.id))).job.status == pb.JOB_STATUS_RUNNING
