"""The engines alone, for `make bench-latency`'s baselines: `yt-dlp` as a fresh CLI process and
`aria2c`, on the same origin and the same kind of URL as the haul job beside them.

Each run is timed from the spawn: to the origin's first body byte for this run's key (the
origin writes it down) and to the process's exit; CPU is the child's, from the kernel's account
of reaped children (yt-dlp's own children, ffmpeg say, included once waited for).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bench.latency_stack import children_cpu_seconds
from worker.tools import find_tools

ENGINE_TIMEOUT = 120.0


@dataclass(frozen=True)
class EngineRun:
    started: float  # wall clock at the spawn
    done: float  # wall clock at the exit
    cpu_seconds: float
    returncode: int


def yt_dlp_command() -> list[str]:
    """The yt-dlp CLI of this environment (the same package the worker imports)."""
    found = shutil.which("yt-dlp", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "yt_dlp"]


def aria2c_command() -> list[str]:
    tool = find_tools().aria2c
    if tool is None:
        raise RuntimeError("aria2c is missing: run `make setup` as root (it installs the Debian package)")
    return [tool]


def run_engine(engine: str, url: str) -> EngineRun:
    """Download `url` with `engine` ("yt-dlp" or "aria2c") into a throwaway folder."""
    with tempfile.TemporaryDirectory(prefix="haul-bench-engine-") as folder:
        if engine == "yt-dlp":
            args = [*yt_dlp_command(), "-q", "--no-warnings", "-P", folder, "-o", "%(id)s.%(ext)s", url]
        else:
            args = [*aria2c_command(), "-q", "-d", folder, "--allow-overwrite=true", url]
        cpu_before = children_cpu_seconds()
        started = time.time()
        completed = subprocess.run(args, capture_output=True, timeout=ENGINE_TIMEOUT, check=False)
        done = time.time()
        cpu = children_cpu_seconds() - cpu_before
    if completed.returncode != 0:
        print(
            f"  {engine} failed ({completed.returncode}): {completed.stderr.decode(errors='replace')[-300:]}"
        )
    return EngineRun(started, done, cpu, completed.returncode)
