"""A /worker flood: connections holding the valid worker token send progress for made-up job ids.

    python -m tests.bench.bench_worker_flood [--rate 10000] [--duration 10] [--connections 4]

Starts PostgreSQL, jobstore and the gateway (tests.bench.stack), measures the gateway's RSS,
then floods it `--rounds` times for `--duration` seconds at `--rate` events/s in total, every
event for a job id never used before, from `--connections` connections in processes of their
own. Meanwhile it asks GET /health every 20 ms and prints its p50/p99. After each flood's
senders leave it prints the RSS again, and at the end what the gateway counted: accepted,
throttled (over the per-connection rate) and stale. The goal is /health p99 < 50 ms and RSS back near where it started; nothing is
asserted: figures depend on the machine and whatever else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import psutil
import socketio

from tests.bench.stack import WORKER_TOKEN, Stack, counter, scrape_counters

EVENTS = "haul_gateway_socket_events_total"
HEALTH_EVERY = 0.02
SETTLE_SECONDS = 3.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=10_000, help="events per second, all connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of flood")
    parser.add_argument("--connections", type=int, default=4, help="flooding /worker connections")
    parser.add_argument("--rounds", type=int, default=2, help="floods, one after the other")
    parser.add_argument("--flush-interval", type=float, default=0.3)
    return parser.parse_args(argv)


async def _flood(base_url: str, rate: float, duration: float) -> int:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        base_url, namespaces=["/worker"], transports=["websocket"], auth={"token": WORKER_TOKEN}
    )
    sent, started = 0, time.monotonic()
    while (elapsed := time.monotonic() - started) < duration:
        due = int(elapsed * rate) + 1
        while sent < due:
            event = {
                "jobId": str(uuid.uuid4()),
                "attempt": 1,
                "seq": 1,
                "stage": "downloading",
                "progress": 1.0,
            }
            await client.emit("progress", event, namespace="/worker")
            sent += 1
        await asyncio.sleep(0.005)
    await client.disconnect()
    return sent


def flooder(base_url: str, rate: float, duration: float, results: multiprocessing.Queue[int]) -> None:
    results.put(asyncio.run(_flood(base_url, rate, duration)))


async def health_latencies(base_url: str, until: float, path: str = "/health") -> list[float]:
    latencies = []
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < until:
            started = time.perf_counter()
            async with session.get(f"{base_url}{path}", timeout=aiohttp.ClientTimeout(total=10)) as reply:
                await reply.read()
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(HEALTH_EVERY)
    return latencies


async def both_latencies(base_url: str, seconds: float) -> tuple[list[float], list[float]]:
    """/health (which asks jobstore and Redis) and /health/live (the gateway's loop alone)."""
    until = time.monotonic() + seconds
    full, live = await asyncio.gather(
        health_latencies(base_url, until), health_latencies(base_url, until, "/health/live")
    )
    return full, live


def summary(name: str, latencies: list[float]) -> str:
    return f"{name} p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def gateway_counts(base_url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session:
        values = await scrape_counters(session, base_url)
    labels = {"namespace": "/worker", "event": "progress"}
    return {
        outcome: counter(values, EVENTS, outcome=outcome, **labels)
        for outcome in ("accepted", "not_claimant", "throttled", "stale")
    }


def flood_round(base_url: str, args: argparse.Namespace) -> tuple[int, tuple[list[float], list[float]]]:
    """One flood: the events sent, and the /health and /health/live latencies (ms) meanwhile."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[int] = context.Queue()
    each = args.rate / args.connections
    flooders = [
        context.Process(target=flooder, args=(base_url, each, args.duration, results))
        for _ in range(args.connections)
    ]
    for process in flooders:
        process.start()
    during = asyncio.run(both_latencies(base_url, args.duration))
    sent = sum(results.get(timeout=60) for _ in flooders)
    for process in flooders:
        process.join(30)
    time.sleep(SETTLE_SECONDS)  # the flooders' disconnects reach the gateway; a flush or two
    return sent, during


def run(stack: Stack, args: argparse.Namespace) -> list[str]:
    assert stack.gateway is not None and stack.gateway.proc is not None
    base_url, gateway = stack.gateway.base_url, psutil.Process(stack.gateway.proc.pid)
    quiet, quiet_live = asyncio.run(both_latencies(base_url, 2.0))
    mib = 2**20
    rss = [gateway.memory_info().rss]
    lines = [f"before any flood: {summary('/health', quiet)}; {summary('/health/live', quiet_live)}"]
    for number in range(1, args.rounds + 1):
        sent, (during, during_live) = flood_round(base_url, args)
        rss.append(gateway.memory_info().rss)
        lines += [
            f"flood {number}: {args.connections} connections, {sent:,} events in {args.duration:g} s "
            f"({sent / args.duration:,.0f}/s offered), each for a job id never seen before",
            f"  during it: {summary('/health', during)} over {len(during)} requests (goal: p99 < 50 ms); "
            f"{summary('/health/live', during_live)}",
            f"  gateway RSS {SETTLE_SECONDS:g} s after the flooders left: {rss[-1] / mib:.1f} MiB "
            f"({(rss[-1] - rss[-2]) / mib:+.1f} MiB over this flood)",
        ]
    counts = asyncio.run(gateway_counts(base_url))
    lines += [
        f"gateway RSS before any flood {rss[0] / mib:.1f} MiB; a bounded gateway stops growing after the "
        "first flood (Python keeps freed memory for reuse rather than returning it)",
        f"gateway counted progress events: well-formed {counts['accepted']:,.0f}, of which refused "
        f"{counts['not_claimant']:,.0f} (from a connection that never claimed the job); "
        f"throttled {counts['throttled']:,.0f} (over the per-connection rate), stale {counts['stale']:,.0f}",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="haul-flood-") as tmp:
        stack = Stack(Path(tmp), args.flush_interval)
        try:
            print("starting PostgreSQL, jobstore and the gateway...", file=sys.stderr, flush=True)
            stack.start()
            lines = run(stack, args)
            stack.check_alive()
        except BaseException:
            if stack.gateway is not None:
                print(f"--- gateway log tail ---\n{stack.gateway.log()[-3000:]}", file=sys.stderr)
            raise
        finally:
            stack.close()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
