"""The service layer's use cases against an in-memory unit of work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from jobstore import service
from jobstore.domain.errors import IdempotencyConflict, InvalidInput, InvalidTransition, JobNotFound
from jobstore.domain.model import ControlAction, JobStatus, Refusal
from jobstore.domain.values import JobOptions, JobStage, JobType, ProgressReport
from tests.unit.fakes import FakeUnitOfWork

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def create(uow: FakeUnitOfWork, key: str | None = None, url: str = "https://e.com/a") -> uuid.UUID:
    cmd = service.CreateJob(url, JobType.AUTO, JobOptions(), 3, key)
    job, _ = _run(service.create_job(uow, cmd, now=lambda: T0))
    return job.id


def _run(coro):  # type: ignore[no-untyped-def]
    import asyncio

    return asyncio.run(coro)


def test_idempotency_key_replays_the_first_job() -> None:
    uow = FakeUnitOfWork()
    first = create(uow, key="k")
    assert create(uow, key="k") == first
    assert len(uow.jobs.rows) == 1


def test_idempotency_key_with_a_different_request_is_a_conflict() -> None:
    uow = FakeUnitOfWork()
    create(uow, key="k")
    with pytest.raises(IdempotencyConflict):
        create(uow, key="k", url="https://e.com/other")


def test_control_on_a_missing_job_is_not_found() -> None:
    with pytest.raises(JobNotFound):
        _run(service.control_job(FakeUnitOfWork(), uuid.uuid4(), ControlAction.CANCEL, ""))


def test_refused_control_changes_nothing() -> None:
    uow = FakeUnitOfWork()
    job_id = create(uow)
    with pytest.raises(InvalidTransition):
        _run(service.control_job(uow, job_id, ControlAction.RESUME, ""))
    assert uow.jobs.rows[job_id].status is JobStatus.QUEUED and uow.commits == 1


def test_a_progress_batch_is_one_write_with_one_outcome_per_update() -> None:
    uow = FakeUnitOfWork()
    ids = [create(uow) for _ in range(3)]
    for job_id in ids[:2]:
        _run(service.claim_job(uow, job_id, "w"))
    reports = [ProgressReport(i, 1, 1, JobStage.DOWNLOADING, 10.0, 5) for i in ids]
    reports.append(ProgressReport(ids[0], 1, 1, JobStage.DOWNLOADING, 20.0, 5))
    outcomes = _run(service.report_progress(uow, reports))
    assert [o.refusal for o in outcomes] == [None, None, Refusal.STALE_ATTEMPT, Refusal.STALE_SEQ]
    assert uow.jobs.progress_writes == 1


def test_reaper_requeues_only_jobs_with_an_expired_heartbeat() -> None:
    uow = FakeUnitOfWork()
    stale, fresh = create(uow), create(uow)
    _run(service.claim_job(uow, stale, "w", now=lambda: T0))
    _run(service.claim_job(uow, fresh, "w", now=lambda: T0 + timedelta(seconds=50)))
    reaped = _run(service.reap_stalled(uow, 60, now=lambda: T0 + timedelta(seconds=61)))
    assert [j.id for j in reaped] == [stale]
    assert uow.jobs.rows[stale].status is JobStatus.QUEUED
    assert uow.jobs.rows[fresh].status is JobStatus.RUNNING


def test_pages_walk_every_job_once_newest_first() -> None:
    uow = FakeUnitOfWork()
    ids = []
    for i in range(7):
        cmd = service.CreateJob("https://e.com/a", JobType.AUTO, JobOptions(), 3)
        job, _ = _run(service.create_job(uow, cmd, now=lambda i=i: T0 + timedelta(seconds=i)))
        ids.append(job.id)
    seen, token = [], ""
    for _ in range(10):
        page = _run(service.list_jobs(uow, [], 3, token))
        seen += [j.id for j in page.jobs]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(ids))


def test_a_forged_page_token_is_bad_input() -> None:
    with pytest.raises(InvalidInput):
        _run(service.list_jobs(FakeUnitOfWork(), [], 3, "!!not-a-token"))
