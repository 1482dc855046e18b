"""A private, throwaway PostgreSQL server for tests (see ``tests.support.process`` for the lifecycle).

Notes:

* PostgreSQL refuses to run as root. When the tests run as root, initdb and postgres are started as the
  ``postgres`` user (``Popen(user=...)``, so the PID we hold is the postmaster's own, unlike with
  ``runuser``, which forks). If ``base_dir`` is not reachable by that user (pytest's ``/tmp/pytest-of-root``
  is mode 0700), the data directory goes into a private folder under the system temp directory, removed by
  ``close()`` / ``__exit__``.
* The server runs with ``fsync=off`` and ``full_page_writes=off``: fast, and still safe against a killed
  *process* (the kernel keeps the written data), which is what the kill tests exercise.
  ``synchronous_commit`` stays ``on`` by default: with ``off``, a commit returns before its WAL leaves
  PostgreSQL's shared memory, so a SIGKILL right after a commit can lose it; with ``fsync=off`` the cost of
  ``on`` is one write() per commit.
* ``start()``, ``restart()`` and ``create_database()`` block. They may be called from inside a running event
  loop (an async test), in which case asyncpg work runs on a helper thread; the loop is blocked meanwhile.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import weakref
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import asyncpg

from tests.support.process import SETUP_HINT, STARTUP_TIMEOUT, ServerProcess

INITDB_TIMEOUT = 120.0

_PG_SUPERUSER = "postgres"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin

_T = TypeVar("_T")


def run_coro(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion from sync code, even when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="servers") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def _traversable_by(path: Path, uid: int, gids: set[int]) -> bool:
    """Whether user ``uid`` (with groups ``gids``) may reach ``path`` (ACLs are not considered)."""
    for part in (path, *path.parents):
        st = part.stat()
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    version = bin_dir.parent.name
    return tuple(int(piece) for piece in version.split(".") if piece.isdigit())


def _find_postgres_bin_dir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for bin_dir in candidates:
        if (bin_dir / "initdb").is_file() and (bin_dir / "postgres").is_file():
            return bin_dir
    initdb = shutil.which("initdb")
    if initdb is not None and (Path(initdb).parent / "postgres").is_file():
        return Path(initdb).parent
    raise RuntimeError(
        f"PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or on PATH; "
        f"{SETUP_HINT}"
    )


def remove_in_background(folder: Path) -> None:
    """Remove ``folder`` without waiting for it. After a test session's hundreds of cloned databases
    a cluster is tens of thousands of files, whose unlinking took 20-50 s of the session's end; an
    ``rm`` of its own (orphaned by its shell, so nothing waits for it or must reap it) does it while
    the tests go on, or after they ended. The folder is renamed first, so it is gone at once."""
    doomed = folder.with_name(f"{folder.name}.removing")
    try:
        folder.rename(doomed)
    except FileNotFoundError:
        return
    subprocess.run(
        ["sh", "-c", 'rm -rf -- "$0" &', str(doomed)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, check=False, timeout=10,
    )  # fmt: skip


class PostgresServer(ServerProcess):
    """A private PostgreSQL cluster (superuser ``postgres``, trust auth) on 127.0.0.1:``port``.

    ``base_dir`` is a folder the caller owns (e.g. pytest's ``tmp_path``); the server keeps its log and, if
    possible, its data in a fresh sub-folder of it. initdb runs once, on the first ``start()``.
    ``synchronous_commit=False`` is faster for commit-heavy tests, but a SIGKILL may then lose acknowledged
    commits (see the module docstring).
    """

    _name = "postgres"
    _stop_signal = signal.SIGINT  # "fast" shutdown: roll back open transactions, checkpoint, exit

    def __init__(self, base_dir: Path, *, synchronous_commit: bool = True) -> None:
        self._bin_dir = _find_postgres_bin_dir()
        self._run_as: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._run_as = pwd.getpwnam(_PG_SUPERUSER)
            except KeyError:
                raise RuntimeError(
                    f"running as root, but there is no `{_PG_SUPERUSER}` user to run PostgreSQL as; "
                    f"{SETUP_HINT}"
                ) from None
        super().__init__()
        self._synchronous_commit = synchronous_commit
        self.dir = Path(tempfile.mkdtemp(prefix="postgres-", dir=base_dir))
        self.log_path = self.dir / "postgres.log"
        self._private_dir: Path | None = None
        self._dir_finalizer: weakref.finalize[Any, Any] | None = None
        self.data_dir = self.dir / "data"
        if self._run_as is not None:
            user = self._run_as
            groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
            if not _traversable_by(self.dir, user.pw_uid, groups):
                for root in dict.fromkeys([Path(tempfile.gettempdir()), Path("/tmp")]):
                    if _traversable_by(root, user.pw_uid, groups):
                        self._private_dir = Path(tempfile.mkdtemp(prefix="haul-postgres-", dir=root))
                        break
                else:
                    raise RuntimeError(f"no temp directory reachable by the `{user.pw_name}` user")
                self._dir_finalizer = weakref.finalize(self, remove_in_background, self._private_dir)
                os.chown(self._private_dir, user.pw_uid, user.pw_gid)
                self.data_dir = self._private_dir / "data"

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        """SQLAlchemy URL, e.g. ``postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres``."""
        return f"{driver}://{_PG_SUPERUSER}@127.0.0.1:{self.port}/{quote(database, safe='')}"

    def dsn(self, database: str = "postgres") -> str:
        """libpq / plain asyncpg DSN, e.g. ``postgresql://postgres@127.0.0.1:PORT/postgres``."""
        return self.url(database, driver="postgresql")

    def create_database(self, name: str) -> None:
        """``CREATE DATABASE name`` (the server must be running)."""
        quoted = '"' + name.replace('"', '""') + '"'

        async def create() -> None:
            conn = await asyncpg.connect(self.dsn(), timeout=STARTUP_TIMEOUT)
            try:
                await conn.execute(f"CREATE DATABASE {quoted}")
            finally:
                await conn.close()

        run_coro(create)

    def close(self) -> None:
        """Stop the server and have the private data folder, if one was needed (root only), removed."""
        try:
            super().close()
        finally:
            if self._dir_finalizer is not None:
                self._dir_finalizer()

    # hooks ------------------------------------------------------------------------------------------------

    @property
    def _workdir(self) -> Path:
        return self.data_dir

    def _popen_options(self) -> dict[str, Any]:
        if self._run_as is None:
            return {}
        return {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid, "extra_groups": []}

    def _prepare(self) -> None:
        if (self.data_dir / "PG_VERSION").is_file():
            return
        if self._dir_finalizer is not None and not self._dir_finalizer.alive:
            raise RuntimeError(f"{self!r} was closed")
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if self._run_as is not None:
            os.chown(self.data_dir, self._run_as.pw_uid, self._run_as.pw_gid)
        command = [
            str(self._bin_dir / "initdb"),
            "-D", str(self.data_dir),
            "-U", _PG_SUPERUSER,
            "--auth=trust",
            "-E", "UTF8",
            "--no-locale",
            "--no-sync",
        ]  # fmt: skip
        try:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=INITDB_TIMEOUT,
                cwd=self.data_dir,
                check=False,
                **self._popen_options(),
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"initdb did not finish within {INITDB_TIMEOUT}s") from exc
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise RuntimeError(f"initdb failed with code {result.returncode}:\n{output}")

    def _command(self) -> list[str]:
        socket_dir = str(self.data_dir)
        if len(socket_dir) + len("/.s.PGSQL.65535.lock") > _SOCKET_PATH_MAX:
            socket_dir = ""  # path too long for a Unix socket: TCP only
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": socket_dir,
            "max_connections": "200",
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "on" if self._synchronous_commit else "off",
        }
        command = [str(self._bin_dir / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        return command

    def _probe(self, timeout: float) -> None:
        async def select_one() -> None:
            conn = await asyncpg.connect(self.dsn(), timeout=timeout)
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout)
            finally:
                await conn.close(timeout=timeout)

        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout):
            pass  # cheap check first: no event loop while the port is still closed
        run_coro(select_one)
