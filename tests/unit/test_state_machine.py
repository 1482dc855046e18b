"""The job state machine of DESIGN §2, every allowed and refused transition."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from jobstore.domain.errors import InvalidTransition
from jobstore.domain.model import CONTROL_SOURCES, ControlAction, Job, JobStatus, Refusal
from jobstore.domain.values import FileResult, JobOptions, JobStage, JobType, ProgressReport

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RESULT = FileResult("a.mp4", "id/a.mp4", 10, "0" * 64)


def new_job(max_attempts: int = 3) -> Job:
    return Job.create("https://example.com/v", JobType.AUTO, JobOptions(), max_attempts, T0)


def job_in(status: JobStatus) -> Job:
    job = new_job()
    if status is JobStatus.QUEUED:
        return job
    if status is JobStatus.PAUSED:
        job.control(ControlAction.PAUSE, T0, "api")
        return job
    if status is JobStatus.CANCELLED:
        job.control(ControlAction.CANCEL, T0, "api")
        return job
    assert job.claim("w", T0) is None
    if status is JobStatus.COMPLETED:
        assert job.complete(1, RESULT, T0) is None
    elif status is JobStatus.FAILED:
        assert job.fail(1, "HTTP_ERROR", "404", retryable=False, now=T0) is None
    assert job.status is status
    return job


def report(job: Job, seq: int, progress: float = 10.0, attempt: int | None = None) -> ProgressReport:
    return ProgressReport(
        job.id, job.attempt if attempt is None else attempt, seq, JobStage.DOWNLOADING, progress, 100
    )


@pytest.mark.parametrize("action", list(ControlAction))
@pytest.mark.parametrize("status", list(JobStatus))
def test_control_actions_follow_the_transition_table(action: ControlAction, status: JobStatus) -> None:
    job = job_in(status)
    expected = {
        ControlAction.CANCEL: JobStatus.CANCELLED,
        ControlAction.PAUSE: JobStatus.PAUSED,
        ControlAction.RESUME: JobStatus.QUEUED,
        ControlAction.RETRY: JobStatus.QUEUED,
    }[action]
    if status in CONTROL_SOURCES[action]:
        job.control(action, T0, "api")
        assert job.status is expected
        assert job.new_events[-1].from_status is status and job.new_events[-1].to_status is expected
    else:
        events_before = list(job.new_events)
        with pytest.raises(InvalidTransition):
            job.control(action, T0, "api")
        assert job.status is status and job.new_events == events_before


def test_claim_moves_queued_to_running_and_raises_the_attempt() -> None:
    job = new_job()
    assert job.claim("w1", T0) is None
    assert (job.status, job.attempt, job.worker_id, job.stage) == (
        JobStatus.RUNNING, 1, "w1", JobStage.RESOLVING,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        (JobStatus.RUNNING, Refusal.ALREADY_CLAIMED),
        (JobStatus.PAUSED, Refusal.JOB_NOT_RUNNING),
        (JobStatus.COMPLETED, Refusal.JOB_FINISHED),
        (JobStatus.FAILED, Refusal.JOB_FINISHED),
        (JobStatus.CANCELLED, Refusal.JOB_FINISHED),
    ],
)
def test_claim_is_refused_unless_queued(status: JobStatus, refusal: Refusal) -> None:
    job = job_in(status)
    attempt = job.attempt
    assert job.claim("w2", T0) is refusal
    assert job.status is status and job.attempt == attempt


def test_reports_of_an_old_attempt_are_refused() -> None:
    job = job_in(JobStatus.RUNNING)
    job.control(ControlAction.PAUSE, T0, "api")
    job.control(ControlAction.RESUME, T0, "api")
    assert job.claim("w2", T0) is None and job.attempt == 2
    assert job.apply_progress(report(job, 1, attempt=1), T0) is Refusal.STALE_ATTEMPT
    assert job.complete(1, RESULT, T0) is Refusal.STALE_ATTEMPT
    assert job.fail(1, "X", "y", False, T0) is Refusal.STALE_ATTEMPT
    assert job.status is JobStatus.RUNNING


@pytest.mark.parametrize("status", [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_reports_for_a_terminal_job_are_refused(status: JobStatus) -> None:
    job = job_in(status)
    attempt = job.attempt
    assert job.apply_progress(report(job, 99), T0) is Refusal.JOB_FINISHED
    if status is not JobStatus.COMPLETED:
        assert job.complete(attempt, RESULT, T0) is Refusal.JOB_FINISHED
    assert job.status is status


def test_progress_with_a_lower_or_equal_seq_is_ignored() -> None:
    job = job_in(JobStatus.RUNNING)
    assert job.apply_progress(report(job, 5, 50.0), T0) is None
    assert job.apply_progress(report(job, 4, 60.0), T0) is Refusal.STALE_SEQ
    assert job.apply_progress(report(job, 5, 60.0), T0) is Refusal.STALE_SEQ
    assert (job.progress, job.progress_seq) == (50.0, 5)


def test_progress_never_goes_backwards_within_an_attempt() -> None:
    job = job_in(JobStatus.RUNNING)
    assert job.apply_progress(report(job, 1, 70.0), T0) is None
    assert job.apply_progress(report(job, 2, 20.0), T0) is None
    assert job.progress == 70.0


def test_progress_refreshes_the_heartbeat() -> None:
    job = job_in(JobStatus.RUNNING)
    later = T0 + timedelta(seconds=30)
    job.apply_progress(report(job, 1), later)
    assert job.heartbeat_at == later


def test_retryable_failure_requeues_while_attempts_remain_then_fails() -> None:
    job = new_job(max_attempts=2)
    job.claim("w", T0)
    job.fail(1, "HTTP_ERROR", "503", retryable=True, now=T0)
    assert job.status is JobStatus.QUEUED and job.error_code == "HTTP_ERROR"
    job.claim("w", T0)
    job.fail(2, "HTTP_ERROR", "503", retryable=True, now=T0)
    assert job.status is JobStatus.FAILED and job.finished_at == T0


def test_stall_requeues_then_fails_with_stalled_code() -> None:
    job = new_job(max_attempts=2)
    for _ in range(2):
        job.claim("w", T0)
        job.stall(T0, 60)
    assert job.status is JobStatus.FAILED and job.error_code == "STALLED"


def test_an_interrupted_attempt_is_queued_again_without_counting_and_keeps_its_progress() -> None:
    job = new_job(max_attempts=2)
    job.claim("w", T0)
    assert job.apply_progress(report(job, 1, progress=40.0), T0) is None
    job.interrupted(T0, "startup", "restarted")
    assert job.status is JobStatus.QUEUED and job.attempts_left == 2 and job.progress == 40.0
    job.claim("w", T0)
    assert job.attempt == 2, "the fencing token still rises"
    job.stall(T0, 60)
    job.claim("w", T0)
    job.stall(T0, 60)
    assert job.status is JobStatus.FAILED, "real failures still count"


def test_retry_opens_a_fresh_window_but_the_fencing_token_keeps_rising() -> None:
    job = new_job(max_attempts=1)
    job.claim("w", T0)
    job.fail(1, "HTTP_ERROR", "500", retryable=True, now=T0)
    assert job.status is JobStatus.FAILED
    job.control(ControlAction.RETRY, T0, "api")
    assert job.status is JobStatus.QUEUED and job.attempts_left == 1 and job.error_code == ""
    job.claim("w", T0)
    assert job.attempt == 2


def test_completion_resent_after_a_lost_ack_is_accepted_again() -> None:
    job = job_in(JobStatus.COMPLETED)
    events = len(job.new_events)
    assert job.complete(1, RESULT, T0) is None
    assert len(job.new_events) == events


@pytest.mark.parametrize(
    ("downloaded", "total"), [(0, None), (4, 20)], ids=["finishing-step-without-bytes", "converted-file"]
)
def test_a_completed_job_counts_the_bytes_of_its_file(downloaded: int, total: int | None) -> None:
    job = job_in(JobStatus.RUNNING)
    last = ProgressReport(job.id, 1, 1, JobStage.FINALIZING, 100.0, downloaded, total)
    assert job.apply_progress(last, T0) is None
    assert job.complete(1, RESULT, T0) is None
    assert (job.downloaded_bytes, job.total_bytes, job.size) == (RESULT.size, RESULT.size, RESULT.size)


def test_history_records_who_moved_the_job() -> None:
    job = job_in(JobStatus.COMPLETED)
    assert [(e.from_status, e.to_status, e.actor) for e in job.new_events] == [
        (None, JobStatus.QUEUED, "api"),
        (JobStatus.QUEUED, JobStatus.RUNNING, "worker:w"),
        (JobStatus.RUNNING, JobStatus.COMPLETED, "worker:w"),
    ]


def test_ids_are_random_uuids() -> None:
    assert isinstance(new_job().id, uuid.UUID) and new_job().id != new_job().id
