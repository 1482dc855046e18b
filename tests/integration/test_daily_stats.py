"""Daily figures end to end: the rollup on PostgreSQL and SQLite, GetStats over gRPC, GET /stats.

Jobs are driven through the service layer with a clock of the test's choosing, so every
timestamp, and so every figure, is known exactly.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
import sqlalchemy as sa

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from jobstore import service, stats_service
from jobstore.adapters.changefeed import ChangeHub, LocalChangeFeed
from jobstore.adapters.db import create_engine
from jobstore.adapters.tables import daily_stats, jobs
from jobstore.adapters.uow import SqlUnitOfWork
from jobstore.domain.model import ControlAction
from jobstore.domain.stats import DailyStats, StatsFigures
from jobstore.domain.values import FileResult, JobOptions, JobType
from jobstore.server import Jobstore
from tests.support.inprocess import Stack, gateway_settings, jobstore_settings, start_gateway, start_jobstore

URL = "https://media.example/clip.mp4"
SHA = "ab" * 32
Uow = Callable[[], SqlUnitOfWork]
D1, D2 = date(2026, 11, 23), date(2026, 11, 24)


def clock(day: date, hour: int, minute: int = 0, second: int = 0) -> Callable[[], datetime]:
    return lambda: datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[Uow]:
    engine = create_engine(database_url)
    feed = LocalChangeFeed(ChangeHub())
    yield lambda: SqlUnitOfWork(engine, feed)
    await engine.dispose()


class Jobs:
    """The service's use cases, each at a given moment."""

    def __init__(self, uow: Uow) -> None:
        self.uow = uow

    async def create(self, now: Callable[[], datetime]) -> uuid.UUID:
        command = service.CreateJob(URL, JobType.AUTO, JobOptions(), max_attempts=3)
        job, _ = await service.create_job(self.uow(), command, now=now)
        return job.id

    async def claim(self, job_id: uuid.UUID, now: Callable[[], datetime]) -> int:
        outcome = await service.claim_job(self.uow(), job_id, "w1", now=now)
        assert outcome.accepted and outcome.job is not None
        return outcome.job.attempt

    async def complete(self, job_id: uuid.UUID, attempt: int, size: int, now: Callable[[], datetime]) -> None:
        result = FileResult("clip.mp4", f"{job_id}/clip.mp4", size, SHA)
        assert (await service.complete_job(self.uow(), job_id, attempt, result, now=now)).accepted

    async def fail(
        self, job_id: uuid.UUID, attempt: int, retryable: bool, now: Callable[[], datetime]
    ) -> None:
        outcome = await service.fail_job(self.uow(), job_id, attempt, "HTTP_ERROR", "404", retryable, now=now)
        assert outcome.accepted

    async def control(self, job_id: uuid.UUID, action: ControlAction, now: Callable[[], datetime]) -> None:
        await service.control_job(self.uow(), job_id, action, "", now=now)

    async def finished(self, day: date, hour: int, seconds: int, size: int) -> uuid.UUID:
        """A job claimed at hour:00:00 and completed `seconds` later."""
        job_id = await self.create(clock(day, hour - 1))
        attempt = await self.claim(job_id, clock(day, hour))
        await self.complete(job_id, attempt, size, clock(day, hour, seconds // 60, seconds % 60))
        return job_id


async def stored(uow: Uow) -> dict[date, StatsFigures]:
    async with uow() as unit:
        return {d.day: d.figures for d in await unit.stats.stored(date(2000, 1, 1), date(2100, 1, 1))}


async def test_rollup_counts_each_day_exactly_and_keeps_closed_days_as_they_were(uow: Uow) -> None:
    drive = Jobs(uow)
    # Day 1: A completes in 10 s; B fails (retryable), is re-queued and completes in 30 s on its
    # second attempt; H is paused and resumed (not a retry) and completes in 50 s; C and G
    # fail for good; D is cancelled.
    a = await drive.finished(D1, 10, 10, size=1000)
    b = await drive.create(clock(D1, 9))
    await drive.fail(b, await drive.claim(b, clock(D1, 11)), True, clock(D1, 11, 0, 5))
    await drive.complete(b, await drive.claim(b, clock(D1, 11, 1)), 2000, clock(D1, 11, 1, 30))
    h = await drive.create(clock(D1, 15))
    await drive.claim(h, clock(D1, 15, 1))
    await drive.control(h, ControlAction.PAUSE, clock(D1, 15, 2))
    await drive.control(h, ControlAction.RESUME, clock(D1, 15, 3))
    await drive.complete(h, await drive.claim(h, clock(D1, 15, 4)), 4000, clock(D1, 15, 4, 50))
    c = await drive.create(clock(D1, 9))
    await drive.fail(c, await drive.claim(c, clock(D1, 12)), False, clock(D1, 12, 0, 20))
    g = await drive.create(clock(D1, 9))
    await drive.fail(g, await drive.claim(g, clock(D1, 13, 59)), False, clock(D1, 14))
    await drive.control(await drive.create(clock(D1, 9)), ControlAction.CANCEL, clock(D1, 13))

    day1 = StatsFigures(
        completed=3, failed=2, cancelled=1, bytes_downloaded=7000,
        median_duration_seconds=30.0, p95_duration_seconds=48.0, retries=1,
    )  # fmt: skip
    assert await stats_service.roll_up_stats(uow(), now=clock(D1, 23, 59)) == [D1]
    assert await stored(uow) == {D1: day1}
    # The first rollup after midnight still redoes day 1 (late commits); day 2 starts empty.
    assert await stats_service.roll_up_stats(uow(), now=clock(D2, 0, 10)) == [D1, D2]
    assert await stored(uow) == {D1: day1, D2: StatsFigures()}

    # Day 2: E (60 s) and F (20 s) complete; G, which failed on day 1, is retried by a person
    # and completes in 100 s; A, of day 1, is deleted.
    await drive.finished(D2, 8, 60, size=500)
    await drive.finished(D2, 9, 20, size=700)
    await drive.control(g, ControlAction.RETRY, clock(D2, 9, 30))
    await drive.complete(g, await drive.claim(g, clock(D2, 10)), 300, clock(D2, 10, 1, 40))
    await service.delete_job(uow(), a)

    assert await stats_service.roll_up_stats(uow(), now=clock(D2, 12)) == [D2]
    day2 = StatsFigures(
        completed=3, failed=0, cancelled=0, bytes_downloaded=1500,
        median_duration_seconds=60.0, p95_duration_seconds=96.0, retries=1,
    )  # fmt: skip
    # Day 1 is closed: A's deletion and G's second life do not rewrite it.
    assert await stored(uow) == {D1: day1, D2: day2}

    report = await stats_service.get_stats(uow(), 3, now=clock(D2, 12, 30))
    assert report.days == [
        DailyStats(date(2026, 11, 22), StatsFigures()),
        DailyStats(D1, day1),
        DailyStats(D2, day2),
    ]
    # Percentiles of the window are over the completed jobs still stored: 20, 30, 50, 60, 100.
    assert report.totals == StatsFigures(
        completed=6, failed=2, cancelled=1, bytes_downloaded=8500,
        median_duration_seconds=50.0, p95_duration_seconds=92.0, retries=2,
    )  # fmt: skip


async def test_rolling_up_again_gives_the_same_rows(uow: Uow) -> None:
    drive = Jobs(uow)
    for seconds, size in ((12, 100), (7, 200), (95, 300), (41, 400)):
        await drive.finished(D1, 10, seconds, size)
    await stats_service.roll_up_stats(uow(), now=clock(D1, 12))
    first = await stored(uow)
    assert first[D1] == StatsFigures(
        completed=4, bytes_downloaded=1000, median_duration_seconds=26.5, p95_duration_seconds=86.9
    )
    for minute in (0, 0, 1, 30):
        await stats_service.roll_up_stats(uow(), now=clock(D1, 12, minute))
        assert await stored(uow) == first
    assert list(first) == [D1]


async def test_get_stats_brings_today_up_to_date_without_the_loop(uow: Uow) -> None:
    drive = Jobs(uow)
    await drive.finished(D1, 10, 5, size=10)
    assert (await stats_service.get_stats(uow(), 1, now=clock(D1, 11))).totals.completed == 1
    await drive.finished(D1, 11, 9, size=20)
    report = await stats_service.get_stats(uow(), 1, now=clock(D1, 11, 1))
    assert report.days[0].figures.completed == 2 and report.days[0].figures.bytes_downloaded == 30
    assert (report.totals.median_duration_seconds, report.totals.p95_duration_seconds) == (7.0, 8.8)


async def test_a_job_requeued_by_a_restart_is_not_a_retry(uow: Uow) -> None:
    drive = Jobs(uow)
    job_id = await drive.create(clock(D1, 9))
    await drive.claim(job_id, clock(D1, 10))
    assert [j.id for j in await service.requeue_interrupted(uow(), now=clock(D1, 10, 5))] == [job_id]
    await drive.complete(job_id, await drive.claim(job_id, clock(D1, 10, 6)), 1, clock(D1, 10, 7))
    report = await stats_service.get_stats(uow(), 1, now=clock(D1, 11))
    assert (report.totals.completed, report.totals.retries) == (1, 0)


# -- over gRPC ------------------------------------------------------------------------------


async def set_duration(app: Jobstore, job_id: str, seconds: float) -> None:
    """Move a finished job's started_at so that its attempt took `seconds`."""
    async with app.engine.begin() as conn:
        row = jobs.c.id == uuid.UUID(job_id)
        finished = (await conn.execute(sa.select(jobs.c.finished_at).where(row))).scalar_one()
        await conn.execute(jobs.update().where(row).values(started_at=finished - timedelta(seconds=seconds)))


async def seed_over_grpc(stub: pb_grpc.JobStoreServiceStub, app: Jobstore) -> None:
    """Two completed jobs (42 s, 18 s; 1000 + 234 bytes), one failed, one cancelled, one retry."""

    async def claimed() -> pb.Job:
        job = (await stub.CreateJob(pb.CreateJobRequest(url=URL))).job
        return (await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="w1"))).job

    for seconds, size in ((42, 1000), (18, 234)):
        job = await claimed()
        request = pb.CompleteJobRequest(
            job_id=job.id, attempt=1, filename="v.mp4", output_path=f"{job.id}/v.mp4", size=size, sha256=SHA
        )
        assert (await stub.CompleteJob(request)).accepted
        await set_duration(app, job.id, seconds)
    for retryable in (False, True):
        job = await claimed()
        request = pb.FailJobRequest(
            job_id=job.id, attempt=1, error_code="HTTP_ERROR", error_message="404", retryable=retryable
        )
        assert (await stub.FailJob(request)).accepted
    job = (await stub.CreateJob(pb.CreateJobRequest(url=URL))).job
    await stub.ControlJob(pb.ControlJobRequest(job_id=job.id, action=pb.CONTROL_ACTION_CANCEL))


async def test_get_stats_over_grpc(stub: pb_grpc.JobStoreServiceStub, jobstore: Jobstore) -> None:
    await seed_over_grpc(stub, jobstore)
    today = datetime.now(UTC).date()
    reply = await stub.GetStats(pb.GetStatsRequest(days=2))
    assert [d.day for d in reply.days] == [(today - timedelta(days=1)).isoformat(), today.isoformat()]
    totals = reply.totals
    assert (totals.completed, totals.failed, totals.cancelled) == (2, 1, 1)
    assert (totals.bytes_downloaded, totals.retries) == (1234, 1)
    assert (totals.median_duration_seconds, totals.p95_duration_seconds) == (30.0, 40.8)
    assert reply.days[-1].figures == totals
    assert not reply.days[0].figures.HasField("median_duration_seconds")

    assert len((await stub.GetStats(pb.GetStatsRequest())).days) == 7
    assert len((await stub.GetStats(pb.GetStatsRequest(days=366))).days) == 366
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetStats(pb.GetStatsRequest(days=367))
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_the_rollup_loop_fills_the_daily_stats_table_on_its_own(database_url: str) -> None:
    app = await start_jobstore(jobstore_settings(database_url, daily_stats_interval=0.1))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            await seed_over_grpc(pb_grpc.JobStoreServiceStub(channel), app)
        figures: tuple[int, ...] = ()
        for _ in range(100):
            async with app.engine.connect() as conn:
                rows = (await conn.execute(daily_stats.select())).mappings().all()
            # The loop may have run while the jobs were being made; a later pass catches up.
            figures = tuple(sum(r[n] for r in rows) for n in ("completed", "failed", "cancelled", "retries"))
            if figures == (2, 1, 1, 1):
                break
            await asyncio.sleep(0.05)
        assert figures == (2, 1, 1, 1), "the loop never rolled up every job"
    finally:
        await app.stop()


# -- through the gateway ----------------------------------------------------------------------


async def get(url: str, **headers: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.json()


async def test_get_stats_through_a_real_gateway(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.jobstore.port}") as channel:
        await seed_over_grpc(pb_grpc.JobStoreServiceStub(channel), stack.jobstore)
    status, body = await get(f"{stack.base_url}/stats?days=3")
    assert status == 200
    assert set(body) == {"days", "totals"} and len(body["days"]) == 3
    today = datetime.now(UTC).date()
    assert [d["day"] for d in body["days"]] == [(today - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    figures = {
        "completed": 2, "failed": 1, "cancelled": 1, "bytesDownloaded": 1234,
        "medianDurationSeconds": 30.0, "p95DurationSeconds": 40.8, "retries": 1,
    }  # fmt: skip
    assert body["totals"] == figures
    assert body["days"][-1] == {"day": today.isoformat(), **figures}
    assert body["days"][0] == {
        "day": (today - timedelta(days=2)).isoformat(), "completed": 0, "failed": 0, "cancelled": 0,
        "bytesDownloaded": 0, "medianDurationSeconds": None, "p95DurationSeconds": None, "retries": 0,
    }  # fmt: skip
    status, body = await get(f"{stack.base_url}/stats")
    assert status == 200 and len(body["days"]) == 7

    started = time.perf_counter()
    status, body = await get(f"{stack.base_url}/stats?days=366")
    assert status == 200 and len(body["days"]) == 366 and body["totals"]["completed"] == 2
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("days", ["0", "367", "-1", "abc", "1.5", ""])
async def test_get_stats_refuses_days_out_of_range_with_400(stack: Stack, days: str) -> None:
    status, body = await get(f"{stack.base_url}/stats?days={days}")
    assert status == 400
    assert set(body["error"]) == {"code", "message"} and body["error"]["code"] == "invalid_days"


async def test_get_stats_needs_the_api_token_when_one_is_set(stack: Stack, tmp_path: Path) -> None:
    settings = gateway_settings(stack.jobstore.port, tmp_path / "data", api_token="s3cret-token-for-stats")
    runner, _app = await start_gateway(settings)
    try:
        base = f"http://127.0.0.1:{settings.port}"
        status, body = await get(f"{base}/stats")
        assert (status, body["error"]["code"]) == (401, "unauthorized")
        status, _body = await get(f"{base}/stats", Authorization="Bearer s3cret-token-for-stats")
        assert status == 200
    finally:
        await runner.cleanup()
