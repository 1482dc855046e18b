"""The image's entry point (deploy/entrypoint.py) and health check (deploy/healthcheck.py), run as
their containers would run them, against real services.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.deploy_checks import DEPLOY, ROOT, SECRETS
from tests.support.inprocess import gateway_settings, jobstore_settings, start_gateway, start_jobstore
from tests.support.servers import RedisServer, free_port


def script_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("HAUL_")}
    return env | {"HAUL_ALEMBIC_CONFIG": str(ROOT / "alembic.ini")} | extra


async def exit_code(script: str, *args: str, env: dict[str, str]) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DEPLOY / script),
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), timeout=60)


async def test_healthcheck_reports_jobstore_and_gateway_health(sqlite_url: str, tmp_path: Path) -> None:
    jobstore = await start_jobstore(jobstore_settings(sqlite_url))
    settings = gateway_settings(jobstore.port, tmp_path / "data")
    runner, _app = await start_gateway(settings)
    env = script_env(
        HAUL_JOBSTORE_LISTEN=f"0.0.0.0:{jobstore.port}", HAUL_HOST="0.0.0.0", HAUL_PORT=str(settings.port)
    )
    try:
        assert await exit_code("healthcheck.py", "jobstore", env=env) == 0
        assert await exit_code("healthcheck.py", "gateway", env=env) == 0
        assert await exit_code("healthcheck.py", "gateway", "--ready", env=env) == 0
    finally:
        await runner.cleanup()
        await jobstore.stop()
    assert await exit_code("healthcheck.py", "jobstore", env=env) == 1
    assert await exit_code("healthcheck.py", "gateway", env=env) == 1


@pytest.fixture
def pool_like() -> Iterator[tuple[int, int]]:
    """A process with a child (like the worker pool) and one without."""
    parent = subprocess.Popen(["sh", "-c", "sleep 60 & wait"])
    lone = subprocess.Popen(["sleep", "60"])
    yield parent.pid, lone.pid
    for process in (parent, lone):
        for child in psutil.Process(process.pid).children():
            child.kill()
        process.kill()
        process.wait()


async def test_healthcheck_reports_worker_health(tmp_path: Path, pool_like: tuple[int, int]) -> None:
    with RedisServer(tmp_path) as redis:
        env = script_env(HAUL_REDIS_URL=redis.url())
        assert await exit_code("healthcheck.py", "worker", "--ready", env=env) == 0
    closed = script_env(HAUL_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert await exit_code("healthcheck.py", "worker", "--ready", env=closed) == 1
    with_children, without = pool_like
    await asyncio.sleep(0.2)  # let the shell start its child
    assert await exit_code("healthcheck.py", "worker", "--pid", str(with_children), env=closed) == 0
    assert await exit_code("healthcheck.py", "worker", "--pid", str(without), env=closed) == 1


async def test_entrypoint_migrates_and_waits_for_migrations(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'haul.db'}"
    env = script_env(
        HAUL_DATABASE_URL=url, HAUL_MODE="production", HAUL_SERVICE_TOKEN=SECRETS["HAUL_SERVICE_TOKEN"]
    )
    assert await exit_code("entrypoint.py", "wait-for-migrations", "1", env=env) == 1
    assert await exit_code("entrypoint.py", "migrate", env=env) == 0
    assert await exit_code("entrypoint.py", "wait-for-migrations", "1", env=env) == 0
