"""From jobstore's protobuf messages to the contract's enums and shapes, and requests back.

Enums are mapped by name (`haul.contract.proto_enums`). A shape whose fields are the message's,
by the same names, is filled by `same_named`; what differs (a fallback, a field shown only in
some statuses, links) is written out where the shape is built.
"""

from __future__ import annotations

import typing
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic.fields import FieldInfo

from haul.contract.browser import JobCompleted, JobFailed, JobProgress, JobUpdate
from haul.contract.enums import PROTO_MIRRORED, AudioFormat, JobStage, JobStatus, JobType, VideoContainer
from haul.contract.events import JobSpec
from haul.contract.proto_enums import from_proto, to_proto
from haul.contract.reports import DailyStats, Stats, StatsFigures
from haul.contract.rest import (
    CollectionSummary,
    DownloadOptions,
    HistoryEvent,
    Job,
    JobDetail,
    JobLinks,
    JobMeta,
    JobOptions,
)
from haul.contract.shapes import Shape
from haul.contract.thumbnails import is_thumbnail_name, thumbnail_link
from haul.jobstore.v1 import jobstore_pb2 as pb

# The contract enum each protobuf enum copies, by its name.
MIRRORED = {enum.__name__: enum for enum in PROTO_MIRRORED}


def timestamp(message: Message, field: str) -> str | None:
    """A set timestamp field as `2025-01-31T12:00:00.000Z`; None when unset."""
    if not message.HasField(field):
        return None
    return str(getattr(message, field).ToDatetime().isoformat(timespec="milliseconds")) + "Z"


def same_named(shape: type[Shape], message: Message) -> dict[str, Any]:
    """The values of the shape's fields that the message has under the same (snake_case) name.

    An enum is mapped by name and a timestamp becomes text; a field with presence that is unset is
    None, and so, where the shape allows None, is the zero of one without (proto3's "not set").
    Nested messages are left to the caller, whose shapes for them differ. Not for the browser
    events, which leave an unknown key out rather than send null.
    """
    fields = message.DESCRIPTOR.fields_by_name
    values: dict[str, Any] = {}
    for name, info in shape.model_fields.items():
        field = fields.get(name)
        if field is None or field.message_type not in (None, Timestamp.DESCRIPTOR):
            continue
        if field.message_type is Timestamp.DESCRIPTOR:
            values[name] = timestamp(message, name)
        elif field.has_presence and not message.HasField(name):
            values[name] = None
        elif field.enum_type is not None:
            values[name] = from_proto(MIRRORED[field.enum_type.name], getattr(message, name))
        elif not field.has_presence and _nullable(info):
            values[name] = getattr(message, name) or None
        else:
            values[name] = getattr(message, name)
    return values


def _nullable(info: FieldInfo) -> bool:
    return type(None) in typing.get_args(info.annotation)


def job(message: pb.Job) -> Job:
    """The full job, as REST returns it and as snapshots carry it."""
    completed = message.status == pb.JOB_STATUS_COMPLETED
    fields = same_named(Job, message)
    fields.update(
        type=from_proto(JobType, message.type) or JobType.AUTO,
        options=JobOptions.of(**same_named(JobOptions, message.options)),
        size=message.size if completed else None,
        meta=JobMeta.of(**{**same_named(JobMeta, message.meta), "thumbnail": shown_thumbnail(message)}),
        collection=CollectionSummary.of(**same_named(CollectionSummary, message.collection))
        if message.HasField("collection")
        else None,
        links=JobLinks.of(
            self_link=f"/downloads/{message.id}",
            file=f"/files/{message.id}" if completed else None,
            download=f"/files/{message.id}/download" if completed else None,
        ),
    )
    return Job.of(**fields)


def shown_thumbnail(message: pb.Job) -> str | None:
    """The link to the job's saved thumbnail, when jobstore holds the name of a copy. Whatever
    else the field holds (a site's URL, stored before copies existed) never reaches a page."""
    return thumbnail_link(message.id) if is_thumbnail_name(message.meta.thumbnail) else None


def history_event(event: pb.JobEvent) -> HistoryEvent:
    return HistoryEvent.of(**same_named(HistoryEvent, event))


def job_detail(reply: pb.GetJobResponse) -> JobDetail:
    """`GET /downloads/{jobId}`: the job and its history, from GetJob with `include_history`."""
    return JobDetail.of(**dict(job(reply.job)), history=[history_event(e) for e in reply.history])


def options_message(options: DownloadOptions) -> pb.JobOptions:
    """A request's options as CreateJob takes them (0 and unspecified for "none")."""
    message = pb.JobOptions(
        max_height=options.max_height or 0, items=options.items or "", max_items=options.max_items or 0
    )
    message.redownload = bool(options.redownload)
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
    return JobCompleted.of(job_id=message.id, filename=message.filename, size=message.size)


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
        parent_id=message.parent_id or None,
        items=message.options.items or None,
        max_items=message.options.max_items or None,
    )


def stats(reply: pb.GetStatsResponse) -> Stats:
    """`GET /stats`, from GetStats."""
    return Stats.of(
        days=[DailyStats.of(day=d.day, **same_named(StatsFigures, d.figures)) for d in reply.days],
        totals=StatsFigures.of(**same_named(StatsFigures, reply.totals)),
    )
