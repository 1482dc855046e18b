"""The REST API's bodies: the download request and every reply that carries a job.

`gateway.rest` validates requests and shapes replies with these, `haul.contract.from_proto`
fills them from jobstore's messages, and the OpenAPI document (and from it the web UI's types)
takes its schemas from them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from haul.contract import limits
from haul.contract.enums import AudioFormat, JobStage, JobStatus, JobType, VideoContainer
from haul.contract.events import MAX_COLLECTION_ENTRIES
from haul.contract.shapes import Amount, Count, JobIdText, Link, Sha256, Shape, timestamp
from haul.contract.urls import MAX_URL_LENGTH

STATUS_DESCRIPTION = "Where the job is in its life."


class RequestBody(BaseModel):
    """Validated in lax mode, by the camelCase names only; any other key is refused."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True)


class DownloadOptions(RequestBody):
    """The whitelisted options; any other key is refused, never passed to a tool."""

    max_height: Annotated[
        int | None,
        Field(
            ge=0,
            le=limits.MAX_HEIGHT,
            description="For video: the tallest frame height wanted, in pixels; null or 0 means the best.",
        ),
    ] = None
    audio_format: Annotated[AudioFormat | None, Field(description="For audio: the format to extract to.")] = (
        None
    )
    video_container: Annotated[
        VideoContainer | None, Field(description="For video: the container to merge into.")
    ] = None
    redownload: Annotated[
        bool | None,
        Field(
            description="For a collection: download every entry, even the media the archive holds "
            "(`GET /archive`); null or false skips those. A single download is always downloaded."
        ),
    ] = None
    items: Annotated[
        str | None,
        Field(
            max_length=200,
            description='For a collection: which entries, in yt-dlp\'s playlist_items syntax, e.g. "1-10,15"; '
            "null means every entry. Ignored for a single download.",
        ),
    ] = None
    max_items: Annotated[
        int | None,
        Field(
            ge=0,
            le=MAX_COLLECTION_ENTRIES,
            description="For a collection: the most entries to create; null or 0 means the server default.",
        ),
    ] = None


class DownloadRequest(RequestBody):
    """`POST /downloads`."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "url": "https://media.example/clip.mp4",
                "type": "video",
                "options": {"maxHeight": 720},
            }
        }
    )

    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_URL_LENGTH,
            description="The http(s) URL to download: a host, no credentials, no whitespace or control "
            "characters, not starting with '-'. Anything else is refused with `url_refused`.",
            json_schema_extra={"format": "uri"},
        ),
    ]
    type: Annotated[
        JobType, Field(description="Which engine to use; `auto` lets the worker probe the URL.")
    ] = JobType.AUTO
    options: DownloadOptions = Field(default_factory=DownloadOptions)


class Accepted(Shape):
    """A job was created (or replayed)."""

    job_id: JobIdText
    status: Annotated[JobStatus, Field(description=STATUS_DESCRIPTION)]


class JobOptions(Shape):
    """The options the job was created with; null where none was given."""

    max_height: Annotated[int | None, Field(ge=0, le=limits.MAX_HEIGHT, description="Tallest frame height.")]
    audio_format: AudioFormat | None
    video_container: VideoContainer | None


class JobMeta(Shape):
    """What the worker learned about the media; null until it is known."""

    title: Annotated[str | None, Field(description="The title, as the site gives it.")]
    duration: Annotated[Amount | None, Field(description="Length of the media in seconds.")]
    extractor: Annotated[str | None, Field(description='The yt-dlp extractor, or "direct" for plain files.')]
    thumbnail: Annotated[
        Link | None,
        Field(
            description="haul's own copy of the media's thumbnail (`/files/{jobId}/thumbnail`), or null "
            "when none was saved. Never the site's address: the worker fetched the image through the "
            "egress guard."
        ),
    ]


class CollectionSummary(Shape):
    """What a collection (a playlist, channel or feed whose entries are child jobs) holds."""

    title: Annotated[str | None, Field(description="The collection's title, as the source gives it.")]
    total: Annotated[Count, Field(description="Children created, one per chosen entry.")]
    queued: Annotated[Count, Field(description="Children waiting for a worker.")]
    running: Annotated[Count, Field(description="Children being downloaded.")]
    paused: Annotated[Count, Field(description="Children paused.")]
    completed: Annotated[Count, Field(description="Children completed.")]
    failed: Annotated[Count, Field(description="Children failed for good, refused entries included.")]
    cancelled: Annotated[Count, Field(description="Children cancelled.")]
    skipped: Annotated[Count, Field(description="Entries skipped because the archive holds their media.")]
    listed: Annotated[
        Count, Field(description="Entries the source listed, before `items` and `maxItems` chose.")
    ]
    truncated: Annotated[bool, Field(description="True when `maxItems` cut entries off.")]


class JobLinks(Shape):
    self_link: Annotated[Link, Field(alias="self", description="This job.")]
    file: Annotated[Link | None, Field(description="The file's metadata, once completed.")]
    download: Annotated[Link | None, Field(description="The file's bytes, once completed.")]


class Job(Shape):
    """A job, as every endpoint that returns one shows it."""

    id: JobIdText
    url: Annotated[str, Field(description="The URL being downloaded.")]
    type: Annotated[JobType, Field(description="What kind of download this is.")]
    options: JobOptions
    status: Annotated[JobStatus, Field(description=STATUS_DESCRIPTION)]
    stage: Annotated[JobStage, Field(description="The step a running job is on, for display.")]
    progress: Annotated[float, Field(ge=0, le=100, description="Percent done.")]
    downloaded_bytes: Annotated[
        Count,
        Field(
            description="Bytes received so far in this attempt; once completed, the file's size "
            "(a converted file's, not the source's)."
        ),
    ]
    total_bytes: Annotated[
        Count | None, Field(description="Bytes expected; null when unknown. Once completed, the file's size.")
    ]
    speed: Annotated[Amount | None, Field(description="Bytes per second; null when unknown.")]
    eta: Annotated[Amount | None, Field(description="Seconds left; null when unknown.")]
    filename: Annotated[str | None, Field(description="The final file's name; null until completed.")]
    size: Annotated[Count | None, Field(description="The final file's size in bytes; null unless completed.")]
    sha256: Sha256 | None
    error_code: Annotated[str | None, Field(description="Why the last attempt failed, e.g. `STALLED`.")]
    error_message: Annotated[str | None, Field(description="The last failure, in words.")]
    meta: JobMeta
    attempt: Annotated[Count, Field(description="How many times the job has been claimed.")]
    max_attempts: Annotated[Count, Field(description="Claims allowed per window of attempts.")]
    created_at: Annotated[str, timestamp("When the job was created.")]
    updated_at: Annotated[str, timestamp("When the job last changed.")]
    started_at: Annotated[str | None, timestamp("When the current attempt started.")]
    finished_at: Annotated[str | None, timestamp("When the job reached a terminal status.")]
    parent_id: Annotated[
        JobIdText | None, Field(description="The collection this job is an entry of; null at top level.")
    ] = None
    entry_index: Annotated[
        Count | None, Field(description="The entry's position in its collection, from 1; null at top level.")
    ] = None
    collection: Annotated[
        CollectionSummary | None,
        Field(
            description="Only on a collection: its entries' counts. Its status and progress follow its "
            "children's; null for any other job."
        ),
    ] = None
    links: JobLinks


class HistoryEvent(Shape):
    """One status change of a job."""

    at: Annotated[str, timestamp("When it happened.")]
    from_status: Annotated[
        JobStatus | None, Field(alias="from", description="The status before; null for the creation event.")
    ]
    to_status: Annotated[JobStatus, Field(alias="to", description=STATUS_DESCRIPTION)]
    actor: Annotated[str, Field(description='Who caused it: "api", "worker:<id>" or "reaper".')]
    reason: Annotated[str, Field(description="Why, in words.")]


class JobDetail(Job):
    """A job with its status history, oldest first."""

    history: list[HistoryEvent]


class JobPage(Shape):
    """One page of jobs."""

    items: Annotated[list[Job], Field(description="Newest first.")]
    next_cursor: Annotated[
        str | None, Field(description="Pass as `cursor` for the next page; null on the last.")
    ]


class Deleted(Shape):
    """The job and its files are gone."""

    job_id: JobIdText
    deleted: Literal[True]
    status: Annotated[JobStatus, Field(description="The job's status just before it was deleted.")]


class FileInfo(Shape):
    """A finished file."""

    job_id: JobIdText
    filename: Annotated[str, Field(description="The file's name.")]
    size: Annotated[Count, Field(description="The file's size in bytes.")]
    sha256: Sha256
    download_url: Annotated[Link, Field(description="Where to fetch the bytes.")]
