"""Private, throwaway PostgreSQL and Redis servers for tests.

Each server object owns one server process on a free loopback port and can be stopped gracefully,
killed with SIGKILL and restarted; the port and the data directory stay the same across restarts::

    with PostgresServer(tmp_path) as pg, RedisServer(tmp_path) as rds:
        pg.create_database("jobs")
        engine = create_async_engine(pg.url("jobs"))
        pg.restart(kill=True)          # SIGKILL the postmaster and its children, then start again
        client = redis.Redis.from_url(rds.url())

This module only re-exports; the code lives in ``tests.support.process`` (``free_port()`` and the shared
lifecycle), ``tests.support.postgres`` and ``tests.support.redis_server``, each with its own notes.
Self-check (``tests.support.selfcheck``): ``python -m tests.support.servers``.
"""

from __future__ import annotations

from tests.support.postgres import PostgresServer
from tests.support.process import free_port
from tests.support.redis_server import RedisServer

__all__ = ["PostgresServer", "RedisServer", "free_port"]

if __name__ == "__main__":
    from tests.support.selfcheck import main

    main()
