"""A collection's children are dispatched to RQ like any created job, and the reaper treats the
parent as what it is: no longer a worker's claim, so never stalled; a stalled child is re-queued
and its parent counts it again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from redis import Redis
from rq.job import Job as RqJob
from rq.serializers import JSONSerializer

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from jobstore.adapters.rqueue import rq_job_id
from jobstore.server import Jobstore
from tests.support.inprocess import jobstore_settings, start_jobstore

FEED = "https://media.example/feed.xml"


@pytest.fixture
async def stub(database_url: str, redis_url: str) -> AsyncIterator[pb_grpc.JobStoreServiceStub]:
    settings = jobstore_settings(
        database_url, redis_url=redis_url, dispatch_interval=0.3, heartbeat_timeout=1.0, reap_interval=0.2
    )
    app: Jobstore = await start_jobstore(settings)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        yield pb_grpc.JobStoreServiceStub(channel)
    await app.stop()


def held_by_rq(redis_url: str, job_id: str, attempt: int) -> bool:
    redis = Redis.from_url(redis_url)
    try:
        RqJob.fetch(rq_job_id(uuid.UUID(job_id), attempt), connection=redis, serializer=JSONSerializer)
    except Exception:
        return False
    return True


async def eventually(check: Callable[[], object], within: float = 10.0) -> None:
    for _ in range(int(within / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {within} s")


async def expanded(stub: pb_grpc.JobStoreServiceStub, refused: int) -> tuple[pb.Job, list[pb.Job]]:
    parent = (await stub.CreateJob(pb.CreateJobRequest(url=FEED))).job
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=parent.id, worker_id="resolver"))
    entries = [
        pb.CollectionEntry(
            key=str(i),
            url=f"https://media.example/{i}.mp3",
            index=i,
            refused="private" if i == refused else "",
        )
        for i in (1, 2, 3)
    ]
    reply = await stub.ReportCollection(
        pb.ReportCollectionRequest(job_id=parent.id, attempt=claim.attempt, entries=entries, listed=3)
    )
    assert reply.accepted and reply.created == 3
    kids = (await stub.ListJobs(pb.ListJobsRequest(parent_id=parent.id))).jobs
    return reply.job, list(kids)


async def test_children_are_dispatched_to_rq_and_refused_ones_are_not(
    stub: pb_grpc.JobStoreServiceStub, redis_url: str
) -> None:
    _parent, kids = await expanded(stub, refused=2)
    await eventually(lambda: held_by_rq(redis_url, kids[0].id, 1) and held_by_rq(redis_url, kids[2].id, 1))
    await asyncio.sleep(0.7)  # two more reconciler passes
    assert not held_by_rq(redis_url, kids[1].id, 1)


async def test_the_reaper_leaves_the_parent_alone_and_requeues_a_stalled_child(
    stub: pb_grpc.JobStoreServiceStub,
) -> None:
    parent, kids = await expanded(stub, refused=0)
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=kids[0].id, worker_id="w"))
    assert claim.accepted
    running = (await stub.GetJob(pb.GetJobRequest(job_id=parent.id))).job
    assert running.collection.running == 1

    async def child_requeued() -> pb.Job:
        for _ in range(100):
            child = (await stub.GetJob(pb.GetJobRequest(job_id=kids[0].id))).job
            if child.status == pb.JOB_STATUS_QUEUED:
                return child
            await asyncio.sleep(0.05)
        raise AssertionError("the stalled child was never re-queued")

    child = await child_requeued()
    assert child.error_code == "STALLED"
    await asyncio.sleep(1.5)  # well past the heartbeat timeout for the parent too
    after = await stub.GetJob(pb.GetJobRequest(job_id=parent.id, include_history=True))
    assert after.job.status == pb.JOB_STATUS_RUNNING and after.job.error_code == ""
    assert after.job.collection.running == 0 and after.job.collection.queued == 3
    assert [e.actor for e in after.history if e.actor == "reaper"] == []
