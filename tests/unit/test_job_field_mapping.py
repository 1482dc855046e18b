"""A job's fields are copied by name between the domain, its table row, the gRPC message and the
REST shape; these prove each copy covers every field and keeps the conversions it needs."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from haul.contract import from_proto
from haul.jobstore.v1 import jobstore_pb2 as pb
from jobstore.adapters.repository import job_to_row, row_to_job
from jobstore.adapters.tables import jobs
from jobstore.domain.model import Job, JobStatus
from jobstore.domain.values import AudioFormat, JobMeta, JobOptions, JobStage, JobType, VideoContainer
from jobstore.grpcapi.convert import job_to_pb

NOW = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)


def completed_job() -> Job:
    """A job with no field left at its default."""
    job = Job.create(
        "https://media.example/clip.mp4",
        JobType.AUDIO,
        JobOptions(720, AudioFormat.OPUS, VideoContainer.MKV),
        5,
        NOW,
        idempotency_key="key",
        request_fingerprint="f" * 64,
    )
    return dataclasses.replace(
        job,
        status=JobStatus.COMPLETED,
        stage=JobStage.DONE,
        progress=100.0,
        downloaded_bytes=2048,
        total_bytes=4096,
        speed=10.5,
        eta=1.5,
        filename="clip.opus",
        output_path=f"{job.id}/clip.opus",
        size=4096,
        sha256="a" * 64,
        error_code="STALLED",
        error_message="no sign of life",
        meta=JobMeta("Clip", 12.5, "generic", ".thumbnail.jpg"),
        attempt=3,
        attempt_base=2,
        progress_seq=7,
        worker_id="worker-1",
        heartbeat_at=NOW + timedelta(seconds=1),
        updated_at=NOW + timedelta(seconds=2),
        started_at=NOW + timedelta(seconds=3),
        finished_at=NOW + timedelta(seconds=4),
    )


def test_every_column_is_a_job_field_and_every_message_field_too() -> None:
    fields = {f.name for f in dataclasses.fields(Job)}
    assert set(jobs.c.keys()) <= fields
    assert {f.name for f in pb.Job.DESCRIPTOR.fields} <= fields


def test_a_row_stores_enums_and_documents_as_plain_values() -> None:
    row = job_to_row(completed_job())
    assert set(row) == set(jobs.c.keys())
    assert (row["type"], row["status"], row["stage"]) == ("audio", "completed", "done")
    assert type(row["status"]) is str
    assert row["options"] == {"max_height": 720, "audio_format": "opus", "video_container": "mkv"}
    assert row["meta"]["title"] == "Clip"


def test_a_job_comes_back_from_its_row_whole_with_naive_times_read_as_utc() -> None:
    job = completed_job()
    naive = {k: v.replace(tzinfo=None) if isinstance(v, datetime) else v for k, v in job_to_row(job).items()}
    assert row_to_job(naive) == job
    assert row_to_job(job_to_row(job)) == job


def test_rest_shows_what_the_domain_job_holds() -> None:
    job = completed_job()
    shown = from_proto.job(job_to_pb(job)).wire()
    assert shown["id"] == str(job.id)
    assert (shown["type"], shown["status"], shown["stage"]) == ("audio", "completed", "done")
    assert shown["options"] == {"maxHeight": 720, "audioFormat": "opus", "videoContainer": "mkv"}
    assert (shown["totalBytes"], shown["speed"], shown["eta"], shown["size"]) == (4096, 10.5, 1.5, 4096)
    assert (shown["errorCode"], shown["sha256"], shown["attempt"]) == ("STALLED", "a" * 64, 3)
    assert shown["finishedAt"] == "2025-01-31T12:00:04.000Z"
    assert shown["meta"]["duration"] == 12.5


def test_rest_shows_unknown_and_empty_values_as_null_but_a_known_zero_as_zero() -> None:
    job = dataclasses.replace(
        completed_job(),
        status=JobStatus.RUNNING,
        options=JobOptions(),
        total_bytes=0,
        speed=None,
        eta=None,
        filename="",
        sha256="",
        meta=JobMeta(),
        finished_at=None,
    )
    shown = from_proto.job(job_to_pb(job)).wire()
    assert shown["options"] == {"maxHeight": None, "audioFormat": None, "videoContainer": None}
    assert (shown["totalBytes"], shown["speed"], shown["eta"]) == (0, None, None)
    assert (shown["filename"], shown["sha256"], shown["size"], shown["finishedAt"]) == (
        None,
        None,
        None,
        None,
    )
    assert shown["meta"] == {"title": None, "duration": None, "extractor": None, "thumbnail": None}
