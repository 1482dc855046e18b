"""Conversions between protobuf messages and domain values, validating on the way in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from haul.jobstore.v1 import jobstore_pb2 as pb
from jobstore.domain import validation
from jobstore.domain.changes import ChangeKind, JobChange
from jobstore.domain.errors import InvalidInput
from jobstore.domain.model import ControlAction, Job, JobStatus, Refusal, StatusChange
from jobstore.domain.stats import DailyStats, StatsFigures
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

E = TypeVar("E", bound=Enum)

STATUS = {
    JobStatus.QUEUED: pb.JOB_STATUS_QUEUED,
    JobStatus.RUNNING: pb.JOB_STATUS_RUNNING,
    JobStatus.PAUSED: pb.JOB_STATUS_PAUSED,
    JobStatus.COMPLETED: pb.JOB_STATUS_COMPLETED,
    JobStatus.FAILED: pb.JOB_STATUS_FAILED,
    JobStatus.CANCELLED: pb.JOB_STATUS_CANCELLED,
}
STAGE = {
    JobStage.QUEUED: pb.JOB_STAGE_QUEUED,
    JobStage.RESOLVING: pb.JOB_STAGE_RESOLVING,
    JobStage.DOWNLOADING: pb.JOB_STAGE_DOWNLOADING,
    JobStage.MERGING: pb.JOB_STAGE_MERGING,
    JobStage.POSTPROCESSING: pb.JOB_STAGE_POSTPROCESSING,
    JobStage.FINALIZING: pb.JOB_STAGE_FINALIZING,
    JobStage.DONE: pb.JOB_STAGE_DONE,
}
TYPE = {
    JobType.AUTO: pb.JOB_TYPE_AUTO,
    JobType.VIDEO: pb.JOB_TYPE_VIDEO,
    JobType.AUDIO: pb.JOB_TYPE_AUDIO,
    JobType.FILE: pb.JOB_TYPE_FILE,
}
AUDIO = {
    AudioFormat.MP3: pb.AUDIO_FORMAT_MP3,
    AudioFormat.M4A: pb.AUDIO_FORMAT_M4A,
    AudioFormat.OPUS: pb.AUDIO_FORMAT_OPUS,
}
CONTAINER = {
    VideoContainer.MP4: pb.VIDEO_CONTAINER_MP4,
    VideoContainer.MKV: pb.VIDEO_CONTAINER_MKV,
    VideoContainer.WEBM: pb.VIDEO_CONTAINER_WEBM,
}
ACTION = {
    ControlAction.CANCEL: pb.CONTROL_ACTION_CANCEL,
    ControlAction.PAUSE: pb.CONTROL_ACTION_PAUSE,
    ControlAction.RESUME: pb.CONTROL_ACTION_RESUME,
    ControlAction.RETRY: pb.CONTROL_ACTION_RETRY,
}
REFUSAL = {
    Refusal.JOB_NOT_FOUND: pb.REFUSAL_JOB_NOT_FOUND,
    Refusal.STALE_ATTEMPT: pb.REFUSAL_STALE_ATTEMPT,
    Refusal.JOB_FINISHED: pb.REFUSAL_JOB_FINISHED,
    Refusal.JOB_NOT_RUNNING: pb.REFUSAL_JOB_NOT_RUNNING,
    Refusal.STALE_SEQ: pb.REFUSAL_STALE_SEQ,
    Refusal.ALREADY_CLAIMED: pb.REFUSAL_ALREADY_CLAIMED,
}
CHANGE = {ChangeKind.UPSERTED: pb.CHANGE_KIND_UPSERTED, ChangeKind.DELETED: pb.CHANGE_KIND_DELETED}


def from_pb(table: Mapping[E, int], value: int, field: str, *, optional: bool = False) -> E | None:
    """Map a protobuf enum number back to the domain; unknown numbers are bad input."""
    if optional and value == 0:
        return None
    for domain_value, number in table.items():
        if number == value:
            return domain_value
    raise InvalidInput(f"{field}: {value} is not a known value")


def required(table: Mapping[E, int], value: int, field: str) -> E:
    result = from_pb(table, value, field)
    assert result is not None
    return result


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def job_to_pb(job: Job) -> pb.Job:
    message = pb.Job(
        id=str(job.id),
        url=job.url,
        type=TYPE[job.type],
        options=pb.JobOptions(
            max_height=job.options.max_height,
            audio_format=AUDIO[job.options.audio_format]
            if job.options.audio_format
            else pb.AUDIO_FORMAT_UNSPECIFIED,
            video_container=(
                CONTAINER[job.options.video_container]
                if job.options.video_container
                else pb.VIDEO_CONTAINER_UNSPECIFIED
            ),
        ),
        status=STATUS[job.status],
        stage=STAGE[job.stage],
        progress=job.progress,
        downloaded_bytes=job.downloaded_bytes,
        total_bytes=job.total_bytes,
        speed=job.speed,
        eta=job.eta,
        filename=job.filename,
        output_path=job.output_path,
        size=job.size,
        sha256=job.sha256,
        error_code=job.error_code,
        error_message=job.error_message,
        meta=meta_to_pb(job.meta),
        attempt=job.attempt,
        max_attempts=job.max_attempts,
        worker_id=job.worker_id,
        heartbeat_at=timestamp(job.heartbeat_at),
        created_at=timestamp(job.created_at),
        updated_at=timestamp(job.updated_at),
        started_at=timestamp(job.started_at),
        finished_at=timestamp(job.finished_at),
        progress_seq=job.progress_seq,
    )
    return message


def meta_to_pb(meta: JobMeta) -> pb.JobMeta:
    return pb.JobMeta(
        title=meta.title, duration=meta.duration, extractor=meta.extractor, thumbnail=meta.thumbnail
    )


def event_to_pb(event: StatusChange) -> pb.JobEvent:
    return pb.JobEvent(
        at=timestamp(event.at),
        from_status=STATUS[event.from_status] if event.from_status else pb.JOB_STATUS_UNSPECIFIED,
        to_status=STATUS[event.to_status],
        actor=event.actor,
        reason=event.reason,
    )


def change_to_pb(change: JobChange) -> pb.JobChange:
    return pb.JobChange(kind=CHANGE[change.kind], job=job_to_pb(change.job))


def figures_to_pb(figures: StatsFigures) -> pb.StatsFigures:
    return pb.StatsFigures(
        completed=figures.completed,
        failed=figures.failed,
        cancelled=figures.cancelled,
        bytes_downloaded=figures.bytes_downloaded,
        median_duration_seconds=figures.median_duration_seconds,
        p95_duration_seconds=figures.p95_duration_seconds,
        retries=figures.retries,
    )


def daily_stats_to_pb(daily: DailyStats) -> pb.DailyStats:
    return pb.DailyStats(day=daily.day.isoformat(), figures=figures_to_pb(daily.figures))


def refusal_to_pb(refusal: Refusal | None) -> pb.Refusal:
    return REFUSAL[refusal] if refusal is not None else pb.REFUSAL_UNSPECIFIED


def options_from_pb(options: pb.JobOptions) -> JobOptions:
    return JobOptions(
        max_height=validation.count("options.max_height", options.max_height, validation.MAX_HEIGHT),
        audio_format=from_pb(AUDIO, options.audio_format, "options.audio_format", optional=True),
        video_container=from_pb(CONTAINER, options.video_container, "options.video_container", optional=True),
    )


def meta_from_pb(meta: pb.JobMeta) -> JobMeta:
    return validation.meta(meta.title, meta.duration, meta.extractor, meta.thumbnail)


def progress_from_pb(update: pb.ProgressUpdate) -> ProgressReport:
    return validation.progress_report(
        update.job_id,
        update.attempt,
        update.seq,
        required(STAGE, update.stage, "stage"),
        update.progress,
        update.downloaded_bytes,
        update.total_bytes if update.HasField("total_bytes") else None,
        update.speed if update.HasField("speed") else None,
        update.eta if update.HasField("eta") else None,
        meta_from_pb(update.meta) if update.HasField("meta") else None,
    )


def file_result_from_pb(request: pb.CompleteJobRequest) -> FileResult:
    return validation.file_result(
        request.filename,
        request.output_path,
        request.size,
        request.sha256,
        meta_from_pb(request.meta) if request.HasField("meta") else None,
    )
