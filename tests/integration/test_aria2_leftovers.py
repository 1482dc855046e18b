"""A SIGKILLed work horse leaves its aria2 folder (config with the RPC secret); the next worker
start removes it, and leaves the folder of a horse still downloading alone."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.integration.haul_stack import Haul, run_haul_on_fresh_database
from tests.support.media_server import MediaServer
from tests.support.servers import PostgresServer, RedisServer
from worker.aria2_roots import ARIA2_DIR

REDIS_DB = 4


@pytest.fixture
def haul(
    pg_server: PostgresServer, redis_server: RedisServer, media: MediaServer, tmp_path: Path
) -> Iterator[Haul]:
    yield from run_haul_on_fresh_database(
        pg_server, redis_server.url(REDIS_DB), media, tmp_path, HAUL_HEARTBEAT_TIMEOUT="4"
    )


def aria2_folders(haul: Haul) -> list[Path]:
    parent = haul.tmp_dir / ARIA2_DIR
    return sorted(p for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []


def kill_tree(pid: int) -> None:
    """SIGKILL a work horse and what it started (its isolated child, aria2c)."""
    horse = psutil.Process(pid)
    victims = [*horse.children(recursive=True), horse]
    for process in victims:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(victims, timeout=10)


def test_the_worker_start_sweep_removes_a_killed_horses_aria2_folder_only(haul: Haul, tmp_path: Path) -> None:
    haul.media.slow_rate = 1024 * 1024
    jobs = [haul.submit(haul.media.url("/slow/medium.bin"), "file") for _ in range(2)]
    for job_id in jobs:
        haul.wait_until(job_id, lambda j: j["downloadedBytes"] > 0, within=30)
    folders = aria2_folders(haul)
    assert len(folders) == 2 and all((f / "aria2.conf").exists() for f in folders), folders
    killed, live = folders
    kill_tree(int(killed.name.split("-")[0]))  # the folder is named after the horse's pid
    assert (killed / "aria2.conf").exists(), "a SIGKILLed horse leaves its folder behind"

    haul.start_another_worker(tmp_path / "worker-2.log")
    for _ in range(100):  # within 10 s
        if not killed.exists():
            break
        time.sleep(0.1)
    assert not killed.exists(), "the start-up sweep removed the dead horse's folder"
    assert (live / "aria2.conf").exists(), "the live horse's folder is untouched"
    assert "aria2 folders of ended processes removed" in haul.worker.log()

    haul.media.slow_rate = 200 * 1024 * 1024
    for job_id in jobs:  # the live one finishes; the killed one is re-queued by the reaper
        job = haul.wait_for(job_id, within=90)
        assert job["status"] == "completed", job
        assert job["sha256"] == haul.media.media.sha256["medium.bin"]
    assert aria2_folders(haul) == [], "every job's folder is gone once it finished"
