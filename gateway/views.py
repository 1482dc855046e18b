"""How jobs look to browsers and REST clients: the contract's shapes, as the JSON to send.

The shapes and their conversion from jobstore's messages live in `haul.contract`; these are the
gateway's names for them, plus protobuf numbers by wire name for building requests.
"""

from __future__ import annotations

from typing import Any

from haul.contract import from_proto
from haul.contract.browser import JobSnapshot, JobUpdate, ListSnapshot
from haul.contract.enums import AudioFormat, JobStage, JobStatus, JobType, Refusal, VideoContainer
from haul.contract.events import JobSpec
from haul.contract.proto_enums import to_proto
from haul.contract.reports import Error
from haul.jobstore.v1 import jobstore_pb2 as pb


def _names(enum: Any) -> dict[int, str]:
    return {to_proto(member): member.value for member in enum}


STATUS_NAMES = _names(JobStatus)
STAGE_NAMES = _names(JobStage)
TYPE_NAMES = _names(JobType)
AUDIO_NAMES = _names(AudioFormat)
CONTAINER_NAMES = _names(VideoContainer)
REFUSAL_NAMES = _names(Refusal)
TERMINAL = frozenset({pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, pb.JOB_STATUS_CANCELLED})

# Name -> protobuf enum number; typed loosely because the generated enums are int subclasses.
STATUS_BY_NAME: dict[str, Any] = {name: number for number, name in STATUS_NAMES.items()}
TYPE_BY_NAME: dict[str, Any] = {name: number for number, name in TYPE_NAMES.items()}
AUDIO_BY_NAME: dict[str, Any] = {name: number for number, name in AUDIO_NAMES.items()}
CONTAINER_BY_NAME: dict[str, Any] = {name: number for number, name in CONTAINER_NAMES.items()}
STAGE_BY_NAME: dict[str, Any] = {name: number for number, name in STAGE_NAMES.items()}


def job_json(job: pb.Job) -> dict[str, Any]:
    """The full job, as REST returns it and as snapshots carry it."""
    return from_proto.job(job).wire()


def job_snapshot(job: pb.Job) -> dict[str, Any]:
    """The answer to `subscribe {jobId}`."""
    return JobSnapshot.of(job=from_proto.job(job)).wire()


def list_snapshot(page: pb.ListJobsResponse) -> dict[str, Any]:
    """The answer to `subscribe {all: true}`."""
    jobs = [from_proto.job(job) for job in page.jobs]
    return ListSnapshot.of(jobs=jobs, next_cursor=page.next_page_token or None).wire()


def error_json(code: str, message: str) -> dict[str, Any]:
    """`{error: {code, message}}`, as REST and socket answers carry it."""
    return Error.saying(code, message).wire()


def history_json(event: pb.JobEvent) -> dict[str, Any]:
    return from_proto.history_event(event).wire()


def progress_event(job: pb.Job) -> dict[str, Any]:
    """`progress` (`haul.contract.browser.JobProgress`)."""
    return from_proto.progress(job).wire()


def update_event(job: pb.Job) -> dict[str, Any]:
    """`job-update` (`haul.contract.browser.JobUpdate`)."""
    return from_proto.update(job).wire()


def deleted_event(job_id: str) -> dict[str, Any]:
    """`job-update` for a job that is gone: `{jobId, deleted: true}`."""
    return JobUpdate.of(job_id=job_id, deleted=True).wire()


def completed_event(job: pb.Job) -> dict[str, Any]:
    return from_proto.completed(job).wire()


def failed_event(job: pb.Job) -> dict[str, Any]:
    return from_proto.failed(job).wire()


def job_spec(job: pb.Job) -> JobSpec:
    """What a worker needs to run the job, from the claimed job."""
    return from_proto.job_spec(job)
