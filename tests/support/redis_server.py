"""A private, throwaway Redis server for tests (see ``tests.support.process`` for the lifecycle).

Not named ``redis.py``: that would shadow the ``redis`` package.
"""

from __future__ import annotations

import shutil
import signal
import socket
import tempfile
from pathlib import Path

from tests.support.process import SETUP_HINT, ServerProcess


def _find_redis_server() -> Path:
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError(f"redis-server not found on PATH; {SETUP_HINT}")
    return Path(found)


class RedisServer(ServerProcess):
    """A private Redis on 127.0.0.1:``port``, without RDB snapshots; with ``appendonly=True`` it keeps an
    append-only file, so data survives ``restart()`` and ``kill()``.
    """

    _name = "redis-server"
    _stop_signal = signal.SIGTERM  # no save points configured: exits without writing an RDB file

    def __init__(self, base_dir: Path, appendonly: bool = False) -> None:
        self._binary = _find_redis_server()
        super().__init__()
        self.appendonly = appendonly
        self.dir = Path(tempfile.mkdtemp(prefix="redis-", dir=base_dir))
        self.log_path = self.dir / "redis.log"
        self.data_dir = self.dir / "data"
        self.data_dir.mkdir()

    def url(self, db: int = 0) -> str:
        """e.g. ``redis://127.0.0.1:PORT/0``"""
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def _workdir(self) -> Path:
        return self.data_dir

    def _command(self) -> list[str]:
        return [
            str(self._binary),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--dir", str(self.data_dir),
            "--daemonize", "no",
        ]  # fmt: skip

    def _probe(self, timeout: float) -> None:
        # A raw PING: redis-py clients retry with backoff by default, which would stretch every attempt.
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(256)
                if not chunk:
                    break
                reply += chunk
        if reply != b"+PONG\r\n":  # e.g. "-LOADING ..." while the append-only file is read
            raise RuntimeError(f"PING answered {reply!r}")
