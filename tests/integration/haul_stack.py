"""The whole of haul as real processes: jobstore, gateway and a worker pool, for end-to-end tests."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests
from redis import Redis
from rq import Worker

from tests.integration.processes import GatewayProcess, JobstoreProcess, ServiceProcess, stop_all
from tests.support.databases import TEMPLATE_DB, clone_pg_database
from tests.support.media_server import MediaServer
from tests.support.servers import PostgresServer

TERMINAL = ("completed", "failed", "cancelled")


@dataclass
class Haul:
    base_url: str
    data_dir: Path
    tmp_dir: Path
    media: MediaServer
    jobstore: JobstoreProcess
    gateway: GatewayProcess
    worker: ServiceProcess
    http: requests.Session
    worker_env: dict[str, str]

    def submit(self, url: str, type: str = "auto", **options: Any) -> str:
        response = self.http.post(
            f"{self.base_url}/downloads", json={"url": url, "type": type, "options": options}
        )
        assert response.status_code == 202, response.text
        return str(response.json()["jobId"])

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.http.get(f"{self.base_url}/downloads/{job_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_for(
        self, job_id: str, statuses: tuple[str, ...] = TERMINAL, within: float = 60.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            job = self.job(job_id)
            if job["status"] in statuses or time.monotonic() > deadline:
                return job
            time.sleep(0.1)

    def kill_worker_tree(self) -> int:
        """SIGKILL the worker pool, its workers, their work horses and the tools they started."""
        assert self.worker.proc is not None
        root = psutil.Process(self.worker.proc.pid)
        victims = [*root.children(recursive=True), root]
        for process in victims:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(victims, timeout=10)
        self.worker.proc.wait(10)
        return len(victims)

    def start_another_worker(self, log_path: Path) -> ServiceProcess:
        worker = ServiceProcess("worker", self.worker_env, log_path, lambda: True)
        worker.start()
        self.worker = worker
        return worker

    def wait_until(self, job_id: str, check: Any, within: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            job = self.job(job_id)
            if check(job) or time.monotonic() > deadline:
                return job
            time.sleep(0.05)


def workers_registered(redis_url: str) -> bool:
    return len(Worker.all(connection=Redis.from_url(redis_url))) > 0


def run_haul_on_fresh_database(
    pg_server: PostgresServer, redis_url: str, media: MediaServer, folder: Path, **env: str
) -> Iterator[Haul]:
    """`run_haul` on a new clone of the migrated template database, with the egress guard letting
    the loopback media origin through (it refuses loopback unless told otherwise)."""
    database = pg_server.url(clone_pg_database(pg_server, TEMPLATE_DB))
    yield from run_haul(database, redis_url, media, folder, HAUL_EGRESS_ALLOWED_NETWORKS="127.0.0.0/8", **env)


def run_haul(
    database_url: str, redis_url: str, media: MediaServer, folder: Path, **env: str
) -> Iterator[Haul]:
    Redis.from_url(redis_url).flushdb()
    data_dir, tmp_dir = folder / "data", folder / "tmp"
    common = {
        "HAUL_REDIS_URL": redis_url,
        "HAUL_DATA_DIR": str(data_dir),
        "HAUL_TMP_DIR": str(tmp_dir),
        **env,
    }
    # Short loops: a job killed under a test's short HAUL_HEARTBEAT_TIMEOUT is queued again within
    # half a second of its timeout, not up to the default 5 s reap interval later.
    timing = {"HAUL_DISPATCH_INTERVAL": "0.5", "HAUL_REAP_INTERVAL": "0.5"}
    jobstore = JobstoreProcess(database_url, folder / "jobstore.log", **{**timing, **common})
    gateway = GatewayProcess(jobstore.address, folder / "gateway.log", **common)
    worker_env = {
        "HAUL_GATEWAY_URL": gateway.base_url,
        "HAUL_WORKER_PROCESSES": "2",
        "HAUL_WORKER_NAME": "test-worker",
        **common,
    }
    worker = ServiceProcess(
        "worker", worker_env, folder / "worker.log", lambda: workers_registered(redis_url)
    )
    started: list[ServiceProcess] = []
    try:
        # Side by side, as `make run` starts them (the gateway waits for jobstore and the pool for
        # the gateway by themselves): their imports and start-ups overlap.
        for process in (jobstore, gateway, worker):
            process.launch()
            started.append(process)
        for process in started:
            process.wait_ready()
        with requests.Session() as http:
            haul = Haul(
                gateway.base_url, data_dir, tmp_dir, media, jobstore, gateway, worker, http, worker_env
            )
            try:
                yield haul
            finally:
                if haul.worker not in started:  # a test replaced the worker; stop the new one too
                    started.append(haul.worker)
    finally:
        stop_all(reversed(started))
