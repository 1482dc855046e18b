"""The `/jobs` Socket.IO contract: what browsers (and `haul get`) ask for and what they are sent.

Events carry camelCase JSON like REST. A key an event does not carry is left out, not null:
`progress` omits `speed`, `eta` and `totalBytes` while they are unknown, and a `job-update` for a
deleted job is `{jobId, deleted: true}`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from haul.contract.enums import JobStage, JobStatus
from haul.contract.events import JobId
from haul.contract.rest import Job
from haul.contract.shapes import Amount, Count, JobIdText, Shape, timestamp

# Socket.IO event names on BROWSER_NAMESPACE.
PROGRESS = "progress"
JOB_UPDATE = "job-update"
COMPLETED = "completed"
FAILED = "failed"
RESYNC = "resync"


class SubscribeRequest(BaseModel):
    """`subscribe` (and `unsubscribe`): one job's room, answered with a `JobSnapshot`, or with
    `all` the list feed, answered with a `ListSnapshot`; else an `Error`."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_by_name=True)

    jobId: JobId | None = None
    all: bool = False


class JobSnapshot(Shape):
    """The answer to `subscribe {jobId}`."""

    job: Job


class ListSnapshot(Shape):
    """The answer to `subscribe {all: true}`: the newest jobs."""

    jobs: list[Job]
    next_cursor: str | None


class JobProgress(Shape):
    """`progress`: only ever sent while the job is running. `downloadedBytes`, `attempt` and
    `updatedAt` let a browser order events against snapshots."""

    job_id: JobIdText
    stage: JobStage
    progress: Annotated[float, Field(ge=0, le=100)]
    downloaded_bytes: Count
    attempt: Count
    updated_at: Annotated[str, timestamp("When the job last changed.")]
    speed: Amount | SkipJsonSchema[None] = None
    eta: Amount | SkipJsonSchema[None] = None
    total_bytes: Count | SkipJsonSchema[None] = None


class JobUpdate(Shape):
    """`job-update`: a status or stage change, or `{jobId, deleted: true}`."""

    job_id: JobIdText
    status: JobStatus | SkipJsonSchema[None] = None
    stage: JobStage | SkipJsonSchema[None] = None
    progress: Annotated[float, Field(ge=0, le=100)] | SkipJsonSchema[None] = None
    attempt: Count | SkipJsonSchema[None] = None
    updated_at: Annotated[str, timestamp("When the job last changed.")] | SkipJsonSchema[None] = None
    deleted: bool | SkipJsonSchema[None] = None


class JobCompleted(Shape):
    """`completed`: the file is in place, at `/files/{jobId}/download`. Where the server keeps
    it is the server's business, so no path is sent."""

    job_id: JobIdText
    filename: str
    size: Count


class JobFailed(Shape):
    """`failed`: the job gave up for good (a retried attempt sends `job-update` instead)."""

    job_id: JobIdText
    error_code: str
    message: str
