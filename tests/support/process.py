"""A managed server process for tests: launch, wait until ready, stop, kill, restart, clean up.

Each server object owns one server process on a free loopback port and can be stopped gracefully, killed
with SIGKILL and restarted; the port and the data directory stay the same across restarts.

Notes:

* ``start()`` and ``restart()`` block until the server answers (or fail, leaving nothing running).
* A process that outlives its object is killed when the object is garbage-collected or the interpreter exits
  normally; an interpreter killed with SIGKILL (or ``os._exit``) cannot clean up after itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psutil

STARTUP_TIMEOUT = 30.0
"""Seconds a server may take to accept connections after it was launched."""
STOP_TIMEOUT = 30.0
"""Seconds a graceful stop may take before the server is killed."""
KILL_TIMEOUT = 10.0
"""Seconds killed processes may take to disappear."""
SETUP_HINT = "run `make setup` as root (it installs the Debian packages postgresql and redis-server)"
"""Appended to errors about missing server binaries or users."""

_POLL_INTERVAL = 0.05
_LOG_TAIL_LINES = 40
_PORT_ATTEMPTS = 3


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------------------------------
# process-tree helpers


def processes_in(directory: Path) -> list[psutil.Process]:
    """Live processes working in ``directory`` (postgres and redis chdir to their data directory)."""
    target = str(directory.resolve())
    found: list[psutil.Process] = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error, OSError):
            if proc.cwd() == target:
                found.append(proc)
    return found


def _is_gone(proc: psutil.Process) -> bool:
    # A zombie has released its memory (and shared memory attachments); an orphan may stay a zombie
    # forever when PID 1 does not reap, so it counts as gone.
    try:
        return not proc.is_running() or bool(proc.status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def kill_tree(proc: subprocess.Popen[bytes] | None, workdir: Path, timeout: float = KILL_TIMEOUT) -> None:
    """SIGKILL ``proc``, its descendants and any process working in ``workdir``; wait until all are gone."""
    deadline = time.monotonic() + timeout
    victims: dict[int, psutil.Process] = {}
    if proc is not None and proc.poll() is None:
        try:
            parent = psutil.Process(proc.pid)
            parent.suspend()  # SIGSTOP: it cannot fork new children while we list them
            for child in parent.children(recursive=True):
                victims[child.pid] = child
        except psutil.Error:
            pass
        proc.kill()
    with contextlib.suppress(FileNotFoundError):
        for stray in processes_in(workdir):
            victims.setdefault(stray.pid, stray)
    for victim in victims.values():
        with contextlib.suppress(psutil.Error):
            victim.kill()
    if proc is not None:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"process {proc.pid} survived SIGKILL for {timeout}s") from exc
    while True:
        alive = [victim.pid for victim in victims.values() if not _is_gone(victim)]
        if not alive:
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(f"processes {alive} survived SIGKILL for {timeout}s")
        time.sleep(_POLL_INTERVAL)


class _PortInUseError(RuntimeError):
    pass


class _CrashedAtStart(RuntimeError):
    """The server died of a signal before it was ready."""


# ---------------------------------------------------------------------------------------------------------
# common lifecycle


class ServerProcess:
    """Lifecycle shared by both servers: launch, wait until ready, stop, kill, restart, clean up."""

    _name = "server"
    _stop_signal = signal.SIGTERM

    port: int
    """The loopback port; fixed once the server has started successfully."""
    log_path: Path
    """Server output of every start, appended."""

    def __init__(self) -> None:
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._proc_finalizer: weakref.finalize[Any, Any] | None = None
        self._started_once = False

    # hooks ------------------------------------------------------------------------------------------------

    @property
    def _workdir(self) -> Path:
        """The directory the server process chdirs to; identifies strays of a previous run."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """One-time preparation before the first launch."""

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _popen_options(self) -> dict[str, Any]:
        return {}

    def _probe(self, timeout: float) -> None:
        """Return if the server answers a real request, raise otherwise."""
        raise NotImplementedError

    # public API -------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """PID of the server's main process while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self) -> None:
        """Launch the server and wait until it answers; no-op if it already runs.

        On failure nothing is left running. Before the first successful start, a port taken in the
        meantime is replaced by another free one.
        """
        if self.running:
            return
        try:
            self._reap()
            self._prepare()
            crashes = 0
            for attempt in range(1, _PORT_ATTEMPTS + 1):
                try:
                    self._launch_and_wait()
                except _PortInUseError:
                    self._reap()
                    if self._started_once or attempt == _PORT_ATTEMPTS:
                        raise
                    self.port = free_port()
                except _CrashedAtStart:
                    # Seen once: a postmaster started right after a kill -9 died of SIGSEGV before
                    # writing a line. The server under test is not ours; one more start is fair.
                    self._reap()
                    crashes += 1
                    if crashes > 1 or attempt == _PORT_ATTEMPTS:
                        raise
                else:
                    self._started_once = True
                    return
        except BaseException:
            self._reap()
            raise

    def stop(self) -> None:
        """Graceful shutdown, bounded by STOP_TIMEOUT; then the server is killed and RuntimeError raised."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(self._stop_signal)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._reap()
                raise RuntimeError(
                    f"{self._name} on port {self.port} did not stop within {STOP_TIMEOUT}s and was killed\n"
                    f"{self._log_tail(0)}"
                ) from None
        self._reap()

    def kill(self) -> None:
        """SIGKILL the server and its children, and wait until they are gone."""
        self._reap()

    def restart(self, *, kill: bool = False) -> None:
        """Stop (or, with ``kill=True``, SIGKILL) the server and start it again on the same port and data."""
        if kill:
            self.kill()
        else:
            self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server; kill it if it does not stop."""
        self.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} 127.0.0.1:{self.port} {state}>"

    # internals --------------------------------------------------------------------------------------------

    def _reap(self) -> None:
        """Kill whatever is left of the server (no-op when nothing is) and forget the process."""
        proc, self._proc = self._proc, None
        kill_tree(proc, self._workdir)  # if this raises, the finalizer stays armed and tries again at exit
        if self._proc_finalizer is not None:
            self._proc_finalizer.detach()
            self._proc_finalizer = None

    def _launch_and_wait(self) -> None:
        command = self._command()
        with self.log_path.open("ab") as log:
            log.write(f"\n===== {time.strftime('%H:%M:%S')} start on port {self.port} =====\n".encode())
            log.flush()
            offset = log.tell()
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the test, not the server
                **self._popen_options(),
            )
        self._proc = proc
        self._proc_finalizer = weakref.finalize(self, kill_tree, proc, self._workdir)
        self._wait_ready(proc, offset)

    def _wait_ready(self, proc: subprocess.Popen[bytes], log_offset: int) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last_error: BaseException | None = None
        attempt_timeout = 0.25  # grows to 2 s: a hung probe must not hide that the process died meanwhile
        while True:
            code = proc.poll()
            if code is not None:
                tail = self._log_tail(log_offset)
                error: type[RuntimeError] = RuntimeError
                if "Address already in use" in tail:
                    error = _PortInUseError
                elif code < 0:  # killed by a signal while starting
                    error = _CrashedAtStart
                raise error(
                    f"{self._name} on port {self.port} exited with code {code} while starting\n{tail}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(
                    f"{self._name} on port {self.port} did not accept connections within {STARTUP_TIMEOUT}s "
                    f"(last error: {last_error!r})\n{self._log_tail(log_offset)}"
                )
            try:
                self._probe(min(attempt_timeout, max(remaining, 0.1)))
            except Exception as exc:
                last_error = exc
                attempt_timeout = min(attempt_timeout * 2, 2.0)
            else:
                return
            time.sleep(min(_POLL_INTERVAL, max(deadline - time.monotonic(), 0.0)))

    def _log_tail(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        lines = text.splitlines()[-_LOG_TAIL_LINES:]
        return f"--- {self.log_path} ---\n" + "\n".join(lines)
