"""The services under test for the progress benchmark, and what we read from them.

`Stack` starts a private PostgreSQL, a migrated database, jobstore and the gateway as child
processes, and stops them again. `CpuMeter` measures CPU time of process trees over a window,
`scrape_counters` reads the gateway's `/metrics`, and `pg_counters` reads PostgreSQL's own
counters for the benchmark database; `Probes` bundles them for a benchmark phase.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import psutil
from alembic import command
from alembic.config import Config
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.processes import ROOT, GatewayProcess, JobstoreProcess, ServiceProcess
from tests.support.postgres import run_coro
from tests.support.servers import PostgresServer

DATABASE = "haul_bench"
WORKER_TOKEN = "dev-worker-token"
FEED = "haul_gateway_feed_changes_total"
DRAIN_LIMIT = 15.0  # at most this many seconds after a window for the pipeline to deliver the rest
DRAIN_QUIET = 0.75  # the pipeline has drained when the gateway saw no job change for this long


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def clean_environment() -> None:
    """Drop inherited HAUL_* settings (e.g. the Makefile's SQLite URL), so only ours apply."""
    for key in [k for k in os.environ if k.startswith("HAUL_")]:
        del os.environ[key]


@dataclass
class Stack:
    base_dir: Path
    flush_interval: float
    postgres: PostgresServer | None = None
    jobstore: JobstoreProcess | None = None
    gateway: GatewayProcess | None = None
    pg_version: str = "?"

    def start(self) -> None:
        clean_environment()
        self.postgres = PostgresServer(self.base_dir)
        self.postgres.start()
        self.postgres.create_database(DATABASE)
        migrate(self.postgres.url(DATABASE))
        self.pg_version = run_coro(lambda: _server_version(self.pg_dsn))
        common = {"HAUL_LOG_FORMAT": "json", "HAUL_LOG_LEVEL": "WARNING", "HAUL_MODE": "development"}
        self.jobstore = JobstoreProcess(
            self.postgres.url(DATABASE),
            self.base_dir / "jobstore.log",
            # No job may be reaped as stalled while the other path runs.
            HAUL_HEARTBEAT_TIMEOUT="3600",
            **common,
        )
        self.jobstore.start()
        self.gateway = GatewayProcess(
            self.jobstore.address,
            self.base_dir / "gateway.log",
            HAUL_FLUSH_INTERVAL=str(self.flush_interval),
            HAUL_WORKER_TOKEN=WORKER_TOKEN,
            HAUL_DATA_DIR=str(self.base_dir / "data"),
            **common,
        )
        self.gateway.start()

    @property
    def pg_dsn(self) -> str:
        assert self.postgres is not None
        return self.postgres.dsn(DATABASE)

    def pids(self) -> dict[str, tuple[int, bool]]:
        """name -> (pid, whole tree?): PostgreSQL works in its backends, the services in one process."""
        assert self.gateway and self.gateway.proc and self.jobstore and self.jobstore.proc
        assert self.postgres and self.postgres.pid is not None
        return {
            "gateway": (self.gateway.proc.pid, False),
            "jobstore": (self.jobstore.proc.pid, False),
            "postgres": (self.postgres.pid, True),
        }

    def check_alive(self) -> None:
        for service in (self.jobstore, self.gateway):
            if service is not None and service.proc is not None and service.proc.poll() is not None:
                raise RuntimeError(f"{service.module} exited early:\n{service.log()[-2000:]}")

    def close(self) -> None:
        for service in (self.gateway, self.jobstore):
            if service is not None:
                _stop(service)
        if self.postgres is not None:
            self.postgres.close()


async def _server_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def _stop(service: ServiceProcess) -> None:
    if service.proc is None or service.proc.poll() is not None:
        return
    try:
        service.terminate(timeout=15)
    except Exception:
        service.kill()


def _cpu_seconds(pid: int, tree: bool) -> float:
    """CPU seconds of a process; with `tree`, also of its reaped children and living descendants."""
    try:
        proc = psutil.Process(pid)
        times = proc.cpu_times()
        total = times.user + times.system
        if not tree:
            return total
        total += times.children_user + times.children_system
        children = proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    for child in children:
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


@dataclass
class CpuMeter:
    """CPU% of named process trees between `start()` and `stop()`; 100% is one core fully busy.

    For a single-process service this is what psutil's `cpu_percent()` reports between two calls.
    `stop()` also reports "machine": every core's busy time, whoever used it.
    """

    pids: Mapping[str, tuple[int, bool]]  # name -> (pid, whole tree?)
    _started: dict[str, float] = field(default_factory=dict)
    _wall: float = 0.0

    def start(self) -> None:
        self._wall = time.monotonic()
        self._started = {name: _cpu_seconds(*target) for name, target in self.pids.items()}
        self._started["machine"] = _machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        ended = {name: _cpu_seconds(*target) for name, target in self.pids.items()}
        ended["machine"] = _machine_busy_seconds()
        elapsed = max(time.monotonic() - self._wall, 1e-9)
        return {name: 100.0 * (ended[name] - self._started[name]) / elapsed for name in ended}


Counters = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape_counters(session: aiohttp.ClientSession, base_url: str) -> Counters:
    async with session.get(f"{base_url}/metrics", timeout=aiohttp.ClientTimeout(total=10)) as response:
        response.raise_for_status()
        text = await response.text()
    values: Counters = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return values


def counter(values: Counters, name: str, **labels: str) -> float:
    return values.get((name, frozenset(labels.items())), 0.0)


async def pg_counters(conn: asyncpg.Connection) -> dict[str, float]:
    """Server-side write figures that are exact at any moment (unlike pg_stat's, which lag):
    transaction ids handed out (one per committed or aborted write transaction) and WAL bytes."""
    row = await conn.fetchrow(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xids,"
        " pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS wal"
    )
    return {"write_xacts": float(row["xids"]), "wal_bytes": float(row["wal"])}


@dataclass
class Probes:
    """What a phase reads at its window's edges: CPU times, gateway counters, PostgreSQL counters."""

    stack: Stack
    meter: CpuMeter
    session: aiohttp.ClientSession
    pg: asyncpg.Connection

    async def gateway_counters(self) -> Counters:
        assert self.stack.gateway is not None
        return await scrape_counters(self.session, self.stack.gateway.base_url)

    async def read(self) -> tuple[Counters, dict[str, float]]:
        return await self.gateway_counters(), await pg_counters(self.pg)

    async def drain(self, flush_interval: float) -> None:
        """Wait (bounded) until the last updates went through the feed to the browser."""
        await asyncio.sleep(flush_interval + 0.2)
        deadline = time.monotonic() + DRAIN_LIMIT
        last, quiet_since = -1.0, time.monotonic()
        while time.monotonic() < deadline:
            seen = counter(await self.gateway_counters(), FEED)
            if seen != last:
                last, quiet_since = seen, time.monotonic()
            elif time.monotonic() - quiet_since >= DRAIN_QUIET:
                break
            await asyncio.sleep(0.25)
        await asyncio.sleep(0.3)  # the fan-out's last emits reach the browser
