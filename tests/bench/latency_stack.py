"""The stack `make bench-latency` measures, as `make run` starts it by default: jobstore on
SQLite, a private Redis, the gateway and a worker pool (3 workers unless told), as real
processes with HAUL_TIMELINE=1 and their JSON logs in files; and what a browser sees of it.

`Browser` is a python-socketio AsyncClient on the browser namespace (`/jobs`), subscribed to the
list feed as the page is; it writes down, by wall clock, each job's first `downloading` progress
and its `completed` (or `failed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import socketio

from tests.bench.latency_timeline import Marks, read_marks
from tests.bench.stack import clean_environment, migrate
from tests.integration.haul_stack import workers_registered
from tests.integration.processes import GatewayProcess, JobstoreProcess, ServiceProcess
from tests.support.servers import RedisServer

WORKER_TOKEN = "bench-latency-worker-token"
SUBMIT_TIMEOUT = 30.0


@dataclass
class LatencyStack:
    folder: Path
    origin_network: str  # what the egress guard lets the tools reach: the origin's address
    workers: int = 3
    redis: RedisServer | None = None
    services: list[ServiceProcess] = field(default_factory=list)
    base_url: str = ""
    _log_offsets: dict[Path, int] = field(default_factory=dict)
    _marks: Marks = field(default_factory=dict)

    def start(self) -> None:
        clean_environment()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.redis = RedisServer(self.folder)
        self.redis.start()
        database_url = f"sqlite+aiosqlite:///{self.folder / 'haul.db'}"
        migrate(database_url)
        common = {
            "HAUL_TIMELINE": "1",
            "HAUL_LOG_LEVEL": "INFO",
            "HAUL_MODE": "development",
            "HAUL_REDIS_URL": self.redis.url(),
            "HAUL_DATA_DIR": str(self.folder / "data"),
            "HAUL_TMP_DIR": str(self.folder / "tmp"),
            "HAUL_WORKER_TOKEN": WORKER_TOKEN,
        }
        jobstore = JobstoreProcess(
            database_url, self.folder / "jobstore.log", HAUL_REQUEUE_RUNNING_AT_START="true", **common
        )
        jobstore.start()
        self.services.append(jobstore)
        gateway = GatewayProcess(jobstore.address, self.folder / "gateway.log", **common)
        gateway.start()
        self.services.append(gateway)
        self.base_url = gateway.base_url
        worker_env = {
            "HAUL_GATEWAY_URL": gateway.base_url,
            "HAUL_WORKER_PROCESSES": str(self.workers),
            "HAUL_EGRESS_ALLOWED_NETWORKS": self.origin_network,
            **common,
        }
        redis_url = self.redis.url()
        worker = ServiceProcess(
            "worker", worker_env, self.folder / "worker.log", lambda: workers_registered(redis_url)
        )
        worker.start(timeout=60)
        self.services.append(worker)
        self.wait_for_all_workers()

    def wait_for_all_workers(self, within: float = 30.0) -> None:
        """RQ registers the pool's workers one by one; the figures start when all are there."""
        from redis import Redis
        from rq import Worker

        assert self.redis is not None
        deadline = time.monotonic() + within
        with Redis.from_url(self.redis.url()) as connection:
            while time.monotonic() < deadline and len(Worker.all(connection=connection)) < self.workers:
                time.sleep(0.1)

    def marks(self) -> Marks:
        """Every timeline mark logged so far (read on from where the last call stopped)."""
        for service in self.services:
            path = service.log_path
            offset = self._log_offsets.get(path, 0)
            with open(path, "rb") as log:
                log.seek(offset)
                data = log.read()
            complete = data.rfind(b"\n") + 1  # a line being written is read next time
            self._log_offsets[path] = offset + complete
            read_marks(data[:complete].decode(errors="replace").splitlines(), self._marks)
        return self._marks

    def pids(self) -> list[int]:
        found = [service.proc.pid for service in self.services if service.proc is not None]
        if self.redis is not None and self.redis.pid is not None:
            found.append(self.redis.pid)
        return found

    def close(self) -> None:
        for service in reversed(self.services):
            if service.proc is not None and service.proc.poll() is None:
                try:
                    service.terminate(timeout=15)
                except Exception:
                    service.kill()
        if self.redis is not None:
            self.redis.close()


def tree_cpu_seconds(pids: Iterable[int]) -> float:
    """CPU seconds of these processes and all their descendants, living or reaped."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in members:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = member.cpu_times()
                # children_*: the reaped ones (a work horse, aria2c); the living are members.
                total += times.user + times.system + times.children_user + times.children_system
    return total


def children_cpu_seconds() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


@dataclass
class Seen:
    downloading: float | None = None
    completed: float | None = None
    failed: str | None = None


class Browser:
    """The list feed as the page receives it, with wall-clock times of what matters here."""

    def __init__(self) -> None:
        self.jobs: dict[str, Seen] = {}
        self._client = socketio.AsyncClient(reconnection=False)
        self._client.on("progress", self._on_progress, namespace="/jobs")
        self._client.on("completed", self._on_completed, namespace="/jobs")
        self._client.on("failed", self._on_failed, namespace="/jobs")

    def _seen(self, data: Any) -> Seen | None:
        if not isinstance(data, dict) or not isinstance(data.get("jobId"), str):
            return None
        return self.jobs.setdefault(data["jobId"], Seen())

    async def _on_progress(self, data: Any) -> None:
        at = time.time()
        seen = self._seen(data)
        if seen is not None and seen.downloading is None and data.get("stage") == "downloading":
            seen.downloading = at

    async def _on_completed(self, data: Any) -> None:
        at = time.time()
        seen = self._seen(data)
        if seen is not None and seen.completed is None:
            seen.completed = at

    async def _on_failed(self, data: Any) -> None:
        seen = self._seen(data)
        if seen is not None:
            seen.failed = str(data.get("errorCode") or data.get("error") or data)

    async def connect(self, base_url: str) -> None:
        await self._client.connect(base_url, namespaces=["/jobs"], transports=["websocket"], wait_timeout=15)
        reply = await self._client.call("subscribe", {"all": True}, namespace="/jobs", timeout=15)
        if not isinstance(reply, dict) or "error" in reply:
            raise RuntimeError(f"subscribe refused: {reply}")

    async def close(self) -> None:
        await self._client.disconnect()

    async def wait_done(self, job_ids: Iterable[str], within: float) -> bool:
        """Until every job completed or failed, for at most `within` s; True when all did."""
        wanted = list(job_ids)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(self._done(job_id) for job_id in wanted):
                return True
            await asyncio.sleep(0.01)
        return False

    def _done(self, job_id: str) -> bool:
        seen = self.jobs.get(job_id)
        return seen is not None and (seen.completed is not None or seen.failed is not None)


async def submit(session: aiohttp.ClientSession, base_url: str, url: str, kind: str) -> tuple[str, float]:
    """POST /downloads; returns the job id and the client's send time (wall clock)."""
    sent_at = time.time()
    async with session.post(
        f"{base_url}/downloads",
        json={"url": url, "type": kind, "options": {}},
        timeout=aiohttp.ClientTimeout(total=SUBMIT_TIMEOUT),
    ) as response:
        body = await response.json()
        if response.status != 202:
            raise RuntimeError(f"submit refused: {response.status} {body}")
    return str(body["jobId"]), sent_at
