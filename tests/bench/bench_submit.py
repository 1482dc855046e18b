"""Submit throughput: a burst of `POST /downloads` from concurrent clients, timed per request.

The stack is the one `make run` starts by default: jobstore on SQLite (aiosqlite) with a
private Redis to dispatch to (no worker: the jobs just queue), and one gateway; or, with
`backend="postgres"`, the same on a private PostgreSQL. One simulated browser watches the list
feed (`subscribe {all: true}`), as the open page does, so every create is also pushed to it.

Each client is an aiohttp session of its own posting unique URLs, one request at a time; after
a short warm-up, `submits` creates are timed. Printed and returned: creates/s over the burst's
wall time and the latency percentiles of the requests (p50, p95, p99, max).

    python -m tests.bench.bench_submit [--backend sqlite|postgres|both] [--submits 2000] [--clients 32]

The goal (issue 14): >= 500 creates/s with p99 <= 50 ms at 32 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import psutil
import socketio

from tests.bench.stack import clean_environment, migrate
from tests.integration.processes import GatewayProcess, JobstoreProcess
from tests.support.servers import PostgresServer, RedisServer

DATABASE = "haul_bench_submit"
WARMUP = 64
REQUEST_TIMEOUT = 30.0
WORKER_TOKEN = "bench-worker-token"


@dataclass(frozen=True)
class SubmitFigures:
    backend: str
    rate: float | None  # requests due per second; None for a burst
    clients: int
    submits: int
    errors: int
    seconds: float
    creates_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    browser_events: int
    # CPU time each process spent per create during the burst, in ms (both cores count).
    cpu_ms_per_create: dict[str, float]

    def line(self) -> str:
        return (
            f"{self.backend:8} {self.clients:3} clients  {self.submits} submits  "
            f"{'burst' if self.rate is None else f'at {self.rate:.0f}/s':>9}  "
            f"{self.creates_per_second:7.0f} creates/s  p50 {self.p50_ms:6.1f} ms  "
            f"p95 {self.p95_ms:6.1f} ms  p99 {self.p99_ms:6.1f} ms  max {self.max_ms:6.1f} ms  "
            f"errors {self.errors}  browser saw {self.browser_events}  CPU ms/create "
            + " ".join(f"{name} {ms:.2f}" for name, ms in self.cpu_ms_per_create.items())
        )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


@dataclass(frozen=True)
class Running:
    base_url: str
    pids: dict[str, int]  # name -> pid of the process, or of the server's postmaster


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its living descendants (PostgreSQL works in its backends)."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in (root, *root.children(recursive=True)):
            times = proc.cpu_times()
            total += times.user + times.system
    except psutil.Error:
        pass
    return total


@contextmanager
def stack(base_dir: Path, backend: str) -> Iterator[Running]:
    """jobstore + gateway (+ Redis, + PostgreSQL) as real processes."""
    clean_environment()
    with ExitStack() as cleanup:
        redis = RedisServer(base_dir)
        redis.start()
        cleanup.callback(redis.close)
        pids: dict[str, int] = {}
        if backend == "postgres":
            postgres = PostgresServer(base_dir)
            postgres.start()
            cleanup.callback(postgres.close)
            assert postgres.pid is not None
            pids["postgres"] = postgres.pid
            postgres.create_database(DATABASE)
            database_url = postgres.url(DATABASE)
        else:
            database_url = f"sqlite+aiosqlite:///{base_dir / 'haul.db'}"
        migrate(database_url)
        common = {"HAUL_MODE": "development"}  # and the default log level, INFO, as `make run` has
        jobstore = JobstoreProcess(
            database_url, base_dir / "jobstore.log", HAUL_REDIS_URL=redis.url(), **common
        )
        jobstore.start()
        cleanup.callback(jobstore.kill)
        gateway = GatewayProcess(
            jobstore.address,
            base_dir / "gateway.log",
            HAUL_REDIS_URL=redis.url(),
            HAUL_WORKER_TOKEN=WORKER_TOKEN,
            HAUL_DATA_DIR=str(base_dir / "data"),
            HAUL_TMP_DIR=str(base_dir / "tmp"),
            **common,
        )
        gateway.start()
        cleanup.callback(gateway.kill)
        assert jobstore.proc is not None and gateway.proc is not None and redis.pid is not None
        pids |= {"gateway": gateway.proc.pid, "jobstore": jobstore.proc.pid, "redis": redis.pid}
        yield Running(gateway.base_url, pids)


async def submit_burst(
    base_url: str, total: int, clients: int, tag: str, rate: float | None = None
) -> tuple[list[float], int, float]:
    """`total` submits from `clients` sessions; returns (latencies in s, errors, wall seconds).

    Without `rate`, each client sends its next request as soon as the last is answered (a
    burst: the figures are the stack's capacity). With `rate`, request n is due at n / rate s
    and its latency counts from then, so time spent waiting for a free client is counted too.
    """
    numbers = itertools.count()
    latencies: list[float] = []
    errors = 0
    began = 0.0  # set just before the clients start

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while (n := next(numbers)) < total:
            body = {"url": f"http://127.0.0.1:9/{tag}/{n}/file.bin", "type": "file"}
            started = time.perf_counter()
            if rate is not None:
                started = began + n / rate
                await asyncio.sleep(max(0.0, started - time.perf_counter()))
            try:
                async with session.post(f"{base_url}/downloads", json=body) as response:
                    await response.read()
                    ok = response.status == 202
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    sessions = [aiohttp.ClientSession(timeout=timeout) for _ in range(clients)]
    try:
        began = time.perf_counter()
        await asyncio.gather(*(client(s) for s in sessions))
        return latencies, errors, time.perf_counter() - began
    finally:
        await asyncio.gather(*(s.close() for s in sessions))


async def measure(
    running: Running, backend: str, submits: int, clients: int, browser: bool, rate: float | None
) -> SubmitFigures:
    base_url = running.base_url
    seen = 0
    watcher = socketio.AsyncClient(reconnection=False)

    @watcher.on("job-update", namespace="/jobs")  # type: ignore[untyped-decorator]
    async def _update(_payload: object) -> None:
        nonlocal seen
        seen += 1

    if browser:
        await watcher.connect(base_url, namespaces=["/jobs"], transports=["websocket"])
        await watcher.call("subscribe", {"all": True}, namespace="/jobs", timeout=15)
    try:
        await submit_burst(base_url, WARMUP, clients, "warmup")
        cpu_before = {name: cpu_seconds(pid) for name, pid in running.pids.items()}
        latencies, errors, seconds = await submit_burst(base_url, submits, clients, "burst", rate)
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in running.pids.items()}
        await asyncio.sleep(1.0)  # the browser's last updates arrive
    finally:
        if browser:
            await watcher.disconnect()
    ms = [1000 * s for s in latencies]
    return SubmitFigures(
        backend=backend,
        rate=rate,
        clients=clients,
        submits=submits,
        errors=errors,
        seconds=round(seconds, 3),
        creates_per_second=round((submits - errors) / seconds, 1),
        p50_ms=round(statistics.median(ms), 1),
        p95_ms=round(percentile(ms, 0.95), 1),
        p99_ms=round(percentile(ms, 0.99), 1),
        max_ms=round(max(ms), 1),
        browser_events=seen,
        cpu_ms_per_create={name: round(1000 * used / submits, 2) for name, used in cpu.items()},
    )


def run(
    backend: str = "sqlite",
    submits: int = 2000,
    clients: int = 32,
    browser: bool = True,
    base_dir: Path | None = None,
    rate: float | None = None,
) -> SubmitFigures:
    """Start a fresh stack on `backend` ("sqlite" or "postgres"), time the submits (a burst, or
    `rate` a second), stop it all."""
    own_dir = base_dir is None
    folder = Path(tempfile.mkdtemp(prefix="haul-bench-submit-")) if base_dir is None else base_dir
    try:
        with stack(folder, backend) as running:
            return asyncio.run(measure(running, backend, submits, clients, browser, rate))
    finally:
        if own_dir:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--submits", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--no-browser", action="store_true", help="no client watching the list feed")
    parser.add_argument(
        "--rate", type=float, action="append", help="also send at this many requests a second (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON lines too")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print("submit throughput (goal: >= 500 creates/s, p99 <= 50 ms at 32 clients)")
    for backend in backends:
        for rate in [None, *(args.rate or [])]:
            figures = run(backend, args.submits, args.clients, browser=not args.no_browser, rate=rate)
            print(figures.line(), flush=True)
            if args.json:
                print(json.dumps(asdict(figures)), flush=True)


if __name__ == "__main__":
    main()
