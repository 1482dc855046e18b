"""Watching a set of processes end: what is still running, and waiting, bounded, until none is."""

from __future__ import annotations

import contextlib
import time

import psutil


def alive(processes: list[psutil.Process]) -> list[str]:
    """Those still running (a zombie has ended: only its exit status is left to collect)."""
    found = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{process.pid} {process.name()}")
    return found


def wait_gone(processes: list[psutil.Process], seconds: float, since: float | None = None) -> float:
    """Seconds from `since` (default: now) until none of `processes` runs; fails after `seconds`."""
    started = time.monotonic() if since is None else since
    while left := alive(processes):
        assert time.monotonic() - started < seconds, f"still running after {seconds} s: {left}"
        time.sleep(0.05)
    return time.monotonic() - started
