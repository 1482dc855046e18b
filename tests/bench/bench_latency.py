"""Where a job's time goes, and how haul compares with its engines run alone (issue 14).

Run: `make bench-latency`, or `.venv/bin/python -m tests.bench.bench_latency [--only PART ...]
[--runs 20] [--burst 500] [--keep]`, with PART one of timeline, tiny, throughput, big, submit,
lifecycle (`--keep` keeps the services' logs, whose marks `latency_timeline.read_marks` reads).

The stack is what `make run` starts by default (latency_stack): jobstore on SQLite, a private
Redis, the gateway and a pool of 3 workers, with HAUL_TIMELINE=1 so each process logs its step
marks (haul.runtime.timeline). The origin (latency_origin) is a process of its own on 127.0.0.2,
the only network the egress guard lets the tools reach, and writes down when each request came
and when its first body byte left. A Socket.IO client on the browser namespace, subscribed to the
list feed as the page is, sees `downloading` and `completed`. Parts:

- timeline: a file job (aria2, a 4 MiB .bin at 8 MiB/s) and a yt-dlp job (a 2 MiB mp4, type
  video, at 4 MiB/s), `--runs` each: every step in ms after the client sent the submit, p50 and
  p95; each haul run alternates with the same engine alone (`aria2c`, the `yt-dlp` CLI) on a URL
  of the same file: spawn -> origin's first byte, spawn -> exit;
- tiny: a 4 KiB file job, submit -> `completed`, beside aria2c alone;
- throughput: 500 tiny file jobs submitted at once by 16 clients, jobs/s until the last is
  completed (or for 60 s, then the rest is cancelled), and each step after a job's dequeue;
- big: a 64 MiB mp4 through yt-dlp, submit -> completed and the CPU seconds of every haul
  process (psutil over the trees, reaped children included) beside the yt-dlp CLI alone;
- submit and lifecycle: tests.bench.bench_submit (1,000 creates from 32 clients on SQLite, as
  `make run`) and tests.bench.bench_lifecycle (one run), each on a stack of its own.

Times are wall clock (`time.time()`), one clock for every process of the machine. Every wait is
bounded; a job that does not finish in time counts as missing and is reported so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import math
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.bench.latency_engines import run_engine
from tests.bench.latency_origin import Origin, first_byte_by_key, last_request_by_key
from tests.bench.latency_stack import Browser, LatencyStack, submit, tree_cpu_seconds
from tests.bench.latency_timeline import offsets_ms, percentile, summarize, timeline_table

PARTS = ("timeline", "tiny", "throughput", "big", "submit", "lifecycle")
MIB = 1024 * 1024
ORIGIN_HOST = "127.0.0.2"
FILE_RATE = 8 * MIB
VIDEO_RATE = 4 * MIB
JOB_LIMIT = 60.0  # a job not done this long after its submit is missing
THROUGHPUT_JOBS = 500
THROUGHPUT_LIMIT = 60.0
THROUGHPUT_CLIENTS = 16
BIG_RUNS = 3
STEP_ORDER = ("submit", "commit", "enqueue", "dequeue", "fork", "isolation", "claim", "guard",
              "first byte", "downloading", "finish", "report", "completed")  # fmt: skip
LABELS = {
    "submit": "submit (client sends)",
    "commit": "commit (jobstore row)",
    "enqueue": "enqueue (on RQ)",
    "dequeue": "dequeue (worker, before fork)",
    "fork": "fork (work horse started)",
    "isolation": "isolation ready",
    "claim": "claim reply in the horse",
    "guard": "egress guard ready",
    "first byte": "first byte from the origin",
    "last request": "origin: last GET arrived",
    "sent resolving": "worker sent `resolving`",
    "sent downloading": "worker sent `downloading`",
    "sent postprocessing": "worker sent `postprocessing`",
    "sent finalizing": "worker sent `finalizing`",
    "downloading": "`downloading` seen by browser",
    "finish": "finish (outcome sent)",
    "report": "report (jobstore recorded)",
    "completed": "`completed` seen by browser",
}
Row = tuple[str, str, str, str]  # measure, haul, engine alone, goal


def make_media(folder: Path) -> None:
    """A 4 KiB and a 4 MiB .bin, a 4 s lossless mp4 (2 MiB), and that mp4 looped to >= 64 MiB."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.bin").write_bytes(bytes(range(256)) * 16)
    (folder / "file.bin").write_bytes((bytes(range(256)) * 4096) * 4)
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    clip = folder / "clip.mp4"
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=4",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
         "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-g", "25",
         "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(clip)],
        check=True, timeout=120,
    )  # fmt: skip
    loops = math.ceil(64 * MIB / clip.stat().st_size) - 1
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", str(loops), "-i", str(clip),
         "-c", "copy", "-movflags", "+faststart", str(folder / "big.mp4")],
        check=True, timeout=120,
    )  # fmt: skip


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f} ms"


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def ratio(haul: list[float], alone: list[float]) -> str:
    return f"{median(haul) / median(alone):.2f}x" if haul and alone else "-"


async def cancel_all(session: aiohttp.ClientSession, base_url: str, job_ids: list[str]) -> None:
    """Cancel what a part left unfinished, so it does not run under the next part."""
    for job_id in job_ids:
        async with session.post(f"{base_url}/downloads/{job_id}/cancel") as response:
            await response.read()


def p50_p95(values: list[float]) -> str:
    return f"{ms(percentile(values, 0.5))} / {ms(percentile(values, 0.95))}"


class Bench:
    def __init__(self, stack: LatencyStack, origin: Origin, runs: int, burst: int = THROUGHPUT_JOBS) -> None:
        self.stack, self.origin, self.runs, self.burst = stack, origin, runs, burst
        self.rows: list[Row] = []
        self._key = 0
        self._origin_read = 0
        self._first_bytes: dict[str, float] = {}
        self._last_requests: dict[str, float] = {}

    def first_bytes(self) -> dict[str, float]:
        """key -> when the origin wrote its first body byte, read on from the last call."""
        fresh = self.origin.requests(self._origin_read)
        self._origin_read += len(fresh)
        for key, at in first_byte_by_key(fresh).items():
            self._first_bytes.setdefault(key, at)
        self._last_requests.update(last_request_by_key(fresh))
        return self._first_bytes

    def key(self, prefix: str) -> str:
        self._key += 1
        return f"{prefix}{self._key}-{time.time_ns()}"

    async def haul_job(
        self, session: aiohttp.ClientSession, browser: Browser, key: str, url: str, kind: str
    ) -> dict[str, float] | None:
        """One job start to end; its steps in ms after the submit, or None when it did not complete."""
        job_id, sent_at = await submit(session, self.stack.base_url, url, kind)
        await browser.wait_done([job_id], JOB_LIMIT)
        seen = browser.jobs.get(job_id)
        if seen is None or seen.completed is None:
            print(f"  job {job_id} did not complete: {seen.failed if seen else 'nothing seen'}")
            return None
        await asyncio.sleep(0.05)  # the last marks' lines reach the log files
        steps = dict(self.stack.marks().get(job_id, {}))
        if seen.downloading is not None:
            steps["downloading"] = seen.downloading
        steps["completed"] = seen.completed
        if (first := (await asyncio.to_thread(self.first_bytes)).get(key)) is not None:
            steps["first byte"] = first
        if (last := self._last_requests.get(key)) is not None and last > steps.get("first byte", last):
            steps["last request"] = last
        return offsets_ms(sent_at, steps)

    async def timeline(self, session: aiohttp.ClientSession, browser: Browser) -> None:
        for kind, name, rate, engine in (
            ("file", "file.bin", FILE_RATE, "aria2c"),
            ("video", "clip.mp4", VIDEO_RATE, "yt-dlp"),
        ):
            runs: list[dict[str, float]] = []
            alone_first: list[float] = []
            alone_done: list[float] = []
            for _ in range(self.runs):
                key = self.key(kind)
                steps = await self.haul_job(session, browser, key, self.origin.url(key, name, rate), kind)
                if steps is not None:
                    runs.append({"submit": 0.0, **steps})
                alone_key = self.key(engine)
                alone = await asyncio.to_thread(run_engine, engine, self.origin.url(alone_key, name, rate))
                first = await asyncio.to_thread(self.first_bytes)
                if alone.returncode == 0:
                    alone_done.append((alone.done - alone.started) * 1000.0)
                    if alone_key in first:
                        alone_first.append((first[alone_key] - alone.started) * 1000.0)
            title = f"\n{kind} job ({engine}), {len(runs)} of {self.runs} completed, ms after submit"
            print(timeline_table(title, summarize(runs, STEP_ORDER), self.runs, LABELS))
            print(f"  {engine} alone: spawn -> first byte p50/p95 {p50_p95(alone_first)}", end="")
            print(f", spawn -> exit {p50_p95(alone_done)}")
            downloading = [run["downloading"] for run in runs if "downloading" in run]
            measure = f"submit -> `downloading` p50/p95, {kind} ({engine})"
            alone_text = f"first byte {ms(percentile(alone_first, 0.5))}"
            seen = f"{p50_p95(downloading)} ({len(downloading)}/{self.runs} seen)"
            self.rows.append((measure, seen, alone_text, "p50 <= 350 ms"))

    async def tiny(self, session: aiohttp.ClientSession, browser: Browser) -> None:
        done: list[float] = []
        alone: list[float] = []
        for _ in range(self.runs):
            key = self.key("tiny")
            steps = await self.haul_job(session, browser, key, self.origin.url(key, "tiny.bin"), "file")
            if steps is not None:
                done.append(steps["completed"])
            url = self.origin.url(self.key("aria2c"), "tiny.bin")
            engine = await asyncio.to_thread(run_engine, "aria2c", url)
            if engine.returncode == 0:
                alone.append((engine.done - engine.started) * 1000.0)
        print(
            f"\ntiny file job (4 KiB): submit -> completed p50/p95 {p50_p95(done)} ({len(done)}/{self.runs})"
        )
        print(f"  aria2c alone: spawn -> exit {p50_p95(alone)}")
        measure = "tiny file job, submit -> completed p50/p95"
        self.rows.append((measure, p50_p95(done), f"aria2c {ms(percentile(alone, 0.5))}", "p50 <= 400 ms"))

    async def throughput(self, session: aiohttp.ClientSession, browser: Browser) -> None:
        """`burst` tiny jobs submitted at once by THROUGHPUT_CLIENTS clients; jobs/s from the first
        submit to the last `completed`, or to the time limit (what is left is then cancelled)."""
        started = time.time()
        keys = iter(range(self.burst))
        job_ids: list[str] = []

        async def client() -> None:
            for n in keys:
                url = self.origin.url(f"burst{n}-{started}", "tiny.bin")
                job_ids.append((await submit(session, self.stack.base_url, url, "file"))[0])

        await asyncio.gather(*(client() for _ in range(THROUGHPUT_CLIENTS)))
        submitted = time.time()
        all_done = await browser.wait_done(job_ids, THROUGHPUT_LIMIT)
        finished = [seen.completed for job in job_ids if (seen := browser.jobs.get(job)) and seen.completed]
        end = max(finished) if all_done and finished else time.time()
        rate = len(finished) / max(end - started, 1e-9)
        if not all_done:
            await cancel_all(session, self.stack.base_url, job_ids)
        await asyncio.sleep(0.05)  # the last marks' lines reach the log files
        marks = self.stack.marks()
        # Where a worker's time goes per job under the burst: each step after its dequeue.
        per_job = [
            {step: at for step, at in offsets_ms(m["dequeue"], m).items() if at >= 0}
            for job in job_ids
            if "dequeue" in (m := marks.get(job, {}))
        ]
        title = f"\nthroughput: each step after the job's dequeue, {len(per_job)} jobs"
        print(timeline_table(title, summarize(per_job, STEP_ORDER), self.burst, LABELS))
        print(
            f"\nthroughput: {len(finished)}/{self.burst} tiny jobs completed in {end - started:.1f} s", end=""
        )
        print(f" (submits took {submitted - started:.1f} s): {rate:.1f} jobs/s, {self.stack.workers} workers")
        measure = f"small-job throughput, {self.burst} jobs, {self.stack.workers} workers"
        self.rows.append((measure, f"{rate:.1f} jobs/s", "", ">= 20 jobs/s"))

    async def big(self, session: aiohttp.ClientSession, browser: Browser) -> None:
        haul_wall: list[float] = []
        haul_cpu: list[float] = []
        alone_wall: list[float] = []
        alone_cpu: list[float] = []
        for _ in range(BIG_RUNS):
            cpu_before = tree_cpu_seconds(self.stack.pids())
            key = self.key("big")
            steps = await self.haul_job(session, browser, key, self.origin.url(key, "big.mp4"), "video")
            await asyncio.sleep(0.2)  # the horse is reaped and its CPU counted
            if steps is not None:
                haul_wall.append(steps["completed"] / 1000.0)
                haul_cpu.append(tree_cpu_seconds(self.stack.pids()) - cpu_before)
            url = self.origin.url(self.key("ytbig"), "big.mp4")
            alone = await asyncio.to_thread(run_engine, "yt-dlp", url)
            if alone.returncode == 0:
                alone_wall.append(alone.done - alone.started)
                alone_cpu.append(alone.cpu_seconds)
        print(f"\n64 MiB mp4 through yt-dlp, median of {len(haul_wall)}/{BIG_RUNS}:")
        print(
            f"  haul submit -> completed {median(haul_wall):.2f} s, CPU of all haul processes {median(haul_cpu):.2f} s"
        )
        print(f"  yt-dlp alone {median(alone_wall):.2f} s, CPU {median(alone_cpu):.2f} s")
        for what, haul, alone_values in (("wall", haul_wall, alone_wall), ("CPU", haul_cpu, alone_cpu)):
            goal = f"{ratio(haul, alone_values)} (<= 1.1x)"
            measure = f"64 MiB via yt-dlp, {what} (haul vs alone)"
            self.rows.append((measure, f"{median(haul):.2f} s", f"{median(alone_values):.2f} s", goal))

    async def run(self, parts: list[str]) -> None:
        browser = Browser()
        await browser.connect(self.stack.base_url)
        try:
            async with aiohttp.ClientSession() as session:
                for part in ("timeline", "tiny", "big", "throughput"):
                    if part in parts:
                        await guarded(part, getattr(self, part)(session, browser))
        finally:
            await browser.close()


async def guarded(part: str, work: Any) -> None:
    try:
        await work
    except Exception:
        print(f"\n{part} failed:\n{traceback.format_exc()}")


def submit_throughput() -> list[Row]:
    """bench_submit's figures on SQLite (as `make run`), 32 clients; the submit engineer owns it."""
    try:
        module = importlib.import_module("tests.bench.bench_submit")
    except ImportError:
        return [("submit throughput", "tests.bench.bench_submit missing", "", ">= 500/s, p99 <= 50 ms")]
    figures = module.run("sqlite", submits=1000, clients=32)
    print(f"\nsubmit throughput: {figures.line()}")
    return [
        (
            "submit throughput, 32 clients (SQLite)",
            f"{figures.creates_per_second:.0f}/s, p99 {figures.p99_ms:.0f} ms",
            "",
            ">= 500/s, p99 <= 50 ms",
        )
    ]


def lifecycle() -> None:
    try:
        module = importlib.import_module("tests.bench.bench_lifecycle")
    except ImportError:
        print("\nlifecycle: tests.bench.bench_lifecycle missing")
        return
    print("\nlifecycle (tests.bench.bench_lifecycle, 1 run):")
    print(module.report(module.run(runs=1, verbose=False)))


def goal_table(rows: list[Row]) -> str:
    lines = [f"{'measure':48} {'haul':>32} {'engine alone':>20}   goal"]
    lines += [f"{m:48} {h:>32} {e:>20}   {g}" for m, h, e, g in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="run these parts only")
    parser.add_argument("--runs", type=int, default=20, help="runs per timeline and of the tiny job")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--burst", type=int, default=THROUGHPUT_JOBS, help="tiny jobs for the throughput")
    parser.add_argument("--keep", action="store_true", help="keep the services' logs (the path is printed)")
    args = parser.parse_args()
    rows: list[Row] = []
    with contextlib.ExitStack() as cleanup:
        folder = Path(tempfile.mkdtemp(prefix="haul-bench-latency-"))
        if not args.keep:
            cleanup.callback(shutil.rmtree, folder, True)
        if set(args.only) & {"timeline", "tiny", "throughput", "big"}:
            make_media(folder / "media")
            origin = Origin(folder / "media", ORIGIN_HOST)
            stack = LatencyStack(folder / "haul", f"{ORIGIN_HOST}/32", args.workers)
            try:
                origin.start()
                stack.start()
                print(
                    f"stack: jobstore on SQLite (as `make run`), private Redis, gateway, {args.workers} workers"
                )
                if args.keep:
                    print(f"logs: {stack.folder}")
                bench = Bench(stack, origin, args.runs, args.burst)
                asyncio.run(bench.run(args.only))
                rows += bench.rows
            finally:
                stack.close()
                origin.close()
        steps: list[tuple[str, Callable[[], Any]]] = [("submit", submit_throughput), ("lifecycle", lifecycle)]
        for part, step in steps:
            if part in args.only:
                try:
                    rows += step() or []
                except Exception:
                    print(f"\n{part} failed:\n{traceback.format_exc()}")
    print("\nissue 14 goals (noisy machine: compare haul with the engine alone from the same run)")
    print(goal_table(rows))


if __name__ == "__main__":
    main()
