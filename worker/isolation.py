"""A job's download in a child process whose network holds nothing but its own loopback.

The work horse forks the child at the start of the job, before any thread of its own exists
(a user namespace can only be entered by a single-threaded process). The child enters an
isolated network namespace at once and, while the horse claims the job, starts the loopback
bridge to the socket the job's guard will listen on (egress/bridge.py) and the job's aria2
daemon pointed at it (`EarlyStart`: the socket's path and the guard's token are chosen before
the fork). Once the job is claimed, the horse starts the job's egress proxy on that Unix socket
and sends the child its download with the job's `ToolEgress`; the child runs the download
through the bridge (the early daemon only if its folder and way out are the ones it is sent),
and sends back progress samples and then its outcome. A refused claim stops the early daemon.

Stops need no message: the horse's `Interrupter` kills every process under it, this child and
its tools included, and the horse's wait for the next message ends with `StopRequested`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import structlog

from haul.runtime.lifeline import group_dies_with_parent
from worker.collection_entries import Collection
from worker.download import DownloadJob, WarmAria2
from worker.egress.bridge import UnixBridge
from worker.egress.netns import IsolationUnavailable, enter_isolated_network, isolation_available
from worker.egress.thread import LoopThread
from worker.egress.tools import ToolEgress
from worker.engines.base import Downloaded, DownloadFailed, OnSample, StopRequested
from worker.expand import resolve_or_download
from worker.settings import WorkerSettings
from worker.tools import find_tools

log = structlog.get_logger(__name__)
EXIT_WAIT = 10.0


def never() -> str | None:
    return None


def describe_layers(guard: bool, namespace: str) -> str:
    """Which egress layers protect this worker's jobs, for its start-up log and the health page."""
    if not guard:
        return "off: HAUL_EGRESS_GUARD=false, the tools reach any address"
    reason = isolation_available() if namespace != "off" else "HAUL_EGRESS_NAMESPACE=off"
    if reason is None:
        return "proxy + network namespace"
    return f"proxy only (no network namespace: {reason})"


def hello_tools(settings: WorkerSettings) -> dict[str, str]:
    """What a worker tells the gateway about its binaries and its egress layers."""
    return {
        **find_tools().describe(),
        "egress": describe_layers(settings.egress_guard, settings.egress_namespace),
    }


@dataclass(frozen=True)
class EarlyStart:
    """What the child may start before the claim comes back, the job's id known and its guard
    not yet running: the bridge to the guard's Unix socket (`unix_path`, chosen before the fork)
    and, with `aria2c`, the job's aria2 daemon in `aria2_root` with the job's proxy credentials
    (the guard is then started with `token`). The download checks both against what it is sent."""

    job_id: str
    token: str
    unix_path: str
    aria2_root: Path
    aria2c: str | None

    def relayed(self, port: int) -> ToolEgress:
        """The job's way out inside the namespace, as `ToolEgress.relayed_through(port)` gives it."""
        return ToolEgress(f"http://{self.job_id}:{self.token}@127.0.0.1:{port}", self.unix_path)


def _child(tasks: Connection, events: Connection, horse: int, early: EarlyStart | None) -> None:
    # Should the work horse be killed outright, this child and its tools go too, rather than run on.
    group_dies_with_parent(horse)
    try:
        enter_isolated_network()
    except IsolationUnavailable as exc:
        events.send(("unavailable", str(exc)))
        return
    events.send(("ready", None))
    with contextlib.ExitStack() as held:  # the daemon goes before the bridge it relays through
        bridge: LoopThread[UnixBridge] | None = None
        warm = None
        if early is not None:  # while the horse claims the job
            bridge = held.enter_context(UnixBridge(early.unix_path).run_in_thread())
            if early.aria2c is not None:
                egress = early.relayed(bridge.service.port)
                warm = held.enter_context(WarmAria2(early.aria2c, early.aria2_root, egress).start())
        try:
            task = tasks.recv()
        except EOFError:
            return
        if task is None:  # the job was not claimed
            return
        job, egress = task
        structlog.contextvars.bind_contextvars(job_id=job.work_dir.name, isolated=True)  # TMP_DIR/{jobId}
        if bridge is None or bridge.service.unix_path != egress.unix_path:
            bridge = held.enter_context(UnixBridge(egress.unix_path or "").run_in_thread())
        relayed = egress.relayed_through(bridge.service.port)
        try:
            # A collection is resolved here too: its listing takes the same only way out.
            done = resolve_or_download(
                job, relayed, lambda sample: events.send(("sample", sample)), never, warm
            )
        except StopRequested as stop:
            events.send(("stopped", stop.action))
        except DownloadFailed as failure:
            events.send(("failed", (failure.code, failure.message, failure.retryable)))
        except Exception as exc:
            # The traceback goes to the log; the job's error gets the exception's own words.
            log.exception("download failed unexpectedly")
            events.send(("failed", ("ENGINE_ERROR", f"{type(exc).__name__}: {exc}", True)))
        else:
            events.send(("done", done))


class IsolatedDownload:
    """The forked child. `fork()` gives None (and why) where the platform refuses the namespace."""

    def __init__(self, pid: int, tasks: Connection, events: Connection) -> None:
        self.pid = pid
        self._tasks, self._events = tasks, events

    @classmethod
    def fork(cls) -> tuple[IsolatedDownload | None, str | None]:
        return cls.start().ready()

    @classmethod
    def start(cls, early: EarlyStart | None = None) -> PendingIsolation:
        """Fork the child, which enters its namespace meanwhile; `ready()` on the answer waits for it.
        The caller may start threads in between (the child is already forked): the work horse
        connects to the gateway and claims the job while the kernel sets the namespace up, and
        the child starts what `early` says."""
        task_reader, task_writer = Pipe(duplex=False)
        event_reader, event_writer = Pipe(duplex=False)
        horse = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which reports through the pipe
            task_writer.close()
            event_reader.close()
            code = 0
            try:
                _child(task_reader, event_writer, horse, early)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        task_reader.close()
        event_writer.close()
        return PendingIsolation(cls(pid, task_writer, event_reader))

    def run(self, job: DownloadJob, egress: ToolEgress, on_sample: OnSample) -> Downloaded | Collection:
        """Resolve the job's URL and, when it is no collection, download it in the child, its
        tools reaching the guard on `egress.unix_path`; raise what was raised there."""
        self._tasks.send((job, egress))
        while True:
            try:
                kind, value = self._events.recv()
            except EOFError:
                raise DownloadFailed(
                    "WORKER_CRASHED", "the download's process ended without an outcome", retryable=True
                ) from None
            if kind == "sample":
                on_sample(value)
            elif kind == "done":
                return value  # type: ignore[no-any-return]
            elif kind == "stopped":
                raise StopRequested(value)
            else:
                code, message, retryable = value
                raise DownloadFailed(code, message, retryable)

    def close(self) -> None:
        """Tell an idle child to leave, give a busy one a moment to stop its tools, then reap it."""
        with contextlib.suppress(OSError):
            self._tasks.send(None)
        self._tasks.close()
        deadline = time.monotonic() + EXIT_WAIT
        pause = 0.001  # a child that is done exits within milliseconds: the next job waits for it
        while time.monotonic() < deadline and not self._reaped():
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
        if not self._reaped():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        self._events.close()

    def _reaped(self) -> bool:
        try:
            pid, _status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return True
        return pid != 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | Any | None) -> None:
        self.close()


class PendingIsolation:
    """A child just forked, whose namespace may not be ready yet. Closing it (or leaving its
    `with` block) before `ready()` tells the child to leave and reaps it."""

    def __init__(self, child: IsolatedDownload) -> None:
        self._child: IsolatedDownload | None = child

    def ready(self) -> tuple[IsolatedDownload | None, str | None]:
        """The child once it is in its namespace, or None and why it could not enter one."""
        child, self._child = self._child, None
        if child is None:
            return None, "the isolated child was already taken"
        try:
            kind, reason = child._events.recv()
        except EOFError:
            kind, reason = "unavailable", "the isolated child exited before it was ready"
        if kind != "ready":
            child.close()
            return None, str(reason)
        return child, None

    def close(self) -> None:
        if self._child is not None:
            self._child.close()
            self._child = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | Any | None) -> None:
        self.close()
