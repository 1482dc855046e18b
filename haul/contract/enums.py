"""Every named value a job is made of, defined once.

jobstore's domain re-exports these, the REST and browser models carry them, the OpenAPI
document (and from it the web UI's types) lists their members, and the gRPC enums must name
the same members: `tests/unit/test_contract_enums.py` proves it.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class JobStage(StrEnum):
    """The step a job is on, for display."""

    QUEUED = "queued"
    RESOLVING = "resolving"
    DOWNLOADING = "downloading"
    MERGING = "merging"
    POSTPROCESSING = "postprocessing"
    FINALIZING = "finalizing"
    DONE = "done"


class JobType(StrEnum):
    """Which engine runs the job; `auto` lets the worker probe the URL."""

    AUTO = "auto"
    VIDEO = "video"
    AUDIO = "audio"
    FILE = "file"


class AudioFormat(StrEnum):
    """For audio jobs: the format to extract to."""

    MP3 = "mp3"
    M4A = "m4a"
    OPUS = "opus"


class VideoContainer(StrEnum):
    """For video jobs: the container to merge into."""

    MP4 = "mp4"
    MKV = "mkv"
    WEBM = "webm"


class ControlAction(StrEnum):
    """What a person may ask of a job."""

    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"
    RETRY = "retry"


class Refusal(StrEnum):
    """Why a worker's claim or report was not applied."""

    JOB_NOT_FOUND = "job_not_found"
    STALE_ATTEMPT = "stale_attempt"
    JOB_FINISHED = "job_finished"
    JOB_NOT_RUNNING = "job_not_running"
    STALE_SEQ = "stale_seq"
    ALREADY_CLAIMED = "already_claimed"


class ChangeKind(StrEnum):
    """What happened to a job, as jobstore's change stream says it."""

    UPSERTED = "upserted"
    DELETED = "deleted"


# The enums the gRPC contract copies, each as `<UPPER_SNAKE_OF_CLASS>_<MEMBER>` in an enum of the
# same name (with an `_UNSPECIFIED` zero the Python enums do not need).
PROTO_MIRRORED: tuple[type[StrEnum], ...] = (
    JobStatus,
    JobStage,
    JobType,
    AudioFormat,
    VideoContainer,
    ControlAction,
    Refusal,
    ChangeKind,
)
