"""How jobs look on the wire to browsers and REST clients: camelCase JSON, lower-case names."""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from haul.contract.events import JobSpec
from haul.jobstore.v1 import jobstore_pb2 as pb


def _names(enum: Any, prefix: str) -> dict[int, str]:
    return {number: name.removeprefix(prefix).lower() for name, number in enum.items() if number != 0}


STATUS_NAMES = _names(pb.JobStatus, "JOB_STATUS_")
STAGE_NAMES = _names(pb.JobStage, "JOB_STAGE_")
TYPE_NAMES = _names(pb.JobType, "JOB_TYPE_")
AUDIO_NAMES = _names(pb.AudioFormat, "AUDIO_FORMAT_")
CONTAINER_NAMES = _names(pb.VideoContainer, "VIDEO_CONTAINER_")
REFUSAL_NAMES = _names(pb.Refusal, "REFUSAL_")
TERMINAL = frozenset({pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, pb.JOB_STATUS_CANCELLED})

# Name -> protobuf enum number; typed loosely because the generated enums are int subclasses.
STATUS_BY_NAME: dict[str, Any] = {name: number for number, name in STATUS_NAMES.items()}
TYPE_BY_NAME: dict[str, Any] = {name: number for number, name in TYPE_NAMES.items()}
AUDIO_BY_NAME: dict[str, Any] = {name: number for number, name in AUDIO_NAMES.items()}
CONTAINER_BY_NAME: dict[str, Any] = {name: number for number, name in CONTAINER_NAMES.items()}
STAGE_BY_NAME: dict[str, Any] = {name: number for number, name in STAGE_NAMES.items()}


def _time(message: Any, field: str) -> str | None:
    if not message.HasField(field):
        return None
    stamp: Timestamp = getattr(message, field)
    return stamp.ToDatetime().isoformat(timespec="milliseconds") + "Z"


def _optional(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def job_json(job: pb.Job) -> dict[str, Any]:
    """The full job, as REST returns it and as snapshots carry it."""
    return {
        "id": job.id,
        "url": job.url,
        "type": TYPE_NAMES.get(job.type, "auto"),
        "options": {
            "maxHeight": job.options.max_height or None,
            "audioFormat": AUDIO_NAMES.get(job.options.audio_format),
            "videoContainer": CONTAINER_NAMES.get(job.options.video_container),
        },
        "status": STATUS_NAMES.get(job.status),
        "stage": STAGE_NAMES.get(job.stage),
        "progress": job.progress,
        "downloadedBytes": job.downloaded_bytes,
        "totalBytes": _optional(job, "total_bytes"),
        "speed": _optional(job, "speed"),
        "eta": _optional(job, "eta"),
        "filename": job.filename or None,
        "size": job.size if job.status == pb.JOB_STATUS_COMPLETED else None,
        "sha256": job.sha256 or None,
        "errorCode": job.error_code or None,
        "errorMessage": job.error_message or None,
        "meta": {
            "title": job.meta.title or None,
            "duration": job.meta.duration or None,
            "extractor": job.meta.extractor or None,
            "thumbnail": job.meta.thumbnail or None,
        },
        "attempt": job.attempt,
        "maxAttempts": job.max_attempts,
        "createdAt": _time(job, "created_at"),
        "updatedAt": _time(job, "updated_at"),
        "startedAt": _time(job, "started_at"),
        "finishedAt": _time(job, "finished_at"),
        "links": {
            "self": f"/downloads/{job.id}",
            "file": f"/files/{job.id}" if job.status == pb.JOB_STATUS_COMPLETED else None,
            "download": f"/files/{job.id}/download" if job.status == pb.JOB_STATUS_COMPLETED else None,
        },
    }


def history_json(event: pb.JobEvent) -> dict[str, Any]:
    return {
        "at": _time(event, "at"),
        "from": STATUS_NAMES.get(event.from_status),
        "to": STATUS_NAMES.get(event.to_status),
        "actor": event.actor,
        "reason": event.reason,
    }


def progress_event(job: pb.Job) -> dict[str, Any]:
    """`progress {jobId, stage, progress, speed?, eta?, totalBytes?}` (plus downloadedBytes,
    attempt and updatedAt, by which a browser orders events against snapshots)."""
    event: dict[str, Any] = {
        "jobId": job.id,
        "stage": STAGE_NAMES.get(job.stage),
        "progress": job.progress,
        "downloadedBytes": job.downloaded_bytes,
        "attempt": job.attempt,
        "updatedAt": _time(job, "updated_at"),
    }
    for key, field in (("speed", "speed"), ("eta", "eta"), ("totalBytes", "total_bytes")):
        if job.HasField(field):
            event[key] = getattr(job, field)
    return event


def update_event(job: pb.Job) -> dict[str, Any]:
    """`job-update {jobId, status, stage, progress, attempt, updatedAt}`."""
    return {
        "jobId": job.id,
        "status": STATUS_NAMES.get(job.status),
        "stage": STAGE_NAMES.get(job.stage),
        "progress": job.progress,
        "attempt": job.attempt,
        "updatedAt": _time(job, "updated_at"),
    }


def completed_event(job: pb.Job) -> dict[str, Any]:
    return {"jobId": job.id, "filename": job.filename, "size": job.size, "outputPath": job.output_path}


def failed_event(job: pb.Job) -> dict[str, Any]:
    return {"jobId": job.id, "errorCode": job.error_code, "message": job.error_message}


def job_spec(job: pb.Job) -> JobSpec:
    """What a worker needs to run the job, from the claimed job."""
    return JobSpec(
        url=job.url,
        type=TYPE_NAMES.get(job.type, "auto"),  # type: ignore[arg-type]
        max_height=job.options.max_height or None,
        audio_format=AUDIO_NAMES.get(job.options.audio_format),  # type: ignore[arg-type]
        video_container=CONTAINER_NAMES.get(job.options.video_container),  # type: ignore[arg-type]
    )
