"""Engine construction for the two supported databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An engine for PostgreSQL (asyncpg) or SQLite (aiosqlite).

    PostgreSQL gets `pool_pre_ping`, so the first query after a server restart does not fail.
    SQLite gets a single pooled connection: it has one writer anyway, and one connection
    makes every unit of work strictly serial, so there is no "database is locked" to handle.
    """
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return engine


def asyncpg_dsn(url: str) -> str:
    """The plain libpq-style DSN asyncpg takes, from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
