"""Start, stop, idle memory and resume after a power cut of `make run` (deploy/run_local.py).

Run: `.venv/bin/python -m tests.bench.bench_lifecycle [--runs 3] [--workers 3]`

Everything runs in a temporary folder: the launcher with an SQLite database there, its own ports,
and the local media origin (tests/support/media_server.py) on loopback, which
HAUL_EGRESS_ALLOWED_NETWORKS lets the workers reach. The folder is set up once (a first start
runs the migrations and is not counted). Each run then measures:

- start: spawn -> the URL printed, and spawn -> `GET /health` answering 200 (ready);
- idle PSS of the whole process tree (the launcher and every descendant, Redis included) a few
  seconds after ready, and how many processes that is;
- stop while downloading: a file job (aria2, 4 connections) on a throttled origin, Ctrl-C (SIGINT
  to the launcher's group, as a terminal sends it) -> the launcher's exit, the last byte the
  origin sent after the Ctrl-C (seconds), and the bytes it sent after it;
- power cut: that job resumes on a new start; once it downloads again the whole group gets
  SIGKILL; a new start's ready -> the origin's first request for the job (downloading again),
  and ready -> the job seen `downloading` over REST with a new attempt.

`run()` returns the figures (lists of seconds or bytes per run); `make bench-latency` calls it.
Timings are wall-clock on a shared machine: read the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import requests

from tests.support.media_server import MediaServer, serve
from tests.support.process_trees import alive
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "deploy" / "run_local.py"
MIB = 1024 * 1024
POLL = 0.01
HEALTH_POLL = 0.05  # /health runs a gRPC and a Redis check: polled no faster while starting
SLOW_PATH = "/slow/medium.bin"


class Run:
    """deploy/run_local.py in a session of its own, in `folder`, as a terminal would run it."""

    def __init__(self, folder: Path, workers: int) -> None:
        self.mark = uuid.uuid4().hex
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HAUL_")},
            "HAUL_RUN_MARK": self.mark,
            "HAUL_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'haul.db'}",
            "HAUL_DATA_DIR": str(folder / "data"),
            "HAUL_TMP_DIR": str(folder / "tmp"),
            "HAUL_PORT": str(self.port),
            "HAUL_JOBSTORE_LISTEN": f"127.0.0.1:{free_port()}",
            "HAUL_WORKER_PROCESSES": str(workers),
            "HAUL_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8",
            "HAUL_LOG_LEVEL": os.environ.get("HAUL_LOG_LEVEL", "warning"),
        }
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "run.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.listed: list[psutil.Process] = []
        self.http = requests.Session()

    def output(self, since: int = 0) -> str:
        return self.log_path.read_bytes()[since:].decode(errors="replace") if self.log_path.exists() else ""

    def start(self) -> dict[str, float]:
        """Spawn the launcher; seconds from the spawn to the URL printed and to /health ready."""
        since = len(self.output())
        with open(self.log_path, "ab") as log:
            spawned = time.monotonic()
            self.proc = subprocess.Popen(
                [sys.executable, str(LAUNCHER)], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        url_at = ready_at = None
        next_health = spawned
        deadline = spawned + 120
        while url_at is None or ready_at is None:
            now = time.monotonic()
            if self.proc.poll() is not None or now > deadline:
                raise RuntimeError(f"the launcher did not get ready:\n{self.output(since)[-3000:]}")
            if url_at is None and f"haul is running: {self.base_url}" in self.output(since):
                url_at = now
            if ready_at is None and now >= next_health:
                next_health = now + HEALTH_POLL
                with contextlib.suppress(requests.RequestException):
                    if self.http.get(f"{self.base_url}/health", timeout=2).status_code == 200:
                        ready_at = now
            time.sleep(POLL)
        return {"url": url_at - spawned, "ready": ready_at - spawned, "cpu": self.cpu()}

    def cpu(self) -> float:
        """CPU seconds (user + system) of the processes of the tree still running: less noisy
        than wall time on a busy machine (what exited, such as a migration step, is not in it)."""
        total = 0.0
        for process in self.tree():
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def tree(self) -> list[psutil.Process]:
        assert self.proc is not None
        top = psutil.Process(self.proc.pid)
        return [top, *top.children(recursive=True)]

    @staticmethod
    def role(process: psutil.Process) -> str:
        """`jobstore`, `gateway`, `worker`, `launcher`, or the process's name."""
        try:
            cmdline = process.cmdline()
            if "run_local.py" in " ".join(cmdline):
                return "launcher"
            return next((cmdline[i + 1] for i, a in enumerate(cmdline[:-1]) if a == "-m"), process.name())
        except psutil.Error:
            return "?"

    def pss(self) -> tuple[int, dict[str, int]]:
        """PSS of the whole tree, in bytes, and per process (name and role)."""
        total, each = 0, {}
        for process in self.tree():
            with contextlib.suppress(psutil.Error):
                pss = int(process.memory_full_info().pss)
                cmdline = process.cmdline()
                role = next((cmdline[i + 1] for i, a in enumerate(cmdline[:-1]) if a == "-m"), process.name())
                if "run_local.py" in " ".join(cmdline):
                    role = "launcher"
                each[f"{process.pid} {role}"] = pss
                total += pss
        return total, each

    def submit(self, url: str, kind: str = "file") -> str:
        response = self.http.post(f"{self.base_url}/downloads", json={"url": url, "type": kind}, timeout=10)
        response.raise_for_status()
        return str(response.json()["jobId"])

    def job(self, job_id: str) -> dict[str, Any]:
        with contextlib.suppress(requests.RequestException, ValueError):
            response = self.http.get(f"{self.base_url}/downloads/{job_id}", timeout=5)
            if response.status_code == 200:
                return dict(response.json())
        return {}

    def wait_bytes(self, job_id: str, at_least: int, seconds: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while (job := self.job(job_id)).get("downloadedBytes", 0) < at_least:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no download progress: {job}")
            time.sleep(0.05)
        return job

    def signal_group(self, signum: signal.Signals) -> float:
        """Signal the launcher's group; seconds until the launcher and all it started are gone."""
        assert self.proc is not None
        self.listed = self.tree()
        names = {process.pid: self.role(process) for process in self.listed}
        sent = time.monotonic()
        os.killpg(self.proc.pid, signum)
        deadline = sent + 60
        self.exits: dict[str, float] = {}
        while left := alive(self.listed):
            running = {int(entry.split()[0]) for entry in left}
            for pid, role in names.items():
                if pid not in running and f"{pid} {role}" not in self.exits:
                    self.exits[f"{pid} {role}"] = time.monotonic() - sent
            if time.monotonic() > deadline:
                raise RuntimeError(f"still running a minute after {signum.name}: {left}")
            time.sleep(POLL)
        took = time.monotonic() - sent
        for pid, role in names.items():
            self.exits.setdefault(f"{pid} {role}", took)
        self.proc.wait(5)
        return took

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                self.listed += self.tree()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if process.environ().get("HAUL_RUN_MARK") == self.mark:
                    process.kill()
        for process in self.listed:
            with contextlib.suppress(psutil.Error):
                if process.is_running():
                    process.kill()


class OriginWatch:
    """The time of the origin's last byte sent for a path, sampled every POLL seconds."""

    def __init__(self, media: MediaServer, path: str) -> None:
        self.media, self.path = media, path
        self.last_change = time.monotonic()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        seen = self.media.served[self.path]
        while not self.stopped.wait(POLL):
            now = self.media.served[self.path]
            if now != seen:
                seen, self.last_change = now, time.monotonic()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()


def one_run(folder: Path, media: MediaServer, workers: int, idle_seconds: float) -> dict[str, Any]:
    run = Run(folder, workers)
    figures: dict[str, Any] = {}
    try:
        figures.update({f"start_{k}": v for k, v in run.start().items()})
        time.sleep(idle_seconds)
        total, each = run.pss()
        figures.update(idle_pss=total, idle_processes=len(each), idle_pss_each=each)

        # Stop while downloading: 4 aria2 connections at 1 MiB/s each.
        media.slow_rate = MIB
        job_id = run.submit(media.url(SLOW_PATH))
        saved = run.wait_bytes(job_id, 2 * MIB)["downloadedBytes"]
        watch = OriginWatch(media, SLOW_PATH)
        served_at_stop = media.served[SLOW_PATH]
        stop_sent = time.monotonic()
        figures["stop_exit"] = run.signal_group(signal.SIGINT)
        time.sleep(0.5)  # whatever the origin still sends arrives within this
        watch.close()
        figures["stop_origin"] = max(0.0, watch.last_change - stop_sent)
        figures["stop_origin_bytes"] = media.served[SLOW_PATH] - served_at_stop
        figures["stop_exit_code"] = run.proc.returncode if run.proc else None
        figures["stop_each"] = dict(run.exits)

        # Power cut: the job resumes on the next start; SIGKILL everything while it downloads.
        run.start()
        attempt = run.wait_bytes(job_id, saved + 2 * MIB).get("attempt", 0)
        run.signal_group(signal.SIGKILL)
        since = media.mark()
        started = run.start()
        ready_at = time.monotonic()  # start() returns once both the URL and /health are ready
        origin_at = seen_at = None
        deadline = ready_at + 60
        while origin_at is None or seen_at is None:
            now = time.monotonic()
            if now > deadline:
                raise RuntimeError(f"the job did not resume after the power cut: {run.job(job_id)}")
            if origin_at is None and media.requests_for(SLOW_PATH, since):
                origin_at = now
            if seen_at is None:
                job = run.job(job_id)
                if job.get("stage") == "downloading" and job.get("attempt", 0) > attempt:
                    seen_at = now
            time.sleep(POLL)
        figures["resume_ready"] = max(started["url"], started["ready"])
        figures["resume_origin"] = origin_at - ready_at
        figures["resume_downloading"] = seen_at - ready_at
        with contextlib.suppress(requests.RequestException):
            run.http.delete(f"{run.base_url}/downloads/{job_id}", timeout=10)
        run.signal_group(signal.SIGINT)
    finally:
        run.cleanup()
    return figures


def set_up(folder: Path, workers: int) -> None:
    """The first start in a folder (migrations on a new database): not counted."""
    run = Run(folder, workers)
    try:
        run.start()
        run.signal_group(signal.SIGINT)
    finally:
        run.cleanup()


@contextlib.contextmanager
def origin(folder: Path) -> Iterator[MediaServer]:
    yield from serve(folder)


def run(runs: int = 3, workers: int = 3, idle_seconds: float = 3.0, verbose: bool = True) -> dict[str, Any]:
    """Measure `runs` times; returns each figure as a list (one value a run) under its name."""
    results: dict[str, list[Any]] = {}
    with tempfile.TemporaryDirectory(prefix="haul-lifecycle-") as temp:
        folder = Path(temp)
        with origin(folder / "media") as media:
            set_up(folder / "haul", workers)
            for n in range(runs):
                figures = one_run(folder / "haul", media, workers, idle_seconds)
                for name, value in figures.items():
                    results.setdefault(name, []).append(value)
                if verbose:
                    print(
                        f"run {n + 1}: "
                        + ", ".join(
                            f"{k}={fmt(k, v)}"
                            for k, v in figures.items()
                            if k not in ("idle_pss_each", "stop_each")
                        )
                    )
    return results


def fmt(name: str, value: Any) -> str:
    if name in ("idle_pss", "stop_origin_bytes"):
        return f"{value / MIB:.1f} MiB"
    if isinstance(value, float):
        return f"{value:.2f} s"
    return str(value)


GOALS = {
    "start_url": ("spawn -> URL printed", 2.0),
    "start_ready": ("spawn -> /health ready", 2.0),
    "start_cpu": ("CPU of the running tree at ready", None),
    "stop_exit": ("Ctrl-C while downloading -> all gone", 1.0),
    "stop_origin": ("Ctrl-C -> origin's last byte", 0.3),
    "stop_origin_bytes": ("origin bytes after Ctrl-C", None),
    "idle_pss": ("idle PSS, whole tree", 150 * MIB),
    "idle_processes": ("idle processes", None),
    "resume_ready": ("power cut: spawn -> ready", 2.0),
    "resume_origin": ("power cut: ready -> origin request", 1.0),
    "resume_downloading": ("power cut: ready -> `downloading` seen", 1.0),
}


def report(results: dict[str, Any]) -> str:
    lines = [f"{'measure':42} {'median':>10} {'min':>10} {'max':>10} {'goal':>10}"]
    for name, (label, goal) in GOALS.items():
        values = results.get(name)
        if not values:
            continue
        goal_text = "" if goal is None else fmt(name, goal)
        cells = [fmt(name, statistics.median(values)), fmt(name, min(values)), fmt(name, max(values))]
        lines.append(f"{label:42} {cells[0]:>10} {cells[1]:>10} {cells[2]:>10} {goal_text:>10}")
    stops = results.get("stop_each")
    if stops:
        lines.append("Ctrl-C while downloading -> each process gone (last run):")
        for key, seconds in sorted(stops[-1].items(), key=lambda item: item[1]):
            lines.append(f"  {key:40} {seconds:6.2f} s")
    each = results.get("idle_pss_each")
    if each:
        lines.append("idle PSS per process (last run):")
        for key, pss in sorted(each[-1].items(), key=lambda item: -item[1]):
            lines.append(f"  {key:40} {pss / MIB:7.1f} MiB")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3, help="download slots (HAUL_WORKER_PROCESSES)")
    parser.add_argument("--idle-seconds", type=float, default=3.0, help="wait after ready before the PSS")
    args = parser.parse_args()
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # the origin's reset connections
    print(report(run(args.runs, args.workers, args.idle_seconds)))


if __name__ == "__main__":
    main()
