"""Migrations upgrade and downgrade cleanly on both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobstore.adapters.db import create_engine
from tests.conftest import downgrade, migrate
from tests.support.servers import PostgresServer


def tables(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = f"m_{tmp_path.name[-20:].replace('-', '_').lower()}"
    server.create_database(name)
    return server.url(name)


def test_migrations_upgrade_downgrade_and_upgrade_again(empty_database: str) -> None:
    migrate(empty_database)
    assert {"jobs", "job_events", "alembic_version"} <= tables(empty_database)
    downgrade(empty_database)
    assert tables(empty_database) <= {"alembic_version"}
    migrate(empty_database)
    assert {"jobs", "job_events"} <= tables(empty_database)
