"""Copying haul's database to another one and verifying the copy (`haul-admin copy-db`).

The move the design promises (DESIGN §8): from the embedded SQLite to PostgreSQL, and back to
roll back. Steps, in order:

1. The source must be a haul database at the newest schema, and (unless forced) have no
   running job: a worker holds a running job and would go on reporting to the old store.
   Stop jobstore and the workers first; queued and paused jobs copy fine.
2. The target is migrated (`alembic upgrade head`), so an empty database is fine.
3. Every table is upserted by primary key in one target transaction; identical rows are not
   written, so a second run changes nothing. Explicit event ids are kept, and PostgreSQL's id
   sequence is moved past them. Pruning first removes target rows the source lacks.
4. Both sides are read again and compared: row counts and a SHA-256 over every column of
   every row. The report says whether they match.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from haulctl.errors import EXIT_USAGE, CliError
from haulctl.tablecopy import (
    TABLES,
    TableCopy,
    TableSum,
    copy_table,
    delete_keys,
    extra_keys,
    reset_sequences,
    table_sum,
)
from jobstore.adapters.db import create_engine
from jobstore.adapters.tables import jobs
from jobstore.domain.model import JobStatus

ROOT = Path(__file__).resolve().parent.parent
# A checkout has it beside the packages; an installed haul (the container image) names it.
ALEMBIC_INI = Path(os.environ.get("HAUL_ALEMBIC_CONFIG") or ROOT / "alembic.ini")
# A worker holds a job only while it runs; its reports would go on reaching the old store.
ACTIVE_STATUSES = (JobStatus.RUNNING,)


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    if not ALEMBIC_INI.is_file():
        raise CliError(f"the migrations are not at {ALEMBIC_INI}: run haul-admin from a haul checkout")
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = url  # migrations/env.py takes it from here
    config.attributes["configure_logger"] = False
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head is not None, "the migrations have no head"
    return head


def migrate_to_head(url: str) -> None:
    """`alembic upgrade head` on `url`. Blocking: migrations/env.py runs its own event loop."""
    from alembic import command

    command.upgrade(_alembic_config(url), "head")


async def schema_revision(conn: AsyncConnection) -> str | None:
    names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    if "alembic_version" not in names or not {t.name for t in TABLES} <= set(names):
        return None
    return (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()


async def running_jobs(conn: AsyncConnection) -> int:
    query = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status.in_(ACTIVE_STATUSES))
    return int((await conn.execute(query)).scalar_one())


async def snapshot(engine: AsyncEngine) -> AsyncConnection:
    """A connection that reads one consistent state of the database."""
    conn = await engine.connect()
    if engine.dialect.name == "postgresql":
        await conn.execution_options(isolation_level="REPEATABLE READ")
        await conn.begin()
        await conn.execute(sa.text("SET TRANSACTION READ ONLY"))
    return conn


@dataclass
class TableReport:
    copy: TableCopy = field(default_factory=TableCopy)
    source: TableSum | None = None
    target: TableSum | None = None

    @property
    def match(self) -> bool:
        return self.source is not None and self.source == self.target


@dataclass
class CopyReport:
    source: str
    target: str
    revision: str
    running_jobs: int = 0
    forced: bool = False
    copied: bool = True
    tables: dict[str, TableReport] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return all(t.match for t in self.tables.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "source": redacted(self.source),
            "target": redacted(self.target),
            "schemaRevision": self.revision,
            "runningJobs": self.running_jobs,
            "forced": self.forced,
            "copied": self.copied,
            "tables": {
                name: {
                    **({"copy": vars(t.copy)} if self.copied else {}),
                    "source": t.source.as_json() if t.source else None,
                    "target": t.target.as_json() if t.target else None,
                    "match": t.match,
                }
                for name, t in self.tables.items()
            },
            "verified": self.verified,
        }

    def text(self) -> str:
        lines = [f"source      {redacted(self.source)}", f"target      {redacted(self.target)}"]
        lines.append(f"schema      {self.revision}")
        if self.running_jobs:
            lines.append(
                f"warning     the source has {self.running_jobs} running job(s); copied anyway (--force)"
            )
        for name, t in self.tables.items():
            if self.copied:
                c = t.copy
                line = f"{name:11} {c.inserted} inserted, {c.updated} updated, {c.unchanged} unchanged"
                if c.pruned:
                    line += f", {c.pruned} pruned"
                if c.extra:
                    line += f"; {c.extra} only in the target (--prune removes them)"
                lines.append(line)
        for name, t in self.tables.items():
            sides = [f"{s.rows} rows, sha256 {s.sha256[:16]}" if s else "-" for s in (t.source, t.target)]
            lines.append(
                f"verify      {name:11} {sides[0]}  |  {sides[1]}  {'match' if t.match else 'MISMATCH'}"
            )
        lines.append(
            "verified: every table of the target matches the source, row for row"
            if self.verified
            else "NOT verified: the databases differ"
        )
        return "\n".join(lines)


def check_urls(source: str, target: str) -> None:
    try:
        urls = [make_url(source), make_url(target)]
    except ArgumentError as exc:
        raise CliError(f"not a database URL: {exc}", "usage", EXIT_USAGE) from None
    for url in urls:
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise CliError(
                f"{redacted(str(url))}: only sqlite+aiosqlite and postgresql+asyncpg are supported"
            )
    if urls[0].get_backend_name() == "sqlite":
        path = urls[0].database
        if not path or path == ":memory:" or not Path(path).is_file():
            raise CliError(f"the source database file {path!r} does not exist")
    same_file = all(u.get_backend_name() == "sqlite" for u in urls) and (
        Path(urls[0].database or "").resolve() == Path(urls[1].database or "").resolve()
    )
    if same_file or urls[0].set(drivername="x") == urls[1].set(drivername="x"):
        raise CliError("--from and --to name the same database")


async def copy_db(source: str, target: str, *, force: bool, prune: bool, verify_only: bool) -> CopyReport:
    """Copy (unless `verify_only`) and verify; raises CliError when it must not go ahead."""
    check_urls(source, target)
    head = await asyncio.to_thread(head_revision)
    report = CopyReport(source, target, head, copied=not verify_only)
    source_engine = create_engine(source, pool_size=2)
    target_engine: AsyncEngine | None = None
    try:
        async with source_engine.connect() as conn:
            revision = await schema_revision(conn)
            report.running_jobs = await running_jobs(conn) if revision else 0
        if revision != head:
            found = "has no haul tables" if revision is None else f"is at schema {revision}"
            raise CliError(f"the source {found}, not {head}: migrate it first (make migrate)")
        if report.running_jobs and not (force or verify_only):
            raise CliError(
                f"the source has {report.running_jobs} running job(s): stop jobstore and the workers"
                " (or wait for the jobs to finish), or pass --force"
            )
        report.forced = force and report.running_jobs > 0
        if not verify_only:
            await asyncio.to_thread(migrate_to_head, target)
        target_engine = create_engine(target, pool_size=2)
        if not verify_only:
            await _copy(source_engine, target_engine, report, prune)
        await _verify(source_engine, target_engine, report)
    finally:
        await source_engine.dispose()
        if target_engine is not None:
            await target_engine.dispose()
    return report


async def _copy(
    source_engine: AsyncEngine, target_engine: AsyncEngine, report: CopyReport, prune: bool
) -> None:
    source = await snapshot(source_engine)
    try:
        async with target_engine.begin() as target:
            if (await schema_revision(target)) != report.revision:
                raise CliError("the target is not at the newest schema after migrating it")
            for table in reversed(TABLES):  # children first, so pruning never orphans a row
                report.tables[table.name] = TableReport()
                extra = await extra_keys(source, target, table)
                if prune:
                    await delete_keys(target, table, extra)
                    report.tables[table.name].copy.pruned = len(extra)
                else:
                    report.tables[table.name].copy.extra = len(extra)
            report.tables = {t.name: report.tables[t.name] for t in TABLES}
            for table in TABLES:
                await copy_table(source, target, table, report.tables[table.name].copy)
            await reset_sequences(target)
    finally:
        await source.close()


async def _verify(source_engine: AsyncEngine, target_engine: AsyncEngine, report: CopyReport) -> None:
    source, target = await snapshot(source_engine), await snapshot(target_engine)
    try:
        for table in TABLES:
            entry = report.tables.setdefault(table.name, TableReport())
            entry.source = await table_sum(source, table)
            entry.target = await table_sum(target, table) if await schema_revision(target) else None
    finally:
        await source.close()
        await target.close()
