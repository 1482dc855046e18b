"""Migration 0004 (collections) upgrades and downgrades on both databases, keeping the jobs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from jobstore.adapters.db import create_engine
from jobstore.adapters.repository import job_to_row
from jobstore.adapters.tables import jobs
from jobstore.domain.model import Job
from jobstore.domain.values import JobOptions, JobType
from tests.integration.test_migrations import empty_database as empty_database
from tests.integration.test_migrations import execute, indexes, inspect
from tests.support.databases import downgrade, migrate

COLLECTION_COLUMNS = {"parent_id", "entry_index", "entry_key", "collection"}


def columns(url: str) -> set[str]:
    return {c["name"] for c in inspect(url, lambda i: i.get_columns("jobs"))}


def in_one_transaction(url: str, statements: list[Any]) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.execute(statement)
        finally:
            await engine.dispose()

    asyncio.run(run())


def job_row(at_columns: set[str], **fields: object) -> dict[str, object]:
    row = job_to_row(Job.create("https://a.example/x", JobType.AUTO, JobOptions(), 3, datetime.now(UTC)))
    row.update(fields)
    return {k: v for k, v in row.items() if k in at_columns}


def test_0004_adds_the_collection_columns_and_keys_children_by_parent_and_entry(empty_database: str) -> None:
    migrate(empty_database, "0003")
    before = columns(empty_database)
    assert not COLLECTION_COLUMNS & before
    single = job_row(before)
    execute(empty_database, jobs.insert().values(single))

    migrate(empty_database, "0004")
    assert columns(empty_database) >= COLLECTION_COLUMNS
    assert {"uq_jobs_parent_entry_key", "ix_jobs_parent_entry", "ix_jobs_parent_created"} <= indexes(
        empty_database, "jobs"
    )
    stored = execute(empty_database, sa.select(jobs.c.entry_index).where(jobs.c.id == single["id"]))
    assert stored == 0, "a job from before is a top-level one"
    parent = job_row(columns(empty_database), collection={"title": "Feed", "total": 1})
    execute(empty_database, jobs.insert().values(parent))
    child = job_row(columns(empty_database), parent_id=parent["id"], entry_index=1, entry_key="a")
    execute(empty_database, jobs.insert().values(child))
    with pytest.raises(IntegrityError):
        execute(empty_database, jobs.insert().values({**child, "id": uuid.uuid4()}))
    if empty_database.startswith("postgresql"):
        with pytest.raises(IntegrityError):  # the parent must exist
            execute(
                empty_database, jobs.insert().values({**child, "id": uuid.uuid4(), "parent_id": uuid.uuid4()})
            )
        # ... by the end of the transaction: a copy may write a child before its parent.
        later = job_row(columns(empty_database))
        early = job_row(columns(empty_database), parent_id=later["id"], entry_index=1, entry_key="b")
        in_one_transaction(empty_database, [jobs.insert().values(early), jobs.insert().values(later)])

    downgrade(empty_database, "0003")
    assert not COLLECTION_COLUMNS & columns(empty_database)
    assert "uq_jobs_parent_entry_key" not in indexes(empty_database, "jobs")
    remaining = execute(empty_database, sa.select(sa.func.count()).select_from(sa.table("jobs")))
    assert remaining == (3 if empty_database.startswith("postgresql") else 2), (
        "the children go, the top-level jobs (the parent included) stay"
    )
    migrate(empty_database)
    assert columns(empty_database) >= COLLECTION_COLUMNS
