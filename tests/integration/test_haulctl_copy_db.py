"""`haul-admin copy-db`: SQLite → PostgreSQL → SQLite, exact, idempotent and verified."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from haulctl import admin
from haulctl.tablecopy import TABLES
from jobstore import service
from jobstore.adapters.changefeed import ChangeHub, LocalChangeFeed
from jobstore.adapters.db import create_engine
from jobstore.adapters.uow import SqlUnitOfWork
from jobstore.domain.model import ControlAction
from jobstore.domain.values import (
    AudioFormat,
    FileResult,
    JobMeta,
    JobOptions,
    JobStage,
    JobType,
    ProgressReport,
    VideoContainer,
)
from tests.support.databases import migrate
from tests.support.servers import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("haul-admin")
JSON_COLUMNS = {"options", "meta"}


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def unit_of_work(url: str) -> tuple[Any, SqlUnitOfWork]:
    engine = create_engine(url)
    return engine, SqlUnitOfWork(engine, LocalChangeFeed(ChangeHub()))


async def populate(url: str, with_running_job: bool, key: str) -> list[uuid.UUID]:
    """Jobs in every resting status, through the real service layer, so their history exists."""
    engine, uow = unit_of_work(url)

    async def create(url: str, kind: JobType, options: JobOptions, key: str | None = None) -> uuid.UUID:
        job, _ = await service.create_job(uow, service.CreateJob(url, kind, options, 3, key))
        return job.id

    try:
        done = await create(
            "https://m.example/a.mp4", JobType.VIDEO, JobOptions(720, None, VideoContainer.MKV)
        )
        await service.claim_job(uow, done, "worker-1")
        meta = JobMeta('Ünïcödé ✓ "quoted"', 4.004, "generic", "https://m.example/t.jpg")
        report = ProgressReport(
            done, 1, 1, JobStage.DOWNLOADING, 100 / 3, 2**40, 2**41, 1234.5678, 0.25, meta
        )
        await service.report_progress(uow, [report])
        await service.complete_job(uow, done, 1, FileResult("a.mkv", f"{done}/a.mkv", 2**40, "ab" * 32))

        failed = await create("https://m.example/b", JobType.AUDIO, JobOptions(0, AudioFormat.MP3), key)
        await service.control_job(uow, failed, ControlAction.PAUSE, "")
        await service.control_job(uow, failed, ControlAction.RESUME, "")
        await service.claim_job(uow, failed, "worker-2")
        await service.fail_job(uow, failed, 1, "HTTP_404", "not found", retryable=False)

        retried = await create("https://m.example/c", JobType.FILE, JobOptions())
        await service.control_job(uow, retried, ControlAction.CANCEL, "changed my mind")
        await service.control_job(uow, retried, ControlAction.RETRY, "")

        paused = await create("https://m.example/d", JobType.AUTO, JobOptions())
        await service.control_job(uow, paused, ControlAction.PAUSE, "")
        jobs = [done, failed, retried, paused]
        if with_running_job:
            running = await create("https://m.example/e", JobType.AUTO, JobOptions())
            await service.claim_job(uow, running, "worker-3")
            jobs.append(running)
        return jobs
    finally:
        await engine.dispose()


def populated_sqlite(path: Path, with_running_job: bool = False, key: str = "key-b") -> str:
    url = sqlite_url(path)
    migrate(url)
    asyncio.run(populate(url, with_running_job, key))
    return url


def copy_db(*argv: str, console: bool = False) -> tuple[int, Any, str]:
    """Run `haul-admin copy-db ... --json`: (exit code, the JSON it printed, stderr)."""
    if console:
        command = (
            [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "haulctl.admin"]
        )
        done = subprocess.run(
            [*command, "copy-db", *argv, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        return done.returncode, json.loads(done.stdout), done.stderr
    stdout, stderr = io.StringIO(), io.StringIO()
    code = admin.run(["copy-db", *argv, "--json"], stdout, stderr)
    return code, json.loads(stdout.getvalue()), stderr.getvalue()


def sums(report: dict[str, Any], side: str) -> dict[str, Any]:
    return {name: table[side] for name, table in report["tables"].items()}


def copied(report: dict[str, Any], table: str) -> tuple[int, int, int]:
    tally = report["tables"][table]["copy"]
    return tally["inserted"], tally["updated"], tally["unchanged"]


def sqlite_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    """Every row as SQLite stores it, JSON columns parsed (their key order is not a value)."""
    with sqlite3.connect(path) as conn:
        cursor = conn.execute(f"SELECT * FROM {table} ORDER BY 1")
        names = [d[0] for d in cursor.description]
        return [
            tuple(
                json.loads(v) if n in JSON_COLUMNS and v is not None else v
                for n, v in zip(names, row, strict=True)
            )
            for row in cursor
        ]


async def read_back(url: str) -> list[tuple[Any, ...]]:
    """Every job and its history as jobstore's service layer reads them (UTC-aware values)."""
    engine, uow = unit_of_work(url)
    try:
        page = await service.list_jobs(uow, [], 100, "")
        return [(job, (await service.get_job(uow, job.id, include_history=True))[1]) for job in page.jobs]
    finally:
        await engine.dispose()


def fresh_pg_database(pg_server: PostgresServer, tmp_path: Path) -> str:
    name = f"copy_{uuid.uuid4().hex[:12]}"
    pg_server.create_database(name)  # empty: copy-db migrates it
    return pg_server.url(name)


def test_sqlite_to_postgresql_and_back_is_exact_idempotent_and_verified(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    original = tmp_path / "original.db"
    source = populated_sqlite(original)
    postgres = fresh_pg_database(pg_server, tmp_path)

    code, first, _ = copy_db("--from", source, "--to", postgres, console=True)
    assert code == 0 and first["verified"], first
    assert copied(first, "jobs") == (4, 0, 0) and copied(first, "job_events")[1:] == (0, 0)
    events = first["tables"]["job_events"]["source"]["rows"]
    assert events == 3 + 5 + 3 + 2 and copied(first, "job_events")[0] == events
    assert sums(first, "source") == sums(first, "target")

    assert asyncio.run(read_back(postgres)) == asyncio.run(read_back(source)), "jobstore reads the same jobs"

    code, second, _ = copy_db("--from", source, "--to", postgres)
    assert code == 0 and second["verified"]
    assert copied(second, "jobs") == (0, 0, 4) and copied(second, "job_events") == (0, 0, events)
    assert sums(second, "target") == sums(first, "target"), "a second run changes nothing"

    back = tmp_path / "back.db"
    code, returned, _ = copy_db("--from", postgres, "--to", sqlite_url(back))
    assert code == 0 and returned["verified"]
    assert sums(returned, "target") == sums(first, "source"), "the same checksums on all three databases"
    for table in [*(t.name for t in TABLES), "alembic_version"]:
        assert sqlite_rows(back, table) == sqlite_rows(original, table), (
            f"{table} differs after the round trip"
        )

    # PostgreSQL's id sequence was moved past the copied events: new history gets new ids.
    async def retry_the_failed_job() -> int:
        engine, uow = unit_of_work(postgres)
        try:
            page = await service.list_jobs(uow, [], 10, "")
            failed = next(j for j in page.jobs if j.status.value == "failed")
            await service.control_job(uow, failed.id, ControlAction.RETRY, "")
            _, history = await service.get_job(uow, failed.id, include_history=True)
            return len(history)
        finally:
            await engine.dispose()

    assert asyncio.run(retry_the_failed_job()) > 0
    code, rollback, _ = copy_db("--from", postgres, "--to", sqlite_url(back))
    assert code == 0 and rollback["verified"]
    assert copied(rollback, "jobs") == (0, 1, 3) and copied(rollback, "job_events") == (1, 0, events)


def test_running_jobs_stop_the_copy_unless_forced(tmp_path: Path) -> None:
    source = populated_sqlite(tmp_path / "busy.db", with_running_job=True)
    target = tmp_path / "target.db"
    code, refused, _ = copy_db("--from", source, "--to", sqlite_url(target))
    assert (
        code == 1
        and "1 running job" in refused["error"]["message"]
        and "--force" in refused["error"]["message"]
    )
    assert not target.exists(), "a refused copy touches nothing"

    code, forced, _ = copy_db("--from", source, "--to", sqlite_url(target), "--force")
    assert code == 0 and forced["verified"] and (forced["runningJobs"], forced["forced"]) == (1, True)
    assert copied(forced, "jobs") == (5, 0, 0)


def test_rows_only_in_the_target_fail_verification_until_pruned(tmp_path: Path) -> None:
    source = populated_sqlite(tmp_path / "source.db")
    target = populated_sqlite(tmp_path / "other.db", key="key-other")  # four other jobs
    code, report, _ = copy_db("--from", source, "--to", target)
    assert code == 1 and not report["verified"]
    assert report["tables"]["jobs"]["copy"]["extra"] == 4 and not report["tables"]["jobs"]["match"]

    code, pruned, _ = copy_db("--from", source, "--to", target, "--prune")
    assert code == 0 and pruned["verified"] and pruned["tables"]["jobs"]["copy"]["pruned"] == 4
    code, checked, _ = copy_db("--from", source, "--to", target, "--verify-only")
    assert code == 0 and checked["verified"] and not checked["copied"]

    clashing = populated_sqlite(tmp_path / "clash.db")  # another job under the same idempotency key
    code, report, _ = copy_db("--from", source, "--to", clashing)
    assert (
        code == 1
        and "idempotency_key" in report["error"]["message"]
        and "--prune" in report["error"]["message"]
    )
    assert copy_db("--from", source, "--to", clashing, "--prune")[0] == 0


def test_bad_sources_are_refused_in_words(tmp_path: Path) -> None:
    missing = sqlite_url(tmp_path / "missing.db")
    code, report, _ = copy_db("--from", missing, "--to", sqlite_url(tmp_path / "t.db"))
    assert code == 1 and "does not exist" in report["error"]["message"]
    source = populated_sqlite(tmp_path / "s.db")
    code, report, _ = copy_db("--from", source, "--to", source)
    assert code == 1 and "same database" in report["error"]["message"]
    code, report, _ = copy_db("--from", source, "--to", "postgresql+asyncpg://nobody@127.0.0.1:9/none")
    assert code == 3 and report["error"]["code"] == "unreachable"
