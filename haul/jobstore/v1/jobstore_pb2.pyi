import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_TYPE_UNSPECIFIED: _ClassVar[JobType]
    JOB_TYPE_AUTO: _ClassVar[JobType]
    JOB_TYPE_VIDEO: _ClassVar[JobType]
    JOB_TYPE_AUDIO: _ClassVar[JobType]
    JOB_TYPE_FILE: _ClassVar[JobType]

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_PAUSED: _ClassVar[JobStatus]
    JOB_STATUS_COMPLETED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLED: _ClassVar[JobStatus]

class JobStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STAGE_UNSPECIFIED: _ClassVar[JobStage]
    JOB_STAGE_QUEUED: _ClassVar[JobStage]
    JOB_STAGE_RESOLVING: _ClassVar[JobStage]
    JOB_STAGE_DOWNLOADING: _ClassVar[JobStage]
    JOB_STAGE_MERGING: _ClassVar[JobStage]
    JOB_STAGE_POSTPROCESSING: _ClassVar[JobStage]
    JOB_STAGE_FINALIZING: _ClassVar[JobStage]
    JOB_STAGE_DONE: _ClassVar[JobStage]

class AudioFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_FORMAT_UNSPECIFIED: _ClassVar[AudioFormat]
    AUDIO_FORMAT_MP3: _ClassVar[AudioFormat]
    AUDIO_FORMAT_M4A: _ClassVar[AudioFormat]
    AUDIO_FORMAT_OPUS: _ClassVar[AudioFormat]

class VideoContainer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VIDEO_CONTAINER_UNSPECIFIED: _ClassVar[VideoContainer]
    VIDEO_CONTAINER_MP4: _ClassVar[VideoContainer]
    VIDEO_CONTAINER_MKV: _ClassVar[VideoContainer]
    VIDEO_CONTAINER_WEBM: _ClassVar[VideoContainer]

class ControlAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTROL_ACTION_UNSPECIFIED: _ClassVar[ControlAction]
    CONTROL_ACTION_CANCEL: _ClassVar[ControlAction]
    CONTROL_ACTION_PAUSE: _ClassVar[ControlAction]
    CONTROL_ACTION_RESUME: _ClassVar[ControlAction]
    CONTROL_ACTION_RETRY: _ClassVar[ControlAction]

class Refusal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REFUSAL_UNSPECIFIED: _ClassVar[Refusal]
    REFUSAL_JOB_NOT_FOUND: _ClassVar[Refusal]
    REFUSAL_STALE_ATTEMPT: _ClassVar[Refusal]
    REFUSAL_JOB_FINISHED: _ClassVar[Refusal]
    REFUSAL_JOB_NOT_RUNNING: _ClassVar[Refusal]
    REFUSAL_STALE_SEQ: _ClassVar[Refusal]
    REFUSAL_ALREADY_CLAIMED: _ClassVar[Refusal]

class ChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_KIND_UNSPECIFIED: _ClassVar[ChangeKind]
    CHANGE_KIND_UPSERTED: _ClassVar[ChangeKind]
    CHANGE_KIND_DELETED: _ClassVar[ChangeKind]
JOB_TYPE_UNSPECIFIED: JobType
JOB_TYPE_AUTO: JobType
JOB_TYPE_VIDEO: JobType
JOB_TYPE_AUDIO: JobType
JOB_TYPE_FILE: JobType
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_PAUSED: JobStatus
JOB_STATUS_COMPLETED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLED: JobStatus
JOB_STAGE_UNSPECIFIED: JobStage
JOB_STAGE_QUEUED: JobStage
JOB_STAGE_RESOLVING: JobStage
JOB_STAGE_DOWNLOADING: JobStage
JOB_STAGE_MERGING: JobStage
JOB_STAGE_POSTPROCESSING: JobStage
JOB_STAGE_FINALIZING: JobStage
JOB_STAGE_DONE: JobStage
AUDIO_FORMAT_UNSPECIFIED: AudioFormat
AUDIO_FORMAT_MP3: AudioFormat
AUDIO_FORMAT_M4A: AudioFormat
AUDIO_FORMAT_OPUS: AudioFormat
VIDEO_CONTAINER_UNSPECIFIED: VideoContainer
VIDEO_CONTAINER_MP4: VideoContainer
VIDEO_CONTAINER_MKV: VideoContainer
VIDEO_CONTAINER_WEBM: VideoContainer
CONTROL_ACTION_UNSPECIFIED: ControlAction
CONTROL_ACTION_CANCEL: ControlAction
CONTROL_ACTION_PAUSE: ControlAction
CONTROL_ACTION_RESUME: ControlAction
CONTROL_ACTION_RETRY: ControlAction
REFUSAL_UNSPECIFIED: Refusal
REFUSAL_JOB_NOT_FOUND: Refusal
REFUSAL_STALE_ATTEMPT: Refusal
REFUSAL_JOB_FINISHED: Refusal
REFUSAL_JOB_NOT_RUNNING: Refusal
REFUSAL_STALE_SEQ: Refusal
REFUSAL_ALREADY_CLAIMED: Refusal
CHANGE_KIND_UNSPECIFIED: ChangeKind
CHANGE_KIND_UPSERTED: ChangeKind
CHANGE_KIND_DELETED: ChangeKind

class JobOptions(_message.Message):
    __slots__ = ("max_height", "audio_format", "video_container", "items", "max_items", "redownload")
    MAX_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FORMAT_FIELD_NUMBER: _ClassVar[int]
    VIDEO_CONTAINER_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    REDOWNLOAD_FIELD_NUMBER: _ClassVar[int]
    max_height: int
    audio_format: AudioFormat
    video_container: VideoContainer
    items: str
    max_items: int
    redownload: bool
    def __init__(self, max_height: _Optional[int] = ..., audio_format: _Optional[_Union[AudioFormat, str]] = ..., video_container: _Optional[_Union[VideoContainer, str]] = ..., items: _Optional[str] = ..., max_items: _Optional[int] = ..., redownload: _Optional[bool] = ...) -> None: ...

class JobMeta(_message.Message):
    __slots__ = ("title", "duration", "extractor", "thumbnail")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    EXTRACTOR_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_FIELD_NUMBER: _ClassVar[int]
    title: str
    duration: float
    extractor: str
    thumbnail: str
    def __init__(self, title: _Optional[str] = ..., duration: _Optional[float] = ..., extractor: _Optional[str] = ..., thumbnail: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "url", "type", "options", "status", "stage", "progress", "downloaded_bytes", "total_bytes", "speed", "eta", "filename", "output_path", "size", "sha256", "error_code", "error_message", "meta", "attempt", "max_attempts", "worker_id", "heartbeat_at", "created_at", "updated_at", "started_at", "finished_at", "progress_seq", "parent_id", "entry_index", "collection")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADED_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    ETA_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_SEQ_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    type: JobType
    options: JobOptions
    status: JobStatus
    stage: JobStage
    progress: float
    downloaded_bytes: int
    total_bytes: int
    speed: float
    eta: float
    filename: str
    output_path: str
    size: int
    sha256: str
    error_code: str
    error_message: str
    meta: JobMeta
    attempt: int
    max_attempts: int
    worker_id: str
    heartbeat_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    progress_seq: int
    parent_id: str
    entry_index: int
    collection: CollectionSummary
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., type: _Optional[_Union[JobType, str]] = ..., options: _Optional[_Union[JobOptions, _Mapping]] = ..., status: _Optional[_Union[JobStatus, str]] = ..., stage: _Optional[_Union[JobStage, str]] = ..., progress: _Optional[float] = ..., downloaded_bytes: _Optional[int] = ..., total_bytes: _Optional[int] = ..., speed: _Optional[float] = ..., eta: _Optional[float] = ..., filename: _Optional[str] = ..., output_path: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ..., meta: _Optional[_Union[JobMeta, _Mapping]] = ..., attempt: _Optional[int] = ..., max_attempts: _Optional[int] = ..., worker_id: _Optional[str] = ..., heartbeat_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., progress_seq: _Optional[int] = ..., parent_id: _Optional[str] = ..., entry_index: _Optional[int] = ..., collection: _Optional[_Union[CollectionSummary, _Mapping]] = ...) -> None: ...

class CollectionSummary(_message.Message):
    __slots__ = ("title", "total", "queued", "running", "paused", "completed", "failed", "cancelled", "skipped", "listed", "truncated")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    LISTED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    title: str
    total: int
    queued: int
    running: int
    paused: int
    completed: int
    failed: int
    cancelled: int
    skipped: int
    listed: int
    truncated: bool
    def __init__(self, title: _Optional[str] = ..., total: _Optional[int] = ..., queued: _Optional[int] = ..., running: _Optional[int] = ..., paused: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ..., skipped: _Optional[int] = ..., listed: _Optional[int] = ..., truncated: _Optional[bool] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("at", "from_status", "to_status", "actor", "reason")
    AT_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_STATUS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    from_status: JobStatus
    to_status: JobStatus
    actor: str
    reason: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_status: _Optional[_Union[JobStatus, str]] = ..., to_status: _Optional[_Union[JobStatus, str]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("url", "type", "options", "max_attempts", "idempotency_key")
    URL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    url: str
    type: JobType
    options: JobOptions
    max_attempts: int
    idempotency_key: str
    def __init__(self, url: _Optional[str] = ..., type: _Optional[_Union[JobType, str]] = ..., options: _Optional[_Union[JobOptions, _Mapping]] = ..., max_attempts: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CreateJobResponse(_message.Message):
    __slots__ = ("job", "created")
    JOB_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    job: Job
    created: bool
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id", "include_history")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_HISTORY_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    include_history: bool
    def __init__(self, job_id: _Optional[str] = ..., include_history: _Optional[bool] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job", "history")
    JOB_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    job: Job
    history: _containers.RepeatedCompositeFieldContainer[JobEvent]
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., history: _Optional[_Iterable[_Union[JobEvent, _Mapping]]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "statuses", "parent_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[JobStatus]
    parent_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[JobStatus, str]]] = ..., parent_id: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class DeleteJobResponse(_message.Message):
    __slots__ = ("job", "removed_job_ids")
    JOB_FIELD_NUMBER: _ClassVar[int]
    REMOVED_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    job: Job
    removed_job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., removed_job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ControlJobRequest(_message.Message):
    __slots__ = ("job_id", "action", "reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    action: ControlAction
    reason: str
    def __init__(self, job_id: _Optional[str] = ..., action: _Optional[_Union[ControlAction, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class ControlJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class ClaimJobRequest(_message.Message):
    __slots__ = ("job_id", "worker_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    worker_id: str
    def __init__(self, job_id: _Optional[str] = ..., worker_id: _Optional[str] = ...) -> None: ...

class ClaimJobResponse(_message.Message):
    __slots__ = ("accepted", "refusal", "attempt", "job")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    refusal: Refusal
    attempt: int
    job: Job
    def __init__(self, accepted: _Optional[bool] = ..., refusal: _Optional[_Union[Refusal, str]] = ..., attempt: _Optional[int] = ..., job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class ProgressUpdate(_message.Message):
    __slots__ = ("job_id", "attempt", "seq", "stage", "progress", "downloaded_bytes", "total_bytes", "speed", "eta", "meta")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADED_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    ETA_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    attempt: int
    seq: int
    stage: JobStage
    progress: float
    downloaded_bytes: int
    total_bytes: int
    speed: float
    eta: float
    meta: JobMeta
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., seq: _Optional[int] = ..., stage: _Optional[_Union[JobStage, str]] = ..., progress: _Optional[float] = ..., downloaded_bytes: _Optional[int] = ..., total_bytes: _Optional[int] = ..., speed: _Optional[float] = ..., eta: _Optional[float] = ..., meta: _Optional[_Union[JobMeta, _Mapping]] = ...) -> None: ...

class ReportProgressRequest(_message.Message):
    __slots__ = ("updates",)
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    updates: _containers.RepeatedCompositeFieldContainer[ProgressUpdate]
    def __init__(self, updates: _Optional[_Iterable[_Union[ProgressUpdate, _Mapping]]] = ...) -> None: ...

class ProgressResult(_message.Message):
    __slots__ = ("job_id", "seq", "accepted", "refusal")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    seq: int
    accepted: bool
    refusal: Refusal
    def __init__(self, job_id: _Optional[str] = ..., seq: _Optional[int] = ..., accepted: _Optional[bool] = ..., refusal: _Optional[_Union[Refusal, str]] = ...) -> None: ...

class ReportProgressResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ProgressResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ProgressResult, _Mapping]]] = ...) -> None: ...

class CompleteJobRequest(_message.Message):
    __slots__ = ("job_id", "attempt", "filename", "output_path", "size", "sha256", "meta", "archive_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    attempt: int
    filename: str
    output_path: str
    size: int
    sha256: str
    meta: JobMeta
    archive_id: str
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., filename: _Optional[str] = ..., output_path: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ..., meta: _Optional[_Union[JobMeta, _Mapping]] = ..., archive_id: _Optional[str] = ...) -> None: ...

class FailJobRequest(_message.Message):
    __slots__ = ("job_id", "attempt", "error_code", "error_message", "retryable")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    attempt: int
    error_code: str
    error_message: str
    retryable: bool
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ..., retryable: _Optional[bool] = ...) -> None: ...

class FinishJobResponse(_message.Message):
    __slots__ = ("accepted", "refusal", "job")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    refusal: Refusal
    job: Job
    def __init__(self, accepted: _Optional[bool] = ..., refusal: _Optional[_Union[Refusal, str]] = ..., job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class CollectionEntry(_message.Message):
    __slots__ = ("key", "url", "title", "index", "refused", "archive_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_ID_FIELD_NUMBER: _ClassVar[int]
    key: str
    url: str
    title: str
    index: int
    refused: str
    archive_id: str
    def __init__(self, key: _Optional[str] = ..., url: _Optional[str] = ..., title: _Optional[str] = ..., index: _Optional[int] = ..., refused: _Optional[str] = ..., archive_id: _Optional[str] = ...) -> None: ...

class ReportCollectionRequest(_message.Message):
    __slots__ = ("job_id", "attempt", "title", "entries", "listed", "truncated")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    LISTED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    attempt: int
    title: str
    entries: _containers.RepeatedCompositeFieldContainer[CollectionEntry]
    listed: int
    truncated: bool
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., title: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[CollectionEntry, _Mapping]]] = ..., listed: _Optional[int] = ..., truncated: _Optional[bool] = ...) -> None: ...

class ReportCollectionResponse(_message.Message):
    __slots__ = ("accepted", "refusal", "job", "created")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    refusal: Refusal
    job: Job
    created: int
    def __init__(self, accepted: _Optional[bool] = ..., refusal: _Optional[_Union[Refusal, str]] = ..., job: _Optional[_Union[Job, _Mapping]] = ..., created: _Optional[int] = ...) -> None: ...

class WatchJobsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JobChange(_message.Message):
    __slots__ = ("kind", "job")
    KIND_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    kind: ChangeKind
    job: Job
    def __init__(self, kind: _Optional[_Union[ChangeKind, str]] = ..., job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: int
    def __init__(self, days: _Optional[int] = ...) -> None: ...

class StatsFigures(_message.Message):
    __slots__ = ("completed", "failed", "cancelled", "bytes_downloaded", "median_duration_seconds", "p95_duration_seconds", "retries")
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    BYTES_DOWNLOADED_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    P95_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    completed: int
    failed: int
    cancelled: int
    bytes_downloaded: int
    median_duration_seconds: float
    p95_duration_seconds: float
    retries: int
    def __init__(self, completed: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ..., bytes_downloaded: _Optional[int] = ..., median_duration_seconds: _Optional[float] = ..., p95_duration_seconds: _Optional[float] = ..., retries: _Optional[int] = ...) -> None: ...

class DailyStats(_message.Message):
    __slots__ = ("day", "figures")
    DAY_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    day: str
    figures: StatsFigures
    def __init__(self, day: _Optional[str] = ..., figures: _Optional[_Union[StatsFigures, _Mapping]] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("days", "totals")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[DailyStats]
    totals: StatsFigures
    def __init__(self, days: _Optional[_Iterable[_Union[DailyStats, _Mapping]]] = ..., totals: _Optional[_Union[StatsFigures, _Mapping]] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ("id", "url", "title", "type", "options", "max_items", "interval_seconds", "enabled", "next_check_at", "last_checked_at", "last_error", "last_job_id", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    NEXT_CHECK_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    title: str
    type: JobType
    options: JobOptions
    max_items: int
    interval_seconds: int
    enabled: bool
    next_check_at: _timestamp_pb2.Timestamp
    last_checked_at: _timestamp_pb2.Timestamp
    last_error: str
    last_job_id: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., title: _Optional[str] = ..., type: _Optional[_Union[JobType, str]] = ..., options: _Optional[_Union[JobOptions, _Mapping]] = ..., max_items: _Optional[int] = ..., interval_seconds: _Optional[int] = ..., enabled: _Optional[bool] = ..., next_check_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., last_job_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSubscriptionRequest(_message.Message):
    __slots__ = ("url", "type", "options", "interval_seconds", "max_items")
    URL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    url: str
    type: JobType
    options: JobOptions
    interval_seconds: int
    max_items: int
    def __init__(self, url: _Optional[str] = ..., type: _Optional[_Union[JobType, str]] = ..., options: _Optional[_Union[JobOptions, _Mapping]] = ..., interval_seconds: _Optional[int] = ..., max_items: _Optional[int] = ...) -> None: ...

class SubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class GetSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id",)
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class ListSubscriptionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSubscriptionsResponse(_message.Message):
    __slots__ = ("subscriptions", "next_page_token")
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    next_page_token: str
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id", "interval_seconds", "options", "max_items", "enabled")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    interval_seconds: int
    options: JobOptions
    max_items: int
    enabled: bool
    def __init__(self, subscription_id: _Optional[str] = ..., interval_seconds: _Optional[int] = ..., options: _Optional[_Union[JobOptions, _Mapping]] = ..., max_items: _Optional[int] = ..., enabled: _Optional[bool] = ...) -> None: ...

class CheckSubscriptionResponse(_message.Message):
    __slots__ = ("job_id", "created", "subscription")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    created: bool
    subscription: Subscription
    def __init__(self, job_id: _Optional[str] = ..., created: _Optional[bool] = ..., subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class ArchiveEntry(_message.Message):
    __slots__ = ("id", "archive_id", "extractor", "media_id", "url", "title", "job_id", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_ID_FIELD_NUMBER: _ClassVar[int]
    EXTRACTOR_FIELD_NUMBER: _ClassVar[int]
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    archive_id: str
    extractor: str
    media_id: str
    url: str
    title: str
    job_id: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., archive_id: _Optional[str] = ..., extractor: _Optional[str] = ..., media_id: _Optional[str] = ..., url: _Optional[str] = ..., title: _Optional[str] = ..., job_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListArchiveRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListArchiveResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ArchiveEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[ArchiveEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteArchiveEntryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteArchiveEntryResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: ArchiveEntry
    def __init__(self, entry: _Optional[_Union[ArchiveEntry, _Mapping]] = ...) -> None: ...
