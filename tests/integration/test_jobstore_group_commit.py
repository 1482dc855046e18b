"""Concurrent CreateJobs share transactions (jobstore.group_commit) without changing what a
caller sees: one job per idempotency key, replays and conflicts answered per request, every
acknowledged job stored with its history; on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio

import asyncpg
import grpc
import pytest

from haul.jobstore.v1 import jobstore_pb2 as pb
from tests.support.jobstore_jobs import URL, Stub

BURST = 64


async def create(stub: Stub, url: str, key: str = "") -> pb.CreateJobResponse | grpc.StatusCode:
    try:
        return await stub.CreateJob(pb.CreateJobRequest(url=url, idempotency_key=key))
    except grpc.aio.AioRpcError as exc:
        return exc.code()


async def test_a_burst_of_creates_answers_each_request_as_a_lone_create_would(stub: Stub) -> None:
    stored = await stub.CreateJob(pb.CreateJobRequest(url=URL, idempotency_key="stored"))
    requests = [(f"{URL}?n={n}", f"key-{n}") for n in range(BURST)]
    requests += [(URL, "stored"), (URL + "?other", "stored")]  # a replay, and a conflict
    requests += [(URL + "?twice", "twice")] * 3  # one key three times in the same burst
    replies = await asyncio.gather(*(create(stub, url, key) for url, key in requests))

    fresh = replies[:BURST]
    assert all(isinstance(r, pb.CreateJobResponse) and r.created for r in fresh)
    assert [r.job.url for r in fresh if isinstance(r, pb.CreateJobResponse)] == [
        u for u, _ in requests[:BURST]
    ]
    replay, conflict = replies[BURST], replies[BURST + 1]
    assert isinstance(replay, pb.CreateJobResponse) and not replay.created
    assert replay.job.id == stored.job.id
    assert conflict is grpc.StatusCode.ALREADY_EXISTS
    twice = [r for r in replies[BURST + 2 :] if isinstance(r, pb.CreateJobResponse)]
    assert len(twice) == 3 and len({r.job.id for r in twice}) == 1
    assert sum(r.created for r in twice) == 1

    acknowledged = {r.job.id for r in replies if isinstance(r, pb.CreateJobResponse)}
    assert len(acknowledged) == BURST + 2
    for job_id in acknowledged:
        fetched = await stub.GetJob(pb.GetJobRequest(job_id=job_id, include_history=True))
        assert fetched.job.status == pb.JOB_STATUS_QUEUED
        assert [e.to_status for e in fetched.history] == [pb.JOB_STATUS_QUEUED]
    listed = await stub.ListJobs(pb.ListJobsRequest(page_size=BURST + 10))
    assert {j.id for j in listed.jobs} == acknowledged


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_burst_of_creates_takes_fewer_transactions_than_creates(stub: Stub, pg_url: str) -> None:
    dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        xids = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
        before = await conn.fetchval(xids)
        replies = await asyncio.gather(*(create(stub, f"{URL}?n={n}", f"k{n}") for n in range(BURST)))
        after = await conn.fetchval(xids)
    finally:
        await conn.close()
    assert all(isinstance(r, pb.CreateJobResponse) and r.created for r in replies)
    # One write transaction per create would take BURST transaction ids; shared ones take fewer.
    assert after - before < BURST // 2, f"{after - before} transactions for {BURST} creates"
