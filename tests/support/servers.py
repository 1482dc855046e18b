"""Private, throwaway PostgreSQL and Redis servers for tests.

Each server object owns one server process on a free loopback port and can be stopped gracefully,
killed with SIGKILL and restarted; the port and the data directory stay the same across restarts::

    with PostgresServer(tmp_path) as pg, RedisServer(tmp_path) as rds:
        pg.create_database("jobs")
        engine = create_async_engine(pg.url("jobs"))
        pg.restart(kill=True)          # SIGKILL the postmaster and its children, then start again
        client = redis.Redis.from_url(rds.url())

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
* A process that outlives its object is killed when the object is garbage-collected or the interpreter exits
  normally; an interpreter killed with SIGKILL (or ``os._exit``) cannot clean up after itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import weakref
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import asyncpg
import psutil
import redis

__all__ = ["PostgresServer", "RedisServer", "free_port"]

STARTUP_TIMEOUT = 30.0
"""Seconds a server may take to accept connections after it was launched."""
STOP_TIMEOUT = 30.0
"""Seconds a graceful stop may take before the server is killed."""
KILL_TIMEOUT = 10.0
"""Seconds killed processes may take to disappear."""
INITDB_TIMEOUT = 120.0

_POLL_INTERVAL = 0.05
_LOG_TAIL_LINES = 40
_PORT_ATTEMPTS = 3
_SETUP_HINT = "run `make setup` as root (it installs the Debian packages postgresql and redis-server)"
_PG_SUPERUSER = "postgres"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin

_T = TypeVar("_T")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------------------------------
# process helpers


def _processes_in(directory: Path) -> list[psutil.Process]:
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


def _kill_tree(proc: subprocess.Popen[bytes] | None, workdir: Path, timeout: float = KILL_TIMEOUT) -> None:
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
        for stray in _processes_in(workdir):
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


def _run_coro(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
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
        f"{_SETUP_HINT}"
    )


def _find_redis_server() -> Path:
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError(f"redis-server not found on PATH; {_SETUP_HINT}")
    return Path(found)


class _PortInUseError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------------------
# common lifecycle


class _ServerProcess:
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
            for attempt in range(1, _PORT_ATTEMPTS + 1):
                try:
                    self._launch_and_wait()
                except _PortInUseError:
                    self._reap()
                    if self._started_once or attempt == _PORT_ATTEMPTS:
                        raise
                    self.port = free_port()
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
        _kill_tree(proc, self._workdir)  # if this raises, the finalizer stays armed and tries again at exit
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
        self._proc_finalizer = weakref.finalize(self, _kill_tree, proc, self._workdir)
        self._wait_ready(proc, offset)

    def _wait_ready(self, proc: subprocess.Popen[bytes], log_offset: int) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last_error: BaseException | None = None
        attempt_timeout = 0.25  # grows to 2 s: a hung probe must not hide that the process died meanwhile
        while True:
            code = proc.poll()
            if code is not None:
                tail = self._log_tail(log_offset)
                error = _PortInUseError if "Address already in use" in tail else RuntimeError
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


# ---------------------------------------------------------------------------------------------------------
# PostgreSQL


class PostgresServer(_ServerProcess):
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
                    f"{_SETUP_HINT}"
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
                self._dir_finalizer = weakref.finalize(self, shutil.rmtree, self._private_dir, True)
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

        _run_coro(create)

    def close(self) -> None:
        """Stop the server and remove the private data folder, if one was needed (root only)."""
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
        _run_coro(select_one)


# ---------------------------------------------------------------------------------------------------------
# Redis


class RedisServer(_ServerProcess):
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


# ---------------------------------------------------------------------------------------------------------
# self-check: python -m tests.support.servers


def _timed(label: str, action: Callable[[], None]) -> float:
    began = time.perf_counter()
    action()
    elapsed = time.perf_counter() - began
    print(f"  {label:<38} {elapsed * 1000:8.0f} ms")
    return elapsed


def _assert_gone(server: PostgresServer | RedisServer, pid: int | None) -> None:
    assert pid is not None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid
    assert not _processes_in(server.data_dir), _processes_in(server.data_dir)


def _postgres_self_check(base: Path) -> None:
    print("PostgreSQL")

    async def query(dsn: str, sql: str, *args: object) -> list[Any]:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    def rows(pg: PostgresServer) -> list[int]:
        return [
            row["n"] for row in _run_coro(lambda: query(pg.dsn("selfcheck"), "SELECT n FROM t ORDER BY n"))
        ]

    def insert(pg: PostgresServer, n: int) -> None:
        _run_coro(lambda: query(pg.dsn("selfcheck"), "INSERT INTO t VALUES ($1)", n))

    with PostgresServer(base) as pg:
        print(f"  {pg!r}  data={pg.data_dir}")
        pg.stop()
        pg.kill()  # no-op when stopped
        _timed("start (initdb already done)", pg.start)
        _timed("create_database", lambda: pg.create_database("selfcheck"))
        _run_coro(lambda: query(pg.dsn("selfcheck"), "CREATE TABLE t (n int)"))
        insert(pg, 1)
        port = pg.port
        _timed("restart (graceful)", pg.restart)
        assert rows(pg) == [1] and pg.port == port
        insert(pg, 2)  # committed, then SIGKILL at once: must survive
        _timed("restart(kill=True) (SIGKILL + recovery)", lambda: pg.restart(kill=True))
        assert rows(pg) == [1, 2], rows(pg)

        async def restart_inside_event_loop() -> None:
            pg.restart(kill=True)
            assert [r["n"] for r in await query(pg.dsn("selfcheck"), "SELECT n FROM t ORDER BY n")] == [1, 2]

        asyncio.run(restart_inside_event_loop())

        # a postmaster killed behind our back leaves orphaned backends; start() must sweep them up
        assert pg._proc is not None
        pg._proc.kill()  # as if by someone else: the server objects is not told
        pg._proc.wait(timeout=10)
        assert not pg.running
        _timed("start after external SIGKILL", pg.start)
        assert rows(pg) == [1, 2]

        pid = pg.pid
        _timed("kill", pg.kill)
        _assert_gone(pg, pid)
        _timed("start after kill", pg.start)
        pid = pg.pid
        _timed("stop (graceful)", pg.stop)
        _assert_gone(pg, pid)
        pg.start()
        pid = pg.pid
    _assert_gone(pg, pid)
    assert pg._private_dir is None or not pg._private_dir.exists(), pg._private_dir
    print(f"  log: {pg.log_path}")


def _redis_self_check(base: Path) -> None:
    print("Redis")
    with RedisServer(base) as rds:
        client = redis.Redis.from_url(rds.url())
        client.set("k", "v")
        _timed("restart (graceful)", rds.restart)
        assert client.get("k") is None  # no persistence by default
        client.set("k", "v")
        _timed("restart(kill=True)", lambda: rds.restart(kill=True))
        assert client.get("k") is None
        pid = rds.pid
        _timed("kill", rds.kill)
        _assert_gone(rds, pid)
        _timed("start", rds.start)
        pid = rds.pid
        client.close()
    _assert_gone(rds, pid)

    with RedisServer(base, appendonly=True) as rds:
        client = redis.Redis.from_url(rds.url(3))
        client.set("k", "v")
        _timed("restart(kill=True), appendonly", lambda: rds.restart(kill=True))
        assert client.get("k") == b"v"
        _timed("restart (graceful), appendonly", rds.restart)
        assert client.get("k") == b"v"
        client.close()
        pid = rds.pid
    _assert_gone(rds, pid)

    # the port picked at construction got taken before the first start: start() picks another
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        rds = RedisServer(base)
        rds.port = squatter.getsockname()[1]
        with rds:
            assert rds.port != squatter.getsockname()[1]
            redis.Redis.from_url(rds.url()).ping()
            pid = rds.pid
        _assert_gone(rds, pid)

    # a start that fails leaves nothing behind
    broken = RedisServer(base)
    broken._command = lambda: [str(broken._binary), "--port", str(broken.port), "--no-such-option", "x"]  # type: ignore[method-assign]
    try:
        broken.start()
    except RuntimeError as exc:
        assert "no-such-option" in str(exc) or "Bad directive" in str(exc), exc
    else:
        raise AssertionError("start() should have failed")
    assert not broken.running and not _processes_in(broken.data_dir)


def _self_check() -> None:
    with tempfile.TemporaryDirectory(prefix="servers-selfcheck-") as tmp:
        base = Path(tmp)
        began = time.perf_counter()
        with PostgresServer(base) as pg:
            print(f"PostgreSQL first start (initdb + start): {(time.perf_counter() - began) * 1000:.0f} ms")
            pid = pg.pid
        _assert_gone(pg, pid)
        _postgres_self_check(base)
        _redis_self_check(base)
    print("OK")


if __name__ == "__main__":
    _self_check()
