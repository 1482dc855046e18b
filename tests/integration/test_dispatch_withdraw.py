"""A job that leaves `queued` without a claim (cancelled, paused, deleted, a collection's children
all at once) leaves RQ too: its pending RQ job is taken off the queue list and its hash deleted, so
workers do not pop thousands of ids whose claim is refused while a new job waits behind them. A
job paused and resumed keeps its RQ id (the attempt a claim gets is unchanged), and its one
pending RQ job is never withdrawn by a late pass.

jobstore runs in-process on a private PostgreSQL (or SQLite) and Redis; the last test adds a real
worker pool process behind the in-process gateway."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest
import requests
from redis import Redis
from rq import Queue
from rq.job import Job as RqJob
from rq.serializers import JSONSerializer

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from jobstore.adapters.rqueue import RqDispatcher, rq_job_id
from jobstore.domain.changes import ChangeKind, JobChange
from jobstore.domain.model import JobStatus
from jobstore.loops import DispatchLoop
from jobstore.server import Jobstore
from tests.integration.haul_stack import workers_registered
from tests.integration.processes import ServiceProcess
from tests.support.inprocess import Stack, jobstore_settings, running_stack, start_jobstore
from tests.support.media_server import MediaServer

Stub = pb_grpc.JobStoreServiceStub
FEED = "https://media.example/feed.xml"
QUEUE = "haul"
DISPATCH_INTERVAL = 0.5
# Settings every jobstore here runs with: passes twice a second, collections up to the hard cap.
JOBSTORE = {"dispatch_interval": DISPATCH_INTERVAL, "collection_max_items": 5000}


async def serving(database_url: str, redis_url: str) -> AsyncIterator[Stub]:
    app: Jobstore = await start_jobstore(jobstore_settings(database_url, redis_url=redis_url, **JOBSTORE))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            yield pb_grpc.JobStoreServiceStub(channel)
    finally:
        await app.stop()


@pytest.fixture
async def pg_stub(pg_url: str, redis_url: str) -> AsyncIterator[Stub]:
    """jobstore on PostgreSQL (changes reach the dispatcher through LISTEN/NOTIFY) with RQ."""
    async for stub in serving(pg_url, redis_url):
        yield stub


@pytest.fixture
async def any_stub(database_url: str, redis_url: str) -> AsyncIterator[Stub]:
    """The same, once on PostgreSQL and once on SQLite (changes handed over in the process)."""
    async for stub in serving(database_url, redis_url):
        yield stub


def listed(redis: Redis) -> list[str]:
    return [raw.decode() for raw in redis.lrange(f"rq:queue:{QUEUE}", 0, -1)]


def listed_for(redis: Redis, job_id: str) -> list[str]:
    return [rq_id for rq_id in listed(redis) if rq_id.startswith(f"haul-{job_id}-")]


def held(redis: Redis, job_id: str, attempt: int = 1) -> bool:
    return bool(redis.exists(RqJob.key_for(rq_job_id(uuid.UUID(job_id), attempt))))


async def eventually(check: Callable[[], object], within: float, what: str) -> float:
    """Poll `check` until it holds; the seconds it took."""
    started = time.monotonic()
    for _ in range(int(within / 0.02)):
        if check():
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what}: not within {within} s")


async def create(stub: Stub, url: str = "https://media.example/video.mp4") -> pb.Job:
    return (await stub.CreateJob(pb.CreateJobRequest(url=url))).job


async def control(stub: Stub, job_id: str, action: int) -> pb.Job:
    return (await stub.ControlJob(pb.ControlJobRequest(job_id=job_id, action=action))).job


async def collection(stub: Stub, count: int) -> tuple[pb.Job, list[str]]:
    """A collection of `count` queued children, as a resolving worker reports it; the ids of its
    children. (The parent's own RQ job stays on the list: no worker popped it.)"""
    parent = await create(stub, FEED)
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=parent.id, worker_id="resolver"))
    assert claim.accepted
    entries = [
        pb.CollectionEntry(key=f"item-{i}", url=f"https://media.example/item-{i}.mp3", index=i)
        for i in range(1, count + 1)
    ]
    request = pb.ReportCollectionRequest(
        job_id=parent.id, attempt=claim.attempt, title="A feed", entries=entries, listed=count
    )
    reply = await stub.ReportCollection(request)
    assert reply.accepted and reply.created == count
    kids: list[str] = []
    token = ""
    for _ in range(count // 500 + 2):
        page = await stub.ListJobs(pb.ListJobsRequest(parent_id=parent.id, page_size=500, page_token=token))
        kids.extend(job.id for job in page.jobs)
        token = page.next_page_token
        if not token:
            break
    assert len(kids) == count
    return reply.job, kids


async def enqueued_collection(stub: Stub, redis: Redis, count: int) -> tuple[pb.Job, list[str]]:
    """A collection whose children are all on RQ's queue list: the wake-up that notices them
    queued enqueues every one (the periodic full pass reads the oldest 1,000 queued only)."""
    parent, kids = await collection(stub, count)
    rq_ids = {rq_job_id(uuid.UUID(kid), 1) for kid in kids}
    expected = count
    await eventually(
        lambda: len(rq_ids & set(listed(redis))) == expected, 20.0, f"{expected} children enqueued"
    )
    return parent, kids


def test_withdrawing_5000_jobs_from_a_7500_long_queue_reads_it_once_and_keeps_the_rest_in_order(
    redis: Redis, redis_url: str
) -> None:
    dispatcher = RqDispatcher(redis_url, QUEUE, max_job_duration=60, claim_grace=60.0, dequeue_grace=600.0)
    try:
        pairs = [(uuid.uuid4(), 1) for _ in range(7500)]
        assert dispatcher.ensure_enqueued(pairs) == 7500
        leaving = {job_id for n, (job_id, _) in enumerate(pairs) if n % 3}
        redis.config_resetstat()
        started = time.monotonic()
        removed = dispatcher.withdraw(leaving)
        took = time.monotonic() - started
        stats = redis.info("commandstats")
    finally:
        dispatcher.close()
    assert sorted(removed) == sorted(rq_job_id(job_id, 1) for job_id in leaving)
    assert len(removed) == 5000
    assert listed(redis) == [rq_job_id(job_id, 1) for job_id, _ in pairs[0::3]]
    assert not any(redis.exists(RqJob.key_for(rq_id)) for rq_id in removed)
    assert all(redis.exists(RqJob.key_for(rq_job_id(job_id, 1))) for job_id, _ in pairs[0::3])
    # One read of the list, inside the script; no per-id search.
    assert stats["cmdstat_lrange"]["calls"] == 1 and "cmdstat_lrem" not in stats
    print(f"5,000 of 7,500 withdrawn in {took * 1000:.0f} ms")
    assert took < 2.0, took


def test_withdrawing_leaves_an_id_a_worker_popped_and_every_other_job(redis: Redis, redis_url: str) -> None:
    dispatcher = RqDispatcher(redis_url, QUEUE, max_job_duration=60, claim_grace=60.0, dequeue_grace=600.0)
    try:
        popped_job, kept_job, gone_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        dispatcher.ensure_enqueued([(popped_job, 1), (kept_job, 1), (gone_job, 3)])
        queue = Queue(QUEUE, connection=redis, serializer=JSONSerializer)
        popped = Queue.dequeue_any([queue], None, connection=redis, serializer=JSONSerializer)
        assert popped is not None and popped[0].id == rq_job_id(popped_job, 1)
        assert dispatcher.withdraw({popped_job, gone_job}) == [rq_job_id(gone_job, 3)]
        assert dispatcher.withdraw({uuid.uuid4()}) == []
    finally:
        dispatcher.close()
    assert listed(redis) == [rq_job_id(kept_job, 1)]
    assert redis.exists(RqJob.key_for(rq_job_id(popped_job, 1)))  # the worker's claim decides


async def test_cancelling_a_2000_entry_collection_while_queued_takes_its_children_off_the_queue(
    pg_stub: Stub, redis: Redis
) -> None:
    bystander = await create(pg_stub)  # queued before and after: its RQ job stays
    await eventually(lambda: listed_for(redis, bystander.id), 5.0, "the other job enqueued")
    parent, kids = await enqueued_collection(pg_stub, redis, 2000)

    await control(pg_stub, parent.id, pb.CONTROL_ACTION_CANCEL)
    took = await eventually(lambda: listed(redis) == [rq_job_id(uuid.UUID(bystander.id), 1)], 5.0, "cleared")

    assert not any(held(redis, kid) for kid in kids), "a withdrawn job's hash is deleted too"
    assert not held(redis, parent.id), "the parent's unclaimed attempt went with it"
    assert (
        RqJob.fetch(
            rq_job_id(uuid.UUID(bystander.id), 1), connection=redis, serializer=JSONSerializer
        ).get_status()
        == "queued"
    )
    print(f"{len(kids)} children cancelled, all on RQ withdrawn {took:.2f} s after the cancel")
    for _ in range(3):  # later passes put none of them back
        await asyncio.sleep(DISPATCH_INTERVAL)
        assert listed(redis) == [rq_job_id(uuid.UUID(bystander.id), 1)]


async def test_pausing_a_collection_withdraws_its_children_and_resuming_enqueues_each_once(
    pg_stub: Stub, redis: Redis
) -> None:
    parent, kids = await enqueued_collection(pg_stub, redis, 300)
    await control(pg_stub, parent.id, pb.CONTROL_ACTION_PAUSE)
    await eventually(lambda: not any(listed_for(redis, kid) for kid in kids), 5.0, "children withdrawn")

    await control(pg_stub, parent.id, pb.CONTROL_ACTION_RESUME)
    expected = sorted(rq_job_id(uuid.UUID(kid), 1) for kid in kids)
    await eventually(lambda: sorted(listed(redis)) == expected, 5.0, "each child enqueued again")
    await asyncio.sleep(3 * DISPATCH_INTERVAL)
    assert sorted(listed(redis)) == expected


@pytest.mark.parametrize("wait", [0.0, 0.05, 0.2, 0.45])
async def test_a_job_paused_and_resumed_keeps_exactly_one_pending_rq_job_and_runs(
    pg_stub: Stub, redis: Redis, wait: float
) -> None:
    job = await create(pg_stub)
    rq_id = rq_job_id(uuid.UUID(job.id), 1)
    await eventually(lambda: listed(redis) == [rq_id], 5.0, "enqueued")
    # Withdrawals of the pause race the resume at every offset around a pass.
    for _ in range(3):
        await control(pg_stub, job.id, pb.CONTROL_ACTION_PAUSE)
        await asyncio.sleep(wait)
        await control(pg_stub, job.id, pb.CONTROL_ACTION_RESUME)

    await eventually(lambda: listed(redis) == [rq_id], 5.0, "pending again")
    for _ in range(3):
        await asyncio.sleep(DISPATCH_INTERVAL)
        assert listed(redis) == [rq_id], "exactly one pending RQ job, through later passes"
    # It runs: a worker's dequeue hands over the job and attempt the claim accepts.
    popped = Queue.dequeue_any(
        [Queue(QUEUE, connection=redis)], None, connection=redis, serializer=JSONSerializer
    )
    assert popped is not None and popped[0].id == rq_id
    kwargs = popped[0].kwargs
    claim = await pg_stub.ClaimJob(pb.ClaimJobRequest(job_id=kwargs["job_id"], worker_id="w"))
    assert claim.accepted and claim.attempt == kwargs["attempt"] == 1


async def test_a_late_notice_of_a_pause_never_withdraws_the_job_resumed_since(
    database_url: str, redis: Redis, redis_url: str
) -> None:
    """The pause's notice reaches the dispatcher only after the resume committed (PostgreSQL's
    feed lags behind commits): the job is queued again under the same RQ id, which stays put."""
    app = await start_jobstore(jobstore_settings(database_url))  # no Redis: no dispatch loop of its own
    dispatcher = RqDispatcher(redis_url, QUEUE, max_job_duration=60, claim_grace=60.0, dequeue_grace=600.0)
    loop = DispatchLoop(app.unit_of_work, dispatcher, interval=3600.0)

    async def noticed_late(job_id: str, status: JobStatus) -> None:
        async with app.unit_of_work() as uow:
            current = await uow.jobs.get(uuid.UUID(job_id))
        assert current is not None
        loop.notice([JobChange(ChangeKind.UPSERTED, dataclasses.replace(current, status=status))])

    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            stub = pb_grpc.JobStoreServiceStub(channel)
            job = await create(stub)
            assert await loop.pass_once() == 1
            rq_id = rq_job_id(uuid.UUID(job.id), 1)
            enqueued_at = redis.hget(RqJob.key_for(rq_id), "enqueued_at")
            await control(stub, job.id, pb.CONTROL_ACTION_PAUSE)
            await control(stub, job.id, pb.CONTROL_ACTION_RESUME)
            await noticed_late(job.id, JobStatus.PAUSED)
            assert await loop.pass_once() == 0
            assert listed(redis) == [rq_id]
            assert redis.hget(RqJob.key_for(rq_id), "enqueued_at") == enqueued_at, (
                "the same RQ job, in its place"
            )

            await control(stub, job.id, pb.CONTROL_ACTION_CANCEL)  # and a late notice of a cancel does
            await noticed_late(job.id, JobStatus.CANCELLED)
            await loop.pass_once()
            assert listed(redis) == [] and not held(redis, job.id)
    finally:
        dispatcher.close()
        await app.stop()


async def test_a_starting_jobstore_withdraws_what_left_the_queue_while_none_ran(
    pg_url: str, redis: Redis, redis_url: str
) -> None:
    app = await start_jobstore(jobstore_settings(pg_url))  # no Redis: nothing dispatched yet
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            stub = pb_grpc.JobStoreServiceStub(channel)
            queued, paused = await create(stub), await create(stub)
            await control(stub, paused.id, pb.CONTROL_ACTION_PAUSE)
    finally:
        await app.stop()
    # What an earlier jobstore left on RQ: both jobs, and one deleted since.
    earlier = RqDispatcher(redis_url, QUEUE, max_job_duration=60, claim_grace=60.0, dequeue_grace=600.0)
    gone = uuid.uuid4()
    earlier.ensure_enqueued([(uuid.UUID(queued.id), 1), (uuid.UUID(paused.id), 1), (gone, 1)])
    earlier.close()
    assert len(listed(redis)) == 3

    async for _stub in serving(pg_url, redis_url):
        await eventually(lambda: listed(redis) == [rq_job_id(uuid.UUID(queued.id), 1)], 5.0, "swept")
        assert not held(redis, paused.id) and not redis.exists(RqJob.key_for(rq_job_id(gone, 1)))


async def test_a_deleted_queued_job_leaves_no_rq_job(any_stub: Stub, redis: Redis) -> None:
    job, other = await create(any_stub), await create(any_stub)
    await eventually(lambda: listed_for(redis, job.id) and listed_for(redis, other.id), 5.0, "enqueued")

    reply = await any_stub.DeleteJob(pb.DeleteJobRequest(job_id=job.id))
    assert reply.job.status == pb.JOB_STATUS_QUEUED

    await eventually(lambda: not listed_for(redis, job.id) and not held(redis, job.id), 5.0, "withdrawn")
    assert listed(redis) == [rq_job_id(uuid.UUID(other.id), 1)]


async def test_deleting_a_queued_collection_withdraws_every_child(any_stub: Stub, redis: Redis) -> None:
    parent, kids = await enqueued_collection(any_stub, redis, 500)
    reply = await any_stub.DeleteJob(pb.DeleteJobRequest(job_id=parent.id))
    assert len(reply.removed_job_ids) == 500

    await eventually(lambda: not listed(redis), 5.0, "every child withdrawn, and the parent's attempt")
    assert not any(held(redis, kid) for kid in kids) and not held(redis, parent.id)


@pytest.fixture
async def stack_with_rq(pg_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(pg_url, tmp_path / "data", redis_url=redis_url, **JOBSTORE) as running:
        yield running


async def test_a_job_submitted_after_a_big_cancel_is_claimed_promptly_by_a_real_worker(
    stack_with_rq: Stack, redis: Redis, redis_url: str, media: MediaServer, tmp_path: Path
) -> None:
    stack = stack_with_rq
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.jobstore.port}") as channel:
        stub = pb_grpc.JobStoreServiceStub(channel)
        parent, _kids = await enqueued_collection(stub, redis, 2000)
        resumed = await create(stub, media.url("/video.mp4"))
        await control(stub, resumed.id, pb.CONTROL_ACTION_PAUSE)
        await control(stub, parent.id, pb.CONTROL_ACTION_CANCEL)
        await control(stub, resumed.id, pb.CONTROL_ACTION_RESUME)
        await eventually(lambda: listed(redis) == [rq_job_id(uuid.UUID(resumed.id), 1)], 5.0, "cleared")

        worker = ServiceProcess(
            "worker",
            {
                "HAUL_REDIS_URL": redis_url,
                "HAUL_GATEWAY_URL": stack.base_url,
                "HAUL_DATA_DIR": str(stack.data_dir),
                "HAUL_TMP_DIR": str(tmp_path / "tmp"),
                "HAUL_WORKER_PROCESSES": "2",
                "HAUL_WORKER_NAME": "withdraw-test",
                "HAUL_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8",
            },
            tmp_path / "worker.log",
            lambda: workers_registered(redis_url),
        )
        await asyncio.to_thread(worker.start)
        try:
            started = time.monotonic()
            submitted = await asyncio.to_thread(
                requests.post,
                f"{stack.base_url}/downloads",
                json={"url": media.url("/video.mp4"), "type": "auto", "options": {}},
                timeout=10,
            )
            assert submitted.status_code == 202, submitted.text
            job_id = submitted.json()["jobId"]

            async def status(of: str) -> int:
                return int((await stub.GetJob(pb.GetJobRequest(job_id=of))).job.status)

            claimed_in = None
            for _ in range(300):
                if await status(job_id) != pb.JOB_STATUS_QUEUED:
                    claimed_in = time.monotonic() - started
                    break
                await asyncio.sleep(0.02)
            assert claimed_in is not None and claimed_in < 6.0, (claimed_in, worker.log()[-3000:])
            print(f"a job submitted after a 2,000-child cancel was claimed in {claimed_in:.2f} s")
            for _ in range(600):  # the resumed job runs as well, once
                if await status(resumed.id) == pb.JOB_STATUS_COMPLETED:
                    break
                await asyncio.sleep(0.1)
            done = (await stub.GetJob(pb.GetJobRequest(job_id=resumed.id))).job
            assert (done.status, done.attempt) == (pb.JOB_STATUS_COMPLETED, 1), worker.log()[-3000:]
        finally:
            await asyncio.to_thread(worker.terminate)


async def test_jobs_noticed_queued_beyond_the_full_pass_are_enqueued_when_a_full_pass_is_due(
    database_url: str, redis: Redis, redis_url: str
) -> None:
    """The full pass reads the oldest 1,000 queued jobs only; 1,100 children noticed queued just
    as one is due are all enqueued by that same turn of the loop, not left for a wake-up that
    may never come (the loop's next full pass is an hour away here)."""
    # No Redis: no dispatch loop of its own.
    app = await start_jobstore(jobstore_settings(database_url, collection_max_items=5000))
    dispatcher = RqDispatcher(redis_url, QUEUE, max_job_duration=60, claim_grace=60.0, dequeue_grace=600.0)
    loop = DispatchLoop(app.unit_of_work, dispatcher, interval=3600.0)
    running = None
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            _, kids = await collection(pb_grpc.JobStoreServiceStub(channel), 1100)
        async with app.unit_of_work() as uow:
            found = await uow.jobs.get_many([uuid.UUID(kid) for kid in kids])
        loop.notice([JobChange(ChangeKind.UPSERTED, job) for job in found.values()])
        running = asyncio.create_task(loop.run())  # its first turn is a full pass
        rq_ids = {rq_job_id(uuid.UUID(kid), 1) for kid in kids}
        await eventually(lambda: rq_ids <= set(listed(redis)), 20.0, "all 1,100 children enqueued")
    finally:
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        dispatcher.close()
        await app.stop()
