"""The aria2c daemon beside a worker: started, watched, restarted, and spoken to over JSON-RPC.

aria2c listens for JSON-RPC on a free loopback port and needs a random secret on every call.
Every option, the secret and the proxy (which may hold credentials) included, is written to a
0600 config file passed with `--conf-path`: nothing secret is ever on a command line, where
`ps` would show it. The job's `ToolEgress` gives aria2c its proxy, turns off torrents, DHT, local
peer discovery and metalinks (peers would be contacted directly, around any proxy), and clears
aria2c's environment of proxy variables, so the one proxy configured here is the only way out.

Control files are saved every second and partial files are resumed, so a download that a
killed daemon left behind continues from the bytes already saved when it is added again.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from haul.runtime.lifeline import child_setup
from worker.egress.tools import ToolEgress

# Several connections per download; aria2 splits a file only in pieces of MIN_SPLIT_SIZE or more.
CONNECTIONS = 4
MIN_SPLIT_SIZE = "1M"
STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
RPC_TIMEOUT = 5.0
PORT_ATTEMPTS = 3
CONF_NAME = "aria2.conf"
SESSION_NAME = "aria2.session"
LOG_NAME = "aria2c.log"


class Aria2Unavailable(Exception):
    """aria2c cannot be reached: not running, not started, or not answering."""


class Aria2RpcError(Exception):
    """aria2c answered a call with a JSON-RPC error (a wrong secret gives "Unauthorized")."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"aria2 RPC error {code}: {message}")
        self.code, self.message = code, message


class Aria2Rpc:
    """A small typed JSON-RPC client for one aria2c; it never goes through a proxy."""

    def __init__(self, port: int, secret: str, timeout: float = RPC_TIMEOUT) -> None:
        self.port = port
        self._token = f"token:{secret}"
        self._timeout = timeout
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"Aria2Rpc(port={self.port})"  # never the secret

    def call(self, method: str, *params: Any) -> Any:
        payload = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": method,
            "params": [self._token, *params],
        }
        # http.client, not urllib: no proxy variable or no_proxy list can reach a loopback call.
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self._timeout)
        try:
            connection.request(
                "POST", "/jsonrpc", json.dumps(payload).encode(), {"Content-Type": "application/json"}
            )
            body = connection.getresponse().read()
        except (OSError, http.client.HTTPException) as exc:
            raise Aria2Unavailable(f"aria2c on port {self.port} did not answer {method}: {exc}") from exc
        finally:
            connection.close()
        try:
            reply = json.loads(body)
        except ValueError as exc:
            raise Aria2Unavailable(f"aria2c sent a reply that is not JSON to {method}") from exc
        if not isinstance(reply, dict):
            raise Aria2Unavailable(f"aria2c sent an unexpected reply to {method}")
        error = reply.get("error")
        if isinstance(error, dict):
            raise Aria2RpcError(int(error.get("code", 0)), str(error.get("message", "")))
        return reply.get("result")

    def add_uri(self, uri: str, options: dict[str, str]) -> str:
        return str(self.call("aria2.addUri", [uri], options))

    def tell_status(self, gid: str, keys: list[str] | None = None) -> dict[str, Any]:
        result = self.call("aria2.tellStatus", gid, *([keys] if keys else []))
        return result if isinstance(result, dict) else {}

    def force_remove(self, gid: str) -> None:
        self.call("aria2.forceRemove", gid)

    def remove_download_result(self, gid: str) -> None:
        self.call("aria2.removeDownloadResult", gid)

    def get_version(self) -> dict[str, Any]:
        result = self.call("aria2.getVersion")
        return result if isinstance(result, dict) else {}


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by this user only, even if the file already existed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)


class Aria2Daemon:
    """One aria2c process with RPC on a loopback port; restarted by `ensure_running`. Its way out
    is `egress` (the job's guard; by default none, as with the guard switched off)."""

    def __init__(self, aria2c_path: str, work_root: Path, egress: ToolEgress | None = None) -> None:
        self.aria2c_path = aria2c_path
        self.work_root = work_root
        self.egress = egress or ToolEgress()
        self.conf_path = work_root / CONF_NAME
        self.session_path = work_root / SESSION_NAME
        self.log_path = work_root / LOG_NAME
        self.port = 0
        self._secret = secrets.token_hex(32)
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Aria2Daemon(port={self.port}, pid={self.pid})"  # never the secret

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def options(self, port: int) -> dict[str, str]:
        """Everything aria2c is told; it goes in the 0600 config file, never on the command line."""
        return {
            "enable-rpc": "true",
            "rpc-listen-all": "false",
            "rpc-listen-port": str(port),
            "rpc-secret": self._secret,
            "rpc-allow-origin-all": "false",
            "auto-save-interval": "1",
            "save-session": str(self.session_path),
            "continue": "true",
            # When a server cannot resume, start over rather than fail the download.
            "always-resume": "false",
            "allow-overwrite": "false",
            "auto-file-renaming": "false",
            "max-connection-per-server": str(CONNECTIONS),
            "split": str(CONNECTIONS),
            "min-split-size": MIN_SPLIT_SIZE,
            "file-allocation": "none",
            # ~/.netrc would hand this user's credentials to whatever host a job names.
            "no-netrc": "true",
            "connect-timeout": "15",
            "timeout": "30",
            "max-tries": "3",
            "retry-wait": "1",
            "max-download-result": "100",
            "console-log-level": "warn",
            "summary-interval": "0",
            "show-console-readout": "false",
            "download-result": "hide",
            "enable-color": "false",
            # The daemon goes away with the process that started it, even after a SIGKILL.
            "stop-with-process": str(os.getpid()),
            **self.egress.aria2_global_options(),
        }

    def start(self) -> None:
        """Start aria2c and wait until it answers; a no-op when it already runs."""
        with self._lock:
            if self._alive():
                return
            self._kill()
            self.work_root.mkdir(parents=True, exist_ok=True, mode=0o700)
            failure = "not started"
            for _ in range(PORT_ATTEMPTS):  # a free port can be taken before aria2c binds it
                port = free_loopback_port()
                write_private(self.conf_path, "".join(f"{k}={v}\n" for k, v in self.options(port).items()))
                try:
                    with open(self.log_path, "ab") as log:
                        # SIGKILL when the thread starting aria2c ends: only the main thread lasts
                        # as long as this process. From any other, `stop-with-process` alone
                        # stops aria2c, within a second of this process ending.
                        main = threading.current_thread() is threading.main_thread()
                        self._proc = subprocess.Popen(
                            [self.aria2c_path, f"--conf-path={self.conf_path}"],
                            stdin=subprocess.DEVNULL,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            env=self.egress.tool_environment(os.environ),
                            cwd=self.work_root,
                            start_new_session=True,  # a terminal's Ctrl-C goes to the worker, not aria2c
                            preexec_fn=child_setup(signal.SIGKILL) if main else None,
                        )
                except OSError as exc:
                    raise Aria2Unavailable(f"cannot run {self.aria2c_path}: {exc}") from exc
                self._owner_pid = os.getpid()
                self.port = port
                if self._wait_until_answering():
                    return
                failure = f"aria2c exited with {self._proc.poll()}; see {self.log_path}"
                self._kill()
            raise Aria2Unavailable(f"aria2c did not start: {failure}")

    def _wait_until_answering(self) -> bool:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            if self.ping():
                return True
            time.sleep(0.005)  # aria2c answers within about 0.1 s of its start
        return False

    def stop(self, graceful: bool = True) -> None:
        """Shut aria2c down, killing it if it lingers. Graceful: it first saves its control files
        and session (about 1 s); a SIGKILL loses at most the last second of control-file updates."""
        with self._lock:
            proc = self._owned()
            if proc is not None and not graceful:
                self._kill()
            elif proc is not None and proc.poll() is None:
                # SIGTERM rather than the shutdown RPC: both save control files; SIGTERM takes 1 s, not 4.
                proc.terminate()
                try:
                    proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self._kill()
            self._proc = None

    def ensure_running(self) -> bool:
        """Restart aria2c if it died or stopped answering. True when it was (re)started."""
        with self._lock:
            if self._alive():
                return False
            self._kill()
            self.start()
            return True

    def client(self) -> Aria2Rpc:
        if not self.port:
            raise Aria2Unavailable("aria2c was never started")
        return Aria2Rpc(self.port, self._secret)

    def ping(self) -> bool:
        try:
            self.client().get_version()
        except (Aria2Unavailable, Aria2RpcError):
            return False
        return True

    def version(self) -> str:
        return str(self.client().get_version().get("version", ""))

    def _owned(self) -> subprocess.Popen[bytes] | None:
        """The aria2c this process started. A forked child forgets its parent's: it cannot wait for
        it, and must not stop it; `ensure_running` then starts the child's own."""
        if self._proc is not None and os.getpid() != self._owner_pid:
            self._proc = None
        return self._proc

    def _alive(self) -> bool:
        proc = self._owned()
        return proc is not None and proc.poll() is None and self.ping()

    def _kill(self) -> None:
        proc = self._owned()
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_TIMEOUT)
        self._proc = None
