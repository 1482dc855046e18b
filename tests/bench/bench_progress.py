"""Benchmark of haul's progress path: batched through the gateway vs one RPC per event.

`make bench-progress` (or `python -m tests.bench.bench_progress --help`). It starts a private
PostgreSQL, jobstore and the gateway as child processes, then runs two phases on the same
servers, each with fresh jobs and the same offered load:

- batched: simulated workers send `progress` over Socket.IO to the gateway, which coalesces
  per job and flushes every HAUL_FLUSH_INTERVAL seconds in one ReportProgress call;
- naive: every event is its own ReportProgress call (one update, one commit) straight to jobstore.

A browser process subscribed to the gateway's list feed timestamps every `progress` it gets, for
the emit->browser latency. The figures are printed side by side; nothing is asserted, and
they depend on the machine: the load generator shares the CPU with the services it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import grpc
import psutil

from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.bench import browser
from tests.bench.load import CALL_TIMEOUT, BatchedPath, NaivePath
from tests.bench.report import PhaseResult, render, summarize
from tests.bench.stack import FEED, CpuMeter, Probes, Stack, counter

SETTLE = 1.5  # seconds between setup and a window, for setup's changes to pass through the feed
LEAD = 0.5  # seconds between starting the senders and the window's first due event
BROWSER_TIMEOUT = 30.0
ACCEPTED = "haul_gateway_socket_events_total"
FLUSHES = "haul_gateway_progress_flushes_total"
UPDATES = "haul_gateway_progress_updates_flushed_total"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_progress", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200, help="simulated jobs per path (default 200)")
    parser.add_argument("--rate", type=float, default=10.0, help="progress events/s per job (default 10)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per path (default 10)")
    parser.add_argument("--workers", type=int, default=10, help="Socket.IO worker clients (default 10)")
    parser.add_argument(
        "--naive-senders", type=int, default=16, help="concurrent senders on the naive path (default 16)"
    )
    parser.add_argument(
        "--flush-interval", type=float, default=0.3, help="the gateway's HAUL_FLUSH_INTERVAL (default 0.3)"
    )
    args = parser.parse_args(argv)
    bounds = {
        "jobs": (1, 5000),
        "rate": (0.1, 100.0),
        "duration": (1.0, 120.0),
        "workers": (1, 200),
        "naive_senders": (1, 256),
        "flush_interval": (0.05, 5.0),
    }
    for name, (low, high) in bounds.items():
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name.replace('_', '-')} must be within {low}..{high}")
    return args


async def _sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))


async def _recv(conn: Connection, within: float) -> tuple[str, Any]:
    def wait() -> tuple[str, Any]:
        if not conn.poll(within):
            raise RuntimeError(f"the browser process did not answer within {within} s")
        message: tuple[str, Any] = conn.recv()
        return message

    return await asyncio.to_thread(wait)


async def run_phase(
    name: str, path: BatchedPath | NaivePath, job_ids: list[str], probes: Probes, args: argparse.Namespace
) -> PhaseResult:
    """Run one path's schedule; measure counters and CPU over exactly its window."""
    probes.stack.check_alive()
    await asyncio.sleep(SETTLE)
    t0 = time.monotonic() + LEAD
    t_stop = t0 + args.duration
    tasks = [asyncio.create_task(coro) for coro in path.senders(t0, t_stop)]
    try:
        await _sleep_until(t0)
        probes.meter.start()
        before, pg_before = await probes.read()
        await _sleep_until(t_stop)
        cpu = probes.meter.stop()
        after, pg_after = await probes.read()
        await asyncio.wait_for(asyncio.gather(*tasks), CALL_TIMEOUT + 5)
    finally:
        for task in tasks:
            task.cancel()
    await probes.drain(args.flush_interval)

    def delta(metric: str, **labels: str) -> float:
        return counter(after, metric, **labels) - counter(before, metric, **labels)

    return PhaseResult(
        name=name,
        window=(t0, t_stop),
        offered=len(job_ids) * path.ticks,
        stats=path.stats,
        job_ids=set(job_ids),
        cpu=cpu,
        gateway={
            "accepted": delta(ACCEPTED, namespace="/worker", event="progress", outcome="accepted"),
            "flushes": delta(FLUSHES),
            "updates": delta(UPDATES),
            "feed": delta(FEED),
        },
        pg={key: pg_after[key] - pg_before[key] for key in pg_before},
        via_gateway=isinstance(path, BatchedPath),
    )


async def benchmark(stack: Stack, args: argparse.Namespace) -> list[tuple[PhaseResult, list[Any]]]:
    assert stack.jobstore is not None and stack.gateway is not None
    ticks = max(1, round(args.rate * args.duration))
    context = multiprocessing.get_context("spawn")
    parent_conn, child_conn = context.Pipe()
    viewer = context.Process(target=browser.run, args=(stack.gateway.base_url, child_conn), daemon=True)
    viewer.start()
    child_conn.close()
    batched: BatchedPath | None = None
    try:
        kind, detail = await _recv(parent_conn, BROWSER_TIMEOUT)
        if kind != "ready":
            raise RuntimeError(f"the browser could not subscribe: {detail}")
        assert viewer.pid is not None
        meter = CpuMeter({**stack.pids(), "bench": (os.getpid(), False), "browser": (viewer.pid, False)})
        pg = await asyncpg.connect(stack.pg_dsn, timeout=10)
        try:
            async with (
                grpc.aio.insecure_channel(stack.jobstore.address) as channel,
                aiohttp.ClientSession() as session,
            ):
                probes = Probes(stack, meter, session, pg)
                stub = pb_grpc.JobStoreServiceStub(channel)
                batched = BatchedPath(stack.gateway.base_url, stub, args.rate, ticks)
                ids = await batched.setup(args.jobs, args.workers)
                fast = await run_phase("batched", batched, ids, probes, args)
                await batched.close()
                naive = NaivePath(stub, args.rate, ticks)
                ids = await naive.setup(args.jobs, args.naive_senders)
                slow = await run_phase("naive", naive, ids, probes, args)
        finally:
            await pg.close()
        parent_conn.send("stop")
        kind, records = await _recv(parent_conn, BROWSER_TIMEOUT)
        if kind != "records":
            raise RuntimeError(f"the browser failed: {records}")
        return [(fast, records), (slow, records)]
    finally:
        if batched is not None:
            await batched.close()
        parent_conn.close()
        viewer.join(5)
        if viewer.is_alive():
            viewer.kill()
            viewer.join(5)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="haul-bench-") as tmp:
        stack = Stack(Path(tmp), args.flush_interval)
        try:
            print("starting PostgreSQL, jobstore and the gateway...", file=sys.stderr, flush=True)
            stack.start()
            print(f"running: batched, then naive ({args.duration:g} s each)...", file=sys.stderr, flush=True)
            phases = asyncio.run(benchmark(stack, args))
        except BaseException:
            for service in (stack.jobstore, stack.gateway):
                if service is not None:
                    print(f"--- {service.module} log tail ---\n{service.log()[-3000:]}", file=sys.stderr)
            raise
        finally:
            stack.close()
    offered = args.jobs * args.rate
    header = [
        f"haul progress path: {args.jobs} jobs x {args.rate:g} updates/s = {offered:,.0f} events/s offered, "
        f"{args.duration:g} s per path",
        f"batched: {args.workers} Socket.IO workers -> gateway (flush every {args.flush_interval:g} s); "
        f"naive: {args.naive_senders} synchronous senders -> jobstore ReportProgress, 1 update per call",
        f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, PostgreSQL {stack.pg_version} (fsync=off), loopback only; "
        f"load average at start {started_load[0]:.1f}",
    ]
    notes = [
        f"Rates and CPU % are over each measured window; CPU 100 % = one core busy (of {os.cpu_count()}).",
        "Write transactions and WAL are PostgreSQL's own figures. Latency: worker emit -> browser",
        "receive, for the updates that reached the browser (batched: only the newest per job per flush;",
        "naive: the change feed re-reads rows, so updates committed close together arrive once).",
        "Send lag: how far workers fell behind the schedule (a naive sender awaits each call).",
        "The load generator and any other processes share the cores with the services measured.",
    ]
    columns = [(result.name, summarize(result, records)) for result, records in phases]
    print(render(header, columns, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
