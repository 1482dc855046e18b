"""Stopping a download from outside it: control messages, stalls and budgets.

A download may sit in a blocking read where no progress hook runs, so asking it to stop is
not enough. `Interrupter` raises `StopRequested` in the job's main thread through a signal
(delivered even inside a blocking read) and kills the tools the job started. It is armed
only while the engine runs, so finishing touches (hashing, the atomic move) are never cut.

`Watchdog` checks once a second: no progress for `stall_seconds` (→ "stall"), the job's
maximum duration (→ "time"), bytes written to the job's folder over the size budget
(→ "size", counted from allocated blocks, so sparse files cannot hide bytes), and free disk
under the reserve (→ "disk").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psutil
import structlog

from worker.engines.base import StopRequested
from worker.samples import Sample

log = structlog.get_logger(__name__)

INTERRUPT_SIGNAL = signal.SIGUSR1
CHECK_INTERVAL = 1.0


class Interrupter:
    def __init__(self) -> None:
        self.reason: str | None = None
        self._armed = False
        self._main = threading.main_thread().ident

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        previous = signal.signal(INTERRUPT_SIGNAL, self._on_signal)
        self._armed = True
        try:
            if self.reason is not None:  # a stop that arrived before the engine started
                raise StopRequested(self.reason)
            yield
        finally:
            self._armed = False
            signal.signal(INTERRUPT_SIGNAL, previous)

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        if self._armed and self.reason is not None:
            raise StopRequested(self.reason)

    def interrupt(self, reason: str) -> None:
        """Stop the job now, from any thread. The first reason wins."""
        if self.reason is not None:
            return
        self.reason = reason
        kill_children()
        if self._armed and self._main is not None:
            signal.pthread_kill(self._main, INTERRUPT_SIGNAL)


def kill_children() -> None:
    """Kill every process this one started (ffmpeg under yt-dlp, say), and their children."""
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(children, timeout=2)


def bytes_written(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_blocks * 512
    return total


@dataclass(frozen=True)
class Budgets:
    stall_seconds: float
    max_duration: float
    max_file_bytes: int
    min_free_bytes: int


class Watchdog:
    def __init__(self, budgets: Budgets, folder: Path, interrupter: Interrupter) -> None:
        self._budgets = budgets
        self._folder = folder
        self._interrupter = interrupter
        self._started = self._last_progress = time.monotonic()
        self._last_reading: tuple[str, int, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)

    def touch(self, sample: Sample) -> None:
        """Called with every progress reading; a reading that changed anything counts as progress."""
        reading = (sample.stage, sample.downloaded_bytes, sample.progress)
        if reading != self._last_reading:
            self._last_reading = reading
            self._last_progress = time.monotonic()

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(CHECK_INTERVAL):
            reason = self.check()
            if reason is not None:
                log.warning("watchdog stops the job", reason=reason)
                self._interrupter.interrupt(reason)
                return

    def check(self) -> str | None:
        now = time.monotonic()
        budgets = self._budgets
        if now - self._last_progress > budgets.stall_seconds:
            return "stall"
        if now - self._started > budgets.max_duration:
            return "time"
        if bytes_written(self._folder) > budgets.max_file_bytes:
            return "size"
        with contextlib.suppress(OSError):
            if shutil.disk_usage(self._folder).free < budgets.min_free_bytes:
                return "disk"
        return None
