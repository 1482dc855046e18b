"""From jobstore's protobuf messages to the contract's enums and shapes, and requests back.

The gRPC enums copy the contract's (`JOB_STATUS_RUNNING` is `JobStatus.RUNNING`), so they are
mapped by name: an enum `Foo` pairs with the protobuf enum `Foo` and its `FOO_` prefix, and
`_UNSPECIFIED` (zero) stands for "none".
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from typing import Any, TypeVar

from google.protobuf.message import Message

from haul.contract.browser import JobCompleted, JobFailed, JobProgress, JobUpdate
from haul.contract.enums import AudioFormat, JobStage, JobStatus, JobType, VideoContainer
from haul.contract.events import JobSpec
from haul.contract.reports import DailyStats, Stats, StatsFigures
from haul.contract.rest import DownloadOptions, HistoryEvent, Job, JobDetail, JobLinks, JobMeta, JobOptions
from haul.jobstore.v1 import jobstore_pb2 as pb

E = TypeVar("E", bound=StrEnum)


def proto_prefix(enum: type[StrEnum]) -> str:
    """`JobStatus` -> `JOB_STATUS_`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.__name__).upper() + "_"


def proto_enum(enum: type[StrEnum]) -> Any:
    """The generated protobuf enum that copies `enum` (its `.Value(name)` and `.items()`)."""
    return getattr(pb, enum.__name__)


def to_proto(member: StrEnum) -> Any:
    """The protobuf number of a member; typed loosely as the generated enums are int subclasses."""
    return proto_enum(type(member)).Value(proto_prefix(type(member)) + member.name)


@functools.cache
def _members(enum: type[E]) -> dict[int, E]:
    return {to_proto(member): member for member in enum}


def from_proto(enum: type[E], number: int) -> E | None:
    """The member a protobuf number names; None for zero (unspecified) and unknown numbers."""
    return _members(enum).get(number)


def timestamp(message: Message, field: str) -> str | None:
    """A set timestamp field as `2025-01-31T12:00:00.000Z`; None when unset."""
    if not message.HasField(field):
        return None
    return str(getattr(message, field).ToDatetime().isoformat(timespec="milliseconds")) + "Z"


def _optional(message: Message, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def job(message: pb.Job) -> Job:
    """The full job, as REST returns it and as snapshots carry it."""
    completed = message.status == pb.JOB_STATUS_COMPLETED
    return Job.of(
        id=message.id,
        url=message.url,
        type=from_proto(JobType, message.type) or JobType.AUTO,
        options=JobOptions.of(
            max_height=message.options.max_height or None,
            audio_format=from_proto(AudioFormat, message.options.audio_format),
            video_container=from_proto(VideoContainer, message.options.video_container),
        ),
        status=from_proto(JobStatus, message.status),
        stage=from_proto(JobStage, message.stage),
        progress=message.progress,
        downloaded_bytes=message.downloaded_bytes,
        total_bytes=_optional(message, "total_bytes"),
        speed=_optional(message, "speed"),
        eta=_optional(message, "eta"),
        filename=message.filename or None,
        size=message.size if completed else None,
        sha256=message.sha256 or None,
        error_code=message.error_code or None,
        error_message=message.error_message or None,
        meta=JobMeta.of(
            title=message.meta.title or None,
            duration=message.meta.duration or None,
            extractor=message.meta.extractor or None,
            thumbnail=message.meta.thumbnail or None,
        ),
        attempt=message.attempt,
        max_attempts=message.max_attempts,
        created_at=timestamp(message, "created_at"),
        updated_at=timestamp(message, "updated_at"),
        started_at=timestamp(message, "started_at"),
        finished_at=timestamp(message, "finished_at"),
        links=JobLinks.of(
            self_link=f"/downloads/{message.id}",
            file=f"/files/{message.id}" if completed else None,
            download=f"/files/{message.id}/download" if completed else None,
        ),
    )


def history_event(event: pb.JobEvent) -> HistoryEvent:
    return HistoryEvent.of(
        at=timestamp(event, "at"),
        from_status=from_proto(JobStatus, event.from_status),
        to_status=from_proto(JobStatus, event.to_status),
        actor=event.actor,
        reason=event.reason,
    )


def job_detail(reply: pb.GetJobResponse) -> JobDetail:
    """`GET /downloads/{jobId}`: the job and its history, from GetJob with `include_history`."""
    return JobDetail.of(**dict(job(reply.job)), history=[history_event(e) for e in reply.history])


def options_message(options: DownloadOptions) -> pb.JobOptions:
    """A request's options as CreateJob takes them (0 and unspecified for "none")."""
    message = pb.JobOptions(max_height=options.max_height or 0)
    if options.audio_format:
        message.audio_format = to_proto(options.audio_format)
    if options.video_container:
        message.video_container = to_proto(options.video_container)
    return message


def progress(message: pb.Job) -> JobProgress:
    """`progress`; speed, eta and totalBytes only when known."""
    known = {
        field: getattr(message, field) for field in ("speed", "eta", "total_bytes") if message.HasField(field)
    }
    return JobProgress.of(
        job_id=message.id,
        stage=from_proto(JobStage, message.stage),
        progress=message.progress,
        downloaded_bytes=message.downloaded_bytes,
        attempt=message.attempt,
        updated_at=timestamp(message, "updated_at"),
        **known,
    )


def update(message: pb.Job) -> JobUpdate:
    return JobUpdate.of(
        job_id=message.id,
        status=from_proto(JobStatus, message.status),
        stage=from_proto(JobStage, message.stage),
        progress=message.progress,
        attempt=message.attempt,
        updated_at=timestamp(message, "updated_at"),
    )


def completed(message: pb.Job) -> JobCompleted:
    return JobCompleted.of(
        job_id=message.id, filename=message.filename, size=message.size, output_path=message.output_path
    )


def failed(message: pb.Job) -> JobFailed:
    return JobFailed.of(job_id=message.id, error_code=message.error_code, message=message.error_message)


def job_spec(message: pb.Job) -> JobSpec:
    """What a worker needs to run the job, from the claimed job."""
    return JobSpec(
        url=message.url,
        type=from_proto(JobType, message.type) or JobType.AUTO,
        max_height=message.options.max_height or None,
        audio_format=from_proto(AudioFormat, message.options.audio_format),
        video_container=from_proto(VideoContainer, message.options.video_container),
    )


def stats_figures(figures: pb.StatsFigures) -> dict[str, Any]:
    return {
        "completed": figures.completed,
        "failed": figures.failed,
        "cancelled": figures.cancelled,
        "bytes_downloaded": figures.bytes_downloaded,
        "median_duration_seconds": _optional(figures, "median_duration_seconds"),
        "p95_duration_seconds": _optional(figures, "p95_duration_seconds"),
        "retries": figures.retries,
    }


def stats(reply: pb.GetStatsResponse) -> Stats:
    """`GET /stats`, from GetStats."""
    return Stats.of(
        days=[DailyStats.of(day=d.day, **stats_figures(d.figures)) for d in reply.days],
        totals=StatsFigures.of(**stats_figures(reply.totals)),
    )
