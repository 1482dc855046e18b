"""jobstore as real processes: the entry point, replicas sharing a change feed, a database restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.processes import JobstoreProcess
from tests.support.databases import TEMPLATE_DB, clone_pg_database, migrate
from tests.support.inprocess import jobstore_settings, start_jobstore
from tests.support.servers import PostgresServer

URL = "https://media.example/a.mp4"


async def test_python_m_jobstore_serves_reflection_and_health(sqlite_url: str, tmp_path: Path) -> None:
    with JobstoreProcess(sqlite_url, tmp_path / "jobstore.log") as process:
        async with grpc.aio.insecure_channel(process.address) as channel:
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            call = reflection.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            reply = await call.read()
            services = {s.name for s in reply.list_services_response.service}
            call.cancel()
            assert {"haul.jobstore.v1.JobStoreService", "grpc.health.v1.Health"} <= services
            created = await pb_grpc.JobStoreServiceStub(channel).CreateJob(pb.CreateJobRequest(url=URL))
            assert created.job.status == pb.JOB_STATUS_QUEUED


async def test_sigterm_shuts_down_gracefully(sqlite_url: str, tmp_path: Path) -> None:
    process = JobstoreProcess(sqlite_url, tmp_path / "jobstore.log")
    with process:
        assert process.terminate() == 0
    events = [json.loads(line)["event"] for line in process.log().splitlines() if line.startswith("{")]
    assert events.index("jobstore shutting down") < events.index("jobstore stopped")


async def test_watch_on_one_replica_sees_changes_made_through_another(pg_url: str, tmp_path: Path) -> None:
    with (
        JobstoreProcess(pg_url, tmp_path / "a.log") as replica_a,
        JobstoreProcess(pg_url, tmp_path / "b.log") as replica_b,
    ):
        async with (
            grpc.aio.insecure_channel(replica_a.address) as channel_a,
            grpc.aio.insecure_channel(replica_b.address) as channel_b,
        ):
            watcher = pb_grpc.JobStoreServiceStub(channel_a)
            writer = pb_grpc.JobStoreServiceStub(channel_b)
            call = watcher.WatchJobs(pb.WatchJobsRequest())
            changes: asyncio.Queue[pb.JobChange] = asyncio.Queue()

            async def pump() -> None:
                async for change in call:
                    changes.put_nowait(change)

            task = asyncio.create_task(pump())
            await asyncio.sleep(0.5)
            job = (await writer.CreateJob(pb.CreateJobRequest(url=URL))).job
            await writer.ControlJob(pb.ControlJobRequest(job_id=job.id, action=pb.CONTROL_ACTION_CANCEL))
            # One event per change, each carrying the job's state at or after that change:
            # when the cancel commits before the feed reads the create, both show "cancelled".
            seen = [await asyncio.wait_for(changes.get(), 10) for _ in range(2)]
            assert [c.job.id for c in seen] == [job.id, job.id]
            assert seen[-1].job.status == pb.JOB_STATUS_CANCELLED
            assert seen[0].job.updated_at.ToDatetime() <= seen[1].job.updated_at.ToDatetime()
            assert changes.empty()
            call.cancel()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await task


@pytest.fixture
def own_pg(tmp_path: Path) -> PostgresServer:
    """A PostgreSQL server of this test's own, so restarting it disturbs no other test."""
    server = PostgresServer(tmp_path)
    server.start()
    server.create_database(TEMPLATE_DB)
    migrate(server.url(TEMPLATE_DB))
    yield server  # type: ignore[misc]
    server.close()


async def test_postgres_restart_mid_traffic_costs_no_rpc_once_it_is_back(own_pg: PostgresServer) -> None:
    url = own_pg.url(await asyncio.to_thread(clone_pg_database, own_pg, TEMPLATE_DB))
    app = await start_jobstore(jobstore_settings(url))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            stub = pb_grpc.JobStoreServiceStub(channel)
            # Fill the pool with connections that the restart will kill.
            await asyncio.gather(*(stub.CreateJob(pb.CreateJobRequest(url=URL)) for _ in range(30)))
            stop = asyncio.Event()
            outcomes: list[str] = []

            async def traffic() -> None:
                while not stop.is_set():
                    try:
                        await stub.ListJobs(pb.ListJobsRequest(page_size=5), timeout=5)
                        outcomes.append("ok")
                    except grpc.aio.AioRpcError as exc:
                        outcomes.append(exc.code().name)
                    await asyncio.sleep(0.01)

            runner = asyncio.create_task(traffic())
            await asyncio.sleep(0.3)
            await asyncio.to_thread(own_pg.restart, kill=True)
            stop.set()
            await runner
            # Every call from now on must succeed at the first try: stale connections are pre-pinged away.
            replies = await asyncio.gather(*(stub.CreateJob(pb.CreateJobRequest(url=URL)) for _ in range(30)))
            assert all(r.created for r in replies)
            listed = await stub.ListJobs(pb.ListJobsRequest(page_size=100))
            assert len(listed.jobs) == 60
            # Failures during the outage are UNAVAILABLE, never INTERNAL.
            assert set(outcomes) <= {"ok", "UNAVAILABLE"}, outcomes
            # The change feed reconnects by itself, and a new watch works.
            for _ in range(200):
                if app.hub.ready:
                    break
                await asyncio.sleep(0.05)
            assert app.hub.ready
            call = stub.WatchJobs(pb.WatchJobsRequest())
            reader = asyncio.create_task(call.read())
            await asyncio.sleep(0.3)
            job = (await stub.CreateJob(pb.CreateJobRequest(url=URL))).job
            # The feed may still hand on changes of the burst above, made before the watch: the
            # new job's own change must follow within the bound.
            change = await asyncio.wait_for(reader, 10)
            for _ in range(100):
                if change.job.id == job.id:
                    break
                change = await asyncio.wait_for(call.read(), 10)
            assert change.job.id == job.id
            call.cancel()
    finally:
        await app.stop()
