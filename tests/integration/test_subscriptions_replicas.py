"""Subscriptions across jobstore replicas and restarts: two jobstore processes on one private
PostgreSQL, a 2 s interval, each due subscription checked exactly once per interval (the check
jobs are counted), and due times that survive a restart of every replica.

The test plays the worker over gRPC: it lists every check job (an empty collection), so the next
check may start."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from pathlib import Path

import grpc

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.processes import JobstoreProcess
from tests.support.jobstore_jobs import Stub

INTERVAL = 2
ENV = {"HAUL_SUBSCRIPTION_MIN_INTERVAL": "1", "HAUL_SUBSCRIPTION_CHECK_PERIOD": "0.2"}
FEEDS = [f"https://media.example/feed-{n}.xml" for n in range(3)]


async def all_jobs(stub: Stub) -> list[pb.Job]:
    found: list[pb.Job] = []
    token = ""
    for _ in range(50):
        page = await stub.ListJobs(pb.ListJobsRequest(page_size=500, page_token=token))
        found.extend(page.jobs)
        token = page.next_page_token
        if not token:
            return found
    raise AssertionError("the pages never ended")


async def list_every_check(stub: Stub) -> None:
    """The resolver: every queued check job is claimed and reported as an empty collection."""
    while True:
        queued = await stub.ListJobs(pb.ListJobsRequest(statuses=[pb.JOB_STATUS_QUEUED], page_size=100))
        for job in queued.jobs:
            claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="resolver"))
            if claim.accepted:
                report = pb.ReportCollectionRequest(job_id=job.id, attempt=claim.attempt, title="Feed")
                assert (await stub.ReportCollection(report)).accepted
        await asyncio.sleep(0.1)


async def test_two_replicas_check_each_due_subscription_once_per_interval(
    pg_url: str, tmp_path: Path
) -> None:
    with (
        JobstoreProcess(pg_url, tmp_path / "a.log", **ENV) as replica_a,
        JobstoreProcess(pg_url, tmp_path / "b.log", **ENV) as replica_b,
    ):
        async with (
            grpc.aio.insecure_channel(replica_a.address) as channel_a,
            grpc.aio.insecure_channel(replica_b.address) as channel_b,
        ):
            stub_a, stub_b = pb_grpc.JobStoreServiceStub(channel_a), pb_grpc.JobStoreServiceStub(channel_b)
            started = time.monotonic()
            for feed in FEEDS:
                await stub_a.CreateSubscription(
                    pb.CreateSubscriptionRequest(url=feed, interval_seconds=INTERVAL)
                )
            resolver = asyncio.create_task(list_every_check(stub_b))
            await asyncio.sleep(3.5 * INTERVAL)
            resolver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await resolver
            elapsed = time.monotonic() - started
            jobs = await all_jobs(stub_a)
    checks: dict[str, list[float]] = defaultdict(list)
    for job in jobs:
        checks[job.url].append(job.created_at.ToDatetime().timestamp())
    assert sorted(checks) == sorted(FEEDS)
    for feed, times in checks.items():
        times.sort()
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        # One check at once, then one per interval (each up to a check period late): never two
        # within an interval, whichever replica made them, and none skipped.
        assert all(gap >= INTERVAL - 0.01 for gap in gaps), (feed, gaps)
        assert int(elapsed // (INTERVAL + 0.5)) <= len(times) <= int(elapsed // INTERVAL) + 1, (feed, times)
    logs = replica_a.log() + replica_b.log()
    assert logs.count("subscription checked") == sum(len(t) for t in checks.values())


async def test_a_restart_of_every_replica_keeps_the_due_times(pg_url: str, tmp_path: Path) -> None:
    with JobstoreProcess(pg_url, tmp_path / "before.log", **ENV) as before:
        async with grpc.aio.insecure_channel(before.address) as channel:
            stub = pb_grpc.JobStoreServiceStub(channel)
            made = (
                await stub.CreateSubscription(
                    pb.CreateSubscriptionRequest(url=FEEDS[0], interval_seconds=3600)
                )
            ).subscription
            request = pb.GetSubscriptionRequest(subscription_id=made.id)
            for _ in range(50):
                checked = (await stub.GetSubscription(request)).subscription
                if checked.last_job_id:
                    break
                await asyncio.sleep(0.1)
            assert checked.last_job_id, "the first check never started"
    with JobstoreProcess(pg_url, tmp_path / "after.log", **ENV) as after:
        async with grpc.aio.insecure_channel(after.address) as channel:
            stub = pb_grpc.JobStoreServiceStub(channel)
            await asyncio.sleep(1.0)  # five check periods
            again = (await stub.GetSubscription(request)).subscription
            assert again.next_check_at == checked.next_check_at
            assert again.last_job_id == checked.last_job_id
            assert len(await all_jobs(stub)) == 1
