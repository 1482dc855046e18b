"""The values a job is made of and that workers report, free of any I/O: what kind of job it is
and the whitelisted options it was asked with (`JobType`, `JobOptions` and its formats), the stage
a download is at (`JobStage`), what a worker learned about the media (`JobMeta`), and a worker's
validated `ProgressReport` and `FileResult`. All are immutable; the `Job` in
`jobstore.domain.model` is what changes.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

# The enums are the contract's, so the domain, the wire and the web UI cannot disagree.
from haul.contract.enums import AudioFormat, JobStage, JobType, VideoContainer
from jobstore.domain.thumbnails import shown_thumbnail

__all__ = [
    "AudioFormat",
    "FileResult",
    "JobMeta",
    "JobOptions",
    "JobStage",
    "JobType",
    "ProgressReport",
    "VideoContainer",
]


@dataclass(frozen=True)
class JobOptions:
    """The whitelisted options; nothing else a caller says reaches a tool."""

    max_height: int = 0
    audio_format: AudioFormat | None = None
    video_container: VideoContainer | None = None
    # For a collection: which entries (yt-dlp's playlist_items syntax) and how many at most
    # (0: the server default). A child does not inherit them.
    items: str = ""
    max_items: int = 0
    # Download again what the archive already holds.
    redownload: bool = False

    def to_json(self) -> dict[str, object]:
        document: dict[str, object] = {
            "max_height": self.max_height,
            "audio_format": self.audio_format.value if self.audio_format else None,
            "video_container": self.video_container.value if self.video_container else None,
        }
        # The collection options only when set: a single download's document stays as it was.
        chosen = {"items": self.items, "max_items": self.max_items, "redownload": self.redownload}
        document.update({name: value for name, value in chosen.items() if value})
        return document

    def for_entry(self) -> JobOptions:
        """The options a collection's child inherits: all but those that choose entries."""
        return dataclasses.replace(self, items="", max_items=0)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> JobOptions:
        audio, container = data.get("audio_format"), data.get("video_container")
        height, items, max_items = data.get("max_height"), data.get("items"), data.get("max_items")
        return cls(
            max_height=height if isinstance(height, int) else 0,
            audio_format=AudioFormat(audio) if isinstance(audio, str) else None,
            video_container=VideoContainer(container) if isinstance(container, str) else None,
            items=items if isinstance(items, str) else "",
            max_items=max_items if isinstance(max_items, int) else 0,
            redownload=data.get("redownload") is True,
        )


@dataclass(frozen=True)
class JobMeta:
    """What the worker learned about the media."""

    title: str = ""
    duration: float = 0.0
    extractor: str = ""
    thumbnail: str = ""

    def to_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> JobMeta:
        duration = data.get("duration")
        return cls(
            title=str(data.get("title") or ""),
            duration=float(duration) if isinstance(duration, int | float) else 0.0,
            extractor=str(data.get("extractor") or ""),
            # A row written before thumbnails were saved copies may hold a site's URL: never hand it on.
            thumbnail=shown_thumbnail(str(data.get("thumbnail") or "")),
        )


@dataclass(frozen=True)
class ProgressReport:
    """One validated progress update from a worker."""

    job_id: uuid.UUID
    attempt: int
    seq: int
    stage: JobStage
    progress: float
    downloaded_bytes: int
    total_bytes: int | None = None
    speed: float | None = None
    eta: float | None = None
    meta: JobMeta | None = None


@dataclass(frozen=True)
class FileResult:
    """What a worker hands over when it completes a job."""

    filename: str
    output_path: str
    size: int
    sha256: str
    meta: JobMeta | None = None
