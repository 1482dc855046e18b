"""Start-up checks that stop a service with a clear message instead of failing later."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from redis import Redis

from haul.runtime.startup import StartupProblem, check_redis, redis_eviction_problem
from tests.support.servers import RedisServer
from worker.__main__ import require_binaries
from worker.settings import WorkerSettings
from worker.tools import Tool, Tools


@pytest.fixture
def evicting_redis(redis_server: RedisServer) -> Iterator[str]:
    client = Redis.from_url(redis_server.url())
    client.config_set("maxmemory-policy", "allkeys-lru")
    yield redis_server.url()
    client.config_set("maxmemory-policy", "noeviction")
    client.close()


def test_a_redis_that_may_evict_queued_jobs_stops_the_start(evicting_redis: str) -> None:
    problem = redis_eviction_problem(evicting_redis)
    assert problem is not None and "allkeys-lru" in problem and "noeviction" in problem
    with pytest.raises(StartupProblem):
        check_redis(evicting_redis)


def test_a_noeviction_redis_passes(redis_server: RedisServer) -> None:
    assert redis_eviction_problem(redis_server.url()) is None


def test_the_jobstore_process_refuses_an_evicting_redis(evicting_redis: str) -> None:
    env = {"HAUL_REDIS_URL": evicting_redis, "HAUL_DATABASE_URL": "sqlite+aiosqlite:///:memory:", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "jobstore"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "maxmemory-policy allkeys-lru" in result.stderr


def test_a_worker_without_ffmpeg_refuses_to_start() -> None:
    with pytest.raises(StartupProblem, match="ffmpeg not found"):
        require_binaries(Tools(None, None, Tool("/usr/bin/aria2c", "system")))


@pytest.mark.parametrize("token", ["dev-worker-token", "changeme", "short"])
def test_production_mode_refuses_a_placeholder_worker_token(token: str) -> None:
    with pytest.raises(ValidationError, match="HAUL_WORKER_TOKEN"):
        WorkerSettings(mode="production", worker_token=token)
    assert WorkerSettings(mode="production", worker_token="a-real-secret-of-some-length")
