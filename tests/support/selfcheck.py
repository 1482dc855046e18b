"""Self-check of the test servers: ``python -m tests.support.servers`` (or ``-m tests.support.selfcheck``).

Starts, restarts, kills and stops real PostgreSQL and Redis servers and prints timings, then ``OK``.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import redis

from tests.support.postgres import PostgresServer, run_coro
from tests.support.process import processes_in
from tests.support.redis_server import RedisServer


def _timed(label: str, action: Callable[[], None]) -> float:
    began = time.perf_counter()
    action()
    elapsed = time.perf_counter() - began
    print(f"  {label:<38} {elapsed * 1000:8.0f} ms")
    return elapsed


def _assert_gone(server: PostgresServer | RedisServer, pid: int | None) -> None:
    assert pid is not None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid
    assert not processes_in(server.data_dir), processes_in(server.data_dir)


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
            row["n"] for row in run_coro(lambda: query(pg.dsn("selfcheck"), "SELECT n FROM t ORDER BY n"))
        ]

    def insert(pg: PostgresServer, n: int) -> None:
        run_coro(lambda: query(pg.dsn("selfcheck"), "INSERT INTO t VALUES ($1)", n))

    with PostgresServer(base) as pg:
        print(f"  {pg!r}  data={pg.data_dir}")
        pg.stop()
        pg.kill()  # no-op when stopped
        _timed("start (initdb already done)", pg.start)
        _timed("create_database", lambda: pg.create_database("selfcheck"))
        run_coro(lambda: query(pg.dsn("selfcheck"), "CREATE TABLE t (n int)"))
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
    assert not broken.running and not processes_in(broken.data_dir)


def main() -> None:
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
    main()
