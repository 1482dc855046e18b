"""Conversions between protobuf messages and domain values, validating on the way in.

Enums are mapped by name (`haul.contract.proto_enums`), and a job's fields by name too: every
field of `pb.Job` is the domain `Job`'s field of the same name, as `value_to_pb` puts it.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from haul.contract.proto_enums import from_proto, to_proto
from haul.jobstore.v1 import jobstore_pb2 as pb
from jobstore.domain import validation
from jobstore.domain.archive import ArchiveEntry, checked_archive_id
from jobstore.domain.changes import JobChange
from jobstore.domain.collections import HARD_MAX_ITEMS, CollectionReport, CollectionSummary
from jobstore.domain.errors import InvalidInput
from jobstore.domain.model import Job, Refusal, StatusChange
from jobstore.domain.stats import DailyStats, StatsFigures
from jobstore.domain.values import (
    AudioFormat,
    FileResult,
    JobMeta,
    JobOptions,
    JobStage,
    ProgressReport,
    VideoContainer,
)

E = TypeVar("E", bound=StrEnum)

# The fields of pb.Job that are messages of their own; the rest are values.
JOB_MESSAGES = ("options", "meta", "collection")
JOB_VALUES = tuple(f.name for f in pb.Job.DESCRIPTOR.fields if f.name not in JOB_MESSAGES)


def from_pb(enum: type[E], value: int, field: str, *, optional: bool = False) -> E | None:
    """Map a protobuf enum number back to the domain; unknown numbers are bad input."""
    if optional and value == 0:
        return None
    member = from_proto(enum, value)
    if member is None:
        raise InvalidInput(f"{field}: {value} is not a known value")
    return member


def required(enum: type[E], value: int, field: str) -> E:
    result = from_pb(enum, value, field)
    assert result is not None
    return result


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def value_to_pb(value: object) -> Any:
    """A domain value as a protobuf field takes it; None leaves an optional field unset."""
    if isinstance(value, StrEnum):
        return to_proto(value)
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def job_to_pb(job: Job) -> pb.Job:
    values = {name: value_to_pb(getattr(job, name)) for name in JOB_VALUES}
    return pb.Job(
        **values,
        options=options_to_pb(job.options),
        meta=meta_to_pb(job.meta),
        collection=None if job.collection is None else collection_to_pb(job.collection),
    )


def collection_to_pb(summary: CollectionSummary) -> pb.CollectionSummary:
    return pb.CollectionSummary(**dataclasses.asdict(summary))


def options_to_pb(options: JobOptions) -> pb.JobOptions:
    return pb.JobOptions(
        max_height=options.max_height,
        audio_format=value_to_pb(options.audio_format),
        video_container=value_to_pb(options.video_container),
        items=options.items,
        max_items=options.max_items,
        redownload=options.redownload,
    )


def meta_to_pb(meta: JobMeta) -> pb.JobMeta:
    return pb.JobMeta(
        title=meta.title, duration=meta.duration, extractor=meta.extractor, thumbnail=meta.thumbnail
    )


def event_to_pb(event: StatusChange) -> pb.JobEvent:
    return pb.JobEvent(
        at=timestamp(event.at),
        from_status=value_to_pb(event.from_status),
        to_status=value_to_pb(event.to_status),
        actor=event.actor,
        reason=event.reason,
    )


def change_to_pb(change: JobChange) -> pb.JobChange:
    return pb.JobChange(kind=value_to_pb(change.kind), job=job_to_pb(change.job))


def figures_to_pb(figures: StatsFigures) -> pb.StatsFigures:
    return pb.StatsFigures(**dataclasses.asdict(figures))


def daily_stats_to_pb(daily: DailyStats) -> pb.DailyStats:
    return pb.DailyStats(day=daily.day.isoformat(), figures=figures_to_pb(daily.figures))


def archive_entry_to_pb(entry: ArchiveEntry) -> pb.ArchiveEntry:
    return pb.ArchiveEntry(
        id=str(entry.id),
        archive_id=entry.archive_id,
        extractor=entry.extractor,
        media_id=entry.media_id,
        url=entry.url,
        title=entry.title,
        job_id=str(entry.job_id) if entry.job_id else "",
        created_at=timestamp(entry.created_at),
    )


def refusal_to_pb(refusal: Refusal | None) -> pb.Refusal:
    return value_to_pb(refusal) if refusal is not None else pb.REFUSAL_UNSPECIFIED


def options_from_pb(options: pb.JobOptions) -> JobOptions:
    return JobOptions(
        max_height=validation.count("options.max_height", options.max_height, validation.MAX_HEIGHT),
        audio_format=from_pb(AudioFormat, options.audio_format, "options.audio_format", optional=True),
        video_container=from_pb(
            VideoContainer, options.video_container, "options.video_container", optional=True
        ),
        items=validation.items(options.items),
        max_items=validation.count("options.max_items", options.max_items, HARD_MAX_ITEMS),
        redownload=options.redownload,
    )


def meta_from_pb(meta: pb.JobMeta) -> JobMeta:
    return validation.meta(meta.title, meta.duration, meta.extractor, meta.thumbnail)


def progress_from_pb(update: pb.ProgressUpdate) -> ProgressReport:
    return validation.progress_report(
        update.job_id,
        update.attempt,
        update.seq,
        required(JobStage, update.stage, "stage"),
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


def collection_report_from_pb(request: pb.ReportCollectionRequest) -> CollectionReport:
    if len(request.entries) > HARD_MAX_ITEMS:
        raise InvalidInput(f"at most {HARD_MAX_ITEMS} entries per collection")
    return CollectionReport(
        attempt=validation.count("attempt", request.attempt, validation.MAX_ATTEMPT),
        title=validation.text("title", request.title, validation.MAX_TITLE),
        entries=tuple(
            dataclasses.replace(
                validation.collection_entry(e.key, e.url, e.title, e.index, e.refused),
                archive_id=checked_archive_id(e.archive_id, "entry archive_id"),
            )
            for e in request.entries
        ),
        listed=validation.count("listed", request.listed, validation.MAX_ATTEMPT),
        truncated=request.truncated,
    )
