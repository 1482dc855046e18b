"""Two of everything on one machine, one PostgreSQL and one Redis; kill -9 one of each mid-download."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp
import asyncpg
import psutil
import pytest
from redis import Redis

from tests.integration.haul_stack import workers_registered
from tests.integration.processes import GatewayProcess, JobstoreProcess, ServiceProcess
from tests.integration.sio_clients import browser
from tests.support.media_server import MediaServer
from tests.support.servers import RedisServer

TERMINAL = ("completed", "failed", "cancelled")


def kill_tree(process: ServiceProcess) -> None:
    """SIGKILL the process and everything under it (a worker pool: workers, horses, tools)."""
    assert process.proc is not None
    root = psutil.Process(process.proc.pid)
    victims = [*root.children(recursive=True), root]
    for victim in victims:
        with contextlib.suppress(psutil.Error):
            victim.kill()
    psutil.wait_procs(victims, timeout=10)
    process.proc.wait(10)


async def terminal_events(pg_url: str, job_id: str) -> list[str]:
    connection = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await connection.fetch(
            "SELECT to_status FROM job_events WHERE job_id = $1 AND to_status = ANY($2::text[])",
            job_id,
            list(TERMINAL),
        )
    finally:
        await connection.close()
    return [row["to_status"] for row in rows]


@pytest.mark.slow
async def test_killing_one_of_each_mid_download_still_finishes_the_job_once(
    pg_url: str, redis_server: RedisServer, media: MediaServer, tmp_path: Path
) -> None:
    redis_url = redis_server.url(4)
    Redis.from_url(redis_url).flushdb()
    common = {
        "HAUL_REDIS_URL": redis_url,  # also the gateways' Socket.IO manager
        "HAUL_DATA_DIR": str(tmp_path / "data"),
        "HAUL_TMP_DIR": str(tmp_path / "tmp"),
        "HAUL_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8",
        # The reaper's wait for a killed worker's job, and the workers' own stall watchdog.
        "HAUL_HEARTBEAT_TIMEOUT": "6",
        "HAUL_STALL_TIMEOUT": "6",
    }
    timing = {"HAUL_DISPATCH_INTERVAL": "0.5", "HAUL_REAP_INTERVAL": "1"}
    jobstores = [JobstoreProcess(pg_url, tmp_path / f"jobstore-{n}.log", **timing, **common) for n in "ab"]
    gateways = [
        GatewayProcess(j.address, tmp_path / f"gateway-{n}.log", **common)
        for n, j in zip("ab", jobstores, strict=True)
    ]
    workers = [
        ServiceProcess(
            "worker",
            {
                "HAUL_GATEWAY_URL": g.base_url,
                "HAUL_WORKER_PROCESSES": "1",
                "HAUL_WORKER_NAME": f"worker-{n}",
                **common,
            },
            tmp_path / f"worker-{n}.log",
            lambda: workers_registered(redis_url),
        )
        for n, g in zip("ab", gateways, strict=True)
    ]
    started: list[ServiceProcess] = []
    watcher = browser()
    try:
        # Side by side (each waits for the one it talks to by itself); worker b joins once a is busy.
        for process in (*jobstores, *gateways, workers[0]):
            process.launch()
            started.append(process)
        for process in started:
            process.wait_ready()
        await watcher.connect(gateways[1].base_url)
        media.slow_rate = 1024 * 1024
        async with aiohttp.ClientSession() as http:
            body = {"url": media.url("/slow/medium.bin"), "type": "file"}
            async with http.post(f"{gateways[0].base_url}/downloads", json=body) as response:
                assert response.status == 202, await response.text()
                job_id = (await response.json())["jobId"]
        await watcher.call("subscribe", {"jobId": job_id})
        await watcher.wait_for("progress", {"jobId": job_id}, within=30)
        workers[1].start()
        started.append(workers[1])

        kill_tree(workers[0])  # holds the job
        gateways[0].kill()  # took the submission
        jobstores[0].kill()
        media.slow_rate = 200 * 1024 * 1024

        finished = await watcher.wait_for("job-update", {"jobId": job_id, "status": "completed"}, within=90)
        assert finished["attempt"] == 2, finished
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{gateways[1].base_url}/downloads/{job_id}") as got,
        ):
            job = await got.json()
        assert job["status"] == "completed" and job["sha256"] == media.media.sha256["medium.bin"], job
        assert [h["actor"] for h in job["history"] if h["to"] == "queued"][-1] == "reaper"
        await asyncio.sleep(1)  # nothing more may arrive
        assert await terminal_events(pg_url, job_id) == ["completed"]
        assert [f.name for f in (tmp_path / "data" / job_id).iterdir()] == [job["filename"]]
    finally:
        await watcher.close()
        for process in reversed(started):
            if process.proc is not None and process.proc.poll() is None:
                kill_tree(process)
