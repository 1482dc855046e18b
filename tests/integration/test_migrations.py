"""Migrations upgrade and downgrade cleanly on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from jobstore.adapters.db import create_engine
from jobstore.adapters.repository import job_to_row
from jobstore.adapters.tables import daily_stats, jobs
from jobstore.domain.model import Job
from jobstore.domain.values import JobOptions, JobType
from tests.support.databases import downgrade, migrate
from tests.support.servers import PostgresServer

T = TypeVar("T")

# The daily figures' table under its name from 0002 to 0003.
metrics_0002 = daily_stats.to_metadata(sa.MetaData(), name="metrics")


def inspect(url: str, look: Callable[[sa.Inspector], T]) -> T:
    async def read() -> T:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda c: look(sa.inspect(c)))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def tables(url: str) -> set[str]:
    return set(inspect(url, lambda i: i.get_table_names()))


def indexes(url: str, table: str) -> set[str]:
    return {str(index["name"]) for index in inspect(url, lambda i: i.get_indexes(table))}


def execute(url: str, statement: Any) -> Any:
    async def run() -> Any:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(statement)
                return result.scalar() if result.returns_rows else None
        finally:
            await engine.dispose()

    return asyncio.run(run())


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
    assert {"jobs", "job_events", "daily_stats", "alembic_version"} <= tables(empty_database)
    downgrade(empty_database)
    assert tables(empty_database) <= {"alembic_version"}
    migrate(empty_database)
    assert {"jobs", "job_events", "daily_stats"} <= tables(empty_database)


def test_0002_adds_the_metrics_table_and_its_indexes_and_downgrades_keeping_the_jobs(
    empty_database: str,
) -> None:
    migrate(empty_database, "0001")
    now = datetime.now(UTC)
    # Today's job, in the columns 0001 has (a column added since is not there yet).
    at_0001 = set(inspect(empty_database, lambda i: [c["name"] for c in i.get_columns("jobs")]))
    row = job_to_row(Job.create("https://a.example/x", JobType.AUTO, JobOptions(), 3, now))
    execute(empty_database, jobs.insert().values({k: v for k, v in row.items() if k in at_0001}))
    assert "metrics" not in tables(empty_database)

    migrate(empty_database, "0002")
    columns = inspect(empty_database, lambda i: [c["name"] for c in i.get_columns("metrics")])
    assert columns == [c.name for c in metrics_0002.columns]
    assert "ix_jobs_status_finished" in indexes(empty_database, "jobs")
    assert "ix_job_events_to_status_at" in indexes(empty_database, "job_events")
    day = {
        "day": now.date(),
        "completed": 1,
        "failed": 0,
        "cancelled": 0,
        "bytes_downloaded": 5,
        "retries": 0,
    }
    execute(empty_database, metrics_0002.insert().values(**day, computed_at=now))

    downgrade(empty_database, "0001")
    assert "metrics" not in tables(empty_database)
    assert "ix_jobs_status_finished" not in indexes(empty_database, "jobs")
    assert "ix_job_events_to_status_at" not in indexes(empty_database, "job_events")
    assert execute(empty_database, sa.select(sa.func.count()).select_from(jobs)) == 1

    migrate(empty_database)
    assert execute(empty_database, sa.select(sa.func.count()).select_from(daily_stats)) == 0


def test_0003_renames_metrics_to_daily_stats_keeping_the_rows_and_downgrades_back(
    empty_database: str,
) -> None:
    migrate(empty_database, "0002")
    now = datetime.now(UTC)
    day = {"day": now.date(), "completed": 2, "failed": 1, "cancelled": 0, "bytes_downloaded": 7}
    execute(empty_database, metrics_0002.insert().values(**day, retries=3, computed_at=now))

    migrate(empty_database, "0003")
    assert "daily_stats" in tables(empty_database) and "metrics" not in tables(empty_database)
    columns = inspect(empty_database, lambda i: [c["name"] for c in i.get_columns("daily_stats")])
    assert columns == [c.name for c in daily_stats.columns]
    key = inspect(empty_database, lambda i: i.get_pk_constraint("daily_stats"))
    assert key["constrained_columns"] == ["day"]
    if empty_database.startswith("postgresql"):
        assert key["name"] == "daily_stats_pkey"
    assert execute(empty_database, sa.select(daily_stats.c.retries)) == 3

    downgrade(empty_database, "0002")
    assert "metrics" in tables(empty_database) and "daily_stats" not in tables(empty_database)
    assert execute(empty_database, sa.select(metrics_0002.c.retries)) == 3
    downgrade(empty_database, "0001")
    assert "metrics" not in tables(empty_database)
