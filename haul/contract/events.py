"""The `/worker` Socket.IO contract: what workers send and what the gateway sends back.

Both sides import these models; neither imports the other. Payloads are JSON objects with
camelCase keys. Every model refuses unknown fields, wrong types (strict mode: no "5" for 5,
no true for 1), NaN and infinities, and values outside the shared limits.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict
from pydantic.alias_generators import to_camel

from haul.contract import limits
from haul.contract.enums import AudioFormat, JobStage, JobType, VideoContainer
from haul.contract.urls import MAX_URL_LENGTH

WORKER_NAMESPACE = "/worker"
# The most entries one collection may hold: jobstore's hard cap (HARD_MAX_ITEMS; a test holds
# them equal). jobstore's own default (HAUL_COLLECTION_MAX_ITEMS) is applied by jobstore.
MAX_COLLECTION_ENTRIES = 5000
# An entry's position, as jobstore bounds it (MAX_ENTRY_INDEX).
MAX_ENTRY_INDEX = 10_000_000
BROWSER_NAMESPACE = "/jobs"

# The stages a worker may report: jobstore alone sets `queued` and `done`.
Stage = Literal[
    JobStage.RESOLVING, JobStage.DOWNLOADING, JobStage.MERGING, JobStage.POSTPROCESSING, JobStage.FINALIZING
]
ControlAction = Literal["cancel", "pause", "abort"]


def _canonical_uuid(value: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ValueError("not a UUID") from None
    if str(parsed) != value.lower():
        raise ValueError("not a canonical UUID")
    return str(parsed)


def _no_nul(value: str) -> str:
    # jobstore refuses NUL in every text field; refusing it here keeps a bad field from
    # reaching jobstore at all, where it would fail a whole batch.
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


NoNul = AfterValidator(_no_nul)
Title = Annotated[str, Field(max_length=limits.MAX_TITLE), NoNul]
ShortText = Annotated[str, Field(max_length=limits.MAX_SHORT_TEXT), NoNul]
Identifier = Annotated[str, Field(min_length=1, max_length=limits.MAX_SHORT_TEXT), NoNul]
ToolName = Annotated[str, Field(max_length=64), NoNul]
ToolState = Annotated[str, Field(max_length=limits.MAX_REASON), NoNul]
PathText = Annotated[str, Field(max_length=limits.MAX_PATH), NoNul]
FileName = Annotated[str, Field(min_length=1, max_length=limits.MAX_PATH), NoNul]
Message = Annotated[str, Field(max_length=limits.MAX_MESSAGE), NoNul]
ArchiveId = Annotated[str, Field(max_length=limits.MAX_ARCHIVE_ID), NoNul]


JobId = Annotated[str, Field(max_length=36), AfterValidator(_canonical_uuid)]
Attempt = Annotated[int, Field(ge=1, le=limits.MAX_ATTEMPT)]
Seq = Annotated[int, Field(ge=0, le=limits.MAX_SEQ)]
Bytes = Annotated[int, Field(ge=0, le=limits.MAX_BYTES)]
# The per-claim secret the claim reply gives; without it an event speaks for no attempt.
CLAIM_SECRET_PATTERN = r"[A-Za-z0-9_-]{16,64}"
ClaimSecret = Annotated[str, Field(max_length=64, pattern=f"^{CLAIM_SECRET_PATTERN}$")]


def _finite(maximum: float) -> Any:
    return Field(ge=0, le=maximum, allow_inf_nan=False)


class WireModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    def wire(self) -> dict[str, Any]:
        """The JSON object to emit: camelCase keys, unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class MediaMeta(WireModel):
    title: Title = ""
    duration: Annotated[float, _finite(limits.MAX_DURATION)] = 0.0
    extractor: ShortText = ""
    thumbnail: PathText = ""


class WorkerHello(WireModel):
    """Sent once after connecting: who the worker is and which tools it runs."""

    worker_id: Identifier
    tools: Annotated[dict[ToolName, ToolState], Field(max_length=16)] = {}


class ClaimRequest(WireModel):
    """`claim`: the worker asks to start a job it dequeued. Acked with a `ClaimReply`."""

    job_id: JobId


class JobSpec(WireModel):
    """What to download, as jobstore stored it: handed to the worker with its claim."""

    # Strict mode takes only enum instances from Python; the reply arrives as decoded JSON text.
    url: Annotated[str, Field(max_length=8192)]
    type: Annotated[JobType, Strict(False)]
    max_height: int | None = None
    audio_format: Annotated[AudioFormat, Strict(False)] | None = None
    video_container: Annotated[VideoContainer, Strict(False)] | None = None
    # The collection this job is an entry of: an entry is downloaded, never resolved again.
    parent_id: JobId | None = None
    # For a collection: which entries (yt-dlp's playlist_items syntax) and at most how many; none
    # means every entry, up to jobstore's default cap, which jobstore applies (the worker does not know it).
    items: Annotated[str, Field(max_length=limits.MAX_SHORT_TEXT)] | None = None
    max_items: Annotated[int, Field(ge=1, le=MAX_COLLECTION_ENTRIES)] | None = None


class ClaimReply(WireModel):
    ok: bool
    # The fencing token to put on every event of this attempt; only when ok.
    attempt: int | None = None
    # What to download; only when ok.
    job: JobSpec | None = None
    # Proof of this claim, to put on every event of the attempt (also after reconnecting); only when ok.
    claim_secret: str | None = None
    # A jobstore refusal name (e.g. "job_finished"), or "unavailable" when the claim should be retried.
    refusal: str | None = None


class ProgressEvent(WireModel):
    """`progress`: the latest state of one attempt. The gateway keeps only the newest per job."""

    job_id: JobId
    attempt: Attempt
    seq: Seq
    # The claim reply's secret: the gateway refuses events of an attempt without it.
    claim_secret: ClaimSecret | None = None
    stage: Stage
    progress: Annotated[float, _finite(100.0)]
    downloaded_bytes: Bytes = 0
    total_bytes: Bytes | None = None
    speed: Annotated[float, _finite(limits.MAX_SPEED)] | None = None
    eta: Annotated[float, _finite(limits.MAX_ETA)] | None = None
    meta: MediaMeta | None = None


class CompletedEvent(WireModel):
    """`completed`: the file is in place. Acked with a `TerminalReply` once jobstore committed it."""

    job_id: JobId
    attempt: Attempt
    seq: Seq
    # The claim reply's secret: the gateway refuses events of an attempt without it.
    claim_secret: ClaimSecret | None = None
    filename: FileName
    output_path: PathText
    size: Bytes
    sha256: Annotated[str, Field(pattern=f"^{limits.SHA256_PATTERN}$")]
    meta: MediaMeta | None = None
    # The media's identity for the download archive (worker.media_identity): yt-dlp's
    # download-archive form, "<extractor key lowercased> <media id>", or "url <url>".
    archive_id: ArchiveId | None = None


class FailedEvent(WireModel):
    """`failed`: this attempt gave up. Acked with a `TerminalReply` once jobstore committed it."""

    job_id: JobId
    attempt: Attempt
    seq: Seq
    # The claim reply's secret: the gateway refuses events of an attempt without it.
    claim_secret: ClaimSecret | None = None
    error_code: Annotated[str, Field(pattern=f"^{limits.ERROR_CODE_PATTERN}$")]
    message: Message = ""
    retryable: bool = False


class CollectionEntry(WireModel):
    """One entry of a resolved collection, as jobstore's ReportCollection takes it."""

    # Stable within the collection (the media id, or the URL): a resent report creates no second child.
    key: Annotated[str, Field(min_length=1, max_length=limits.MAX_PATH), NoNul]
    url: Annotated[str, Field(max_length=MAX_URL_LENGTH), NoNul]
    title: Title = ""
    # Its position in the source's listing, from 1.
    index: Annotated[int, Field(ge=0, le=MAX_ENTRY_INDEX)]
    # Why the worker's URL policy refused the entry; jobstore makes it a failed child.
    refused: Message | None = None
    # The media's identity for the download archive, as CompletedEvent's: jobstore skips an entry
    # the archive holds (unless the job says redownload).
    archive_id: ArchiveId | None = None


class CollectionEvent(WireModel):
    """`collection`: the job's URL is a collection (a playlist, channel or feed); this attempt
    downloads nothing, and jobstore creates one child per entry. Acked with a `TerminalReply`."""

    job_id: JobId
    attempt: Attempt
    seq: Seq
    # The claim reply's secret: the gateway refuses events of an attempt without it.
    claim_secret: ClaimSecret | None = None
    title: Title = ""
    # How many entries the source listed before items and max_items chose.
    listed: Annotated[int, Field(ge=0, le=MAX_ENTRY_INDEX)] = 0
    # True when the cap or a resolution budget cut entries off the end.
    truncated: bool = False
    entries: Annotated[list[CollectionEntry], Field(max_length=MAX_COLLECTION_ENTRIES)]


class TerminalReply(WireModel):
    """The ack of `completed`, `failed` and `collection`. `ok` false with refusal "unavailable"
    means: resend."""

    ok: bool
    refusal: str | None = None


class ControlMessage(WireModel):
    """`control`, gateway → worker: stop this job. `cancel` also removes partial files; `pause`
    keeps them; `abort` means this attempt no longer owns the job (keep files, report nothing)."""

    job_id: JobId
    action: ControlAction
    reason: Message = ""
