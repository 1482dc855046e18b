"""Fixtures of the integration tests that run haul's services as real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from redis import Redis

from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.haul_stack import Haul, run_haul
from tests.integration.sio_clients import WORKER_TOKEN, Recorder, worker
from tests.support.databases import TEMPLATE_DB, clone_pg_database
from tests.support.inprocess import Stack, running_stack
from tests.support.media_server import MediaServer
from tests.support.servers import PostgresServer, RedisServer


@pytest.fixture
def haul(
    request: pytest.FixtureRequest, pg_url: str, redis_server: RedisServer, media: MediaServer, tmp_path: Path
) -> Iterator[Haul]:
    """jobstore, the gateway and a worker pool as real processes on a fresh database, for one test;
    `@pytest.mark.haul_env(HAUL_X="...")` sets extra settings. The media server is on loopback,
    which the egress guard refuses unless told otherwise, so it is told."""
    marker = request.node.get_closest_marker("haul_env")
    env = {"HAUL_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8", **(marker.kwargs if marker else {})}
    yield from run_haul(pg_url, redis_server.url(2), media, tmp_path, **env)


@pytest.fixture(scope="module")
def module_haul(
    request: pytest.FixtureRequest,
    pg_server: PostgresServer,
    redis_server: RedisServer,
    media: MediaServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Haul]:
    """The `haul` stack started once for a module, on a database of its own: starting jobstore,
    the gateway and a worker pool costs seconds, paid once instead of by every test. Use it
    through `shared_haul`. The module's `pytestmark` `haul_env` marker sets its settings. Redis
    database 3, so that a test of the same module on its own `haul` (database 2) runs beside it."""
    marker = request.node.get_closest_marker("haul_env")
    env = {"HAUL_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8", **(marker.kwargs if marker else {})}
    database = pg_server.url(clone_pg_database(pg_server, TEMPLATE_DB))
    yield from run_haul(database, redis_server.url(3), media, tmp_path_factory.mktemp("module-haul"), **env)


@pytest.fixture
def shared_haul(request: pytest.FixtureRequest, module_haul: Haul) -> Haul:
    """The module's one stack, for a test that neither kills nor restarts one of its processes and
    reads only the jobs it submitted (others' jobs are in the same database). A test's own
    `haul_env` marker cannot change a stack already running, so it is refused rather than ignored."""
    if any(mark.name == "haul_env" for mark in request.node.own_markers):
        pytest.fail("a test with settings of its own needs the per-test `haul` fixture")
    return module_haul


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared test Redis's database 0, emptied: the queue holds only what this test put there."""
    url = redis_server.url()
    Redis.from_url(url).flushall()
    return url


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    """A client of `redis_url`'s database, closed after the test."""
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
async def stack_stub(stack: Stack) -> AsyncIterator[pb_grpc.JobStoreServiceStub]:
    """A gRPC client of the in-process stack's jobstore, to set up and read jobs behind the gateway."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.jobstore.port}") as channel:
        yield pb_grpc.JobStoreServiceStub(channel)


@pytest.fixture
async def worker_pair(stack: Stack) -> AsyncIterator[tuple[Recorder, Recorder]]:
    """Two `/worker` connections holding the valid worker token: the one that claims a job, and
    another that must not be able to act for it."""
    legit, rogue = worker(), worker()
    await legit.connect(stack.base_url, WORKER_TOKEN)
    await rogue.connect(stack.base_url, WORKER_TOKEN)
    yield legit, rogue
    await legit.close()
    await rogue.close()


@pytest.fixture
async def subscribing(pg_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    """The in-process stack with an interval floor of 2 s and a check pass every 0.2 s, so a
    subscription's checks come within a test's time."""
    async with running_stack(
        pg_url, tmp_path / "data", subscription_min_interval=2, subscription_check_period=0.2
    ) as running:
        yield running
