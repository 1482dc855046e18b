"""Fixtures of the integration tests that run haul's services as real processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.integration.haul_stack import Haul, run_haul
from tests.support.media_server import MediaServer
from tests.support.servers import RedisServer


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


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared test Redis's database 0, emptied: the queue holds only what this test put there."""
    url = redis_server.url()
    Redis.from_url(url).flushall()
    return url
