"""What every download engine shares: its result, and how it is told to stop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from haul.contract.events import JobSpec, MediaMeta
from worker.samples import Sample

OnSample = Callable[[Sample], None]
# Returns the control action ("cancel", "pause", "abort") when the job must stop, else None.
StopCheck = Callable[[], str | None]


class StopRequested(Exception):
    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


class DownloadFailed(Exception):
    """The download cannot finish. `code` is a stable upper-case reason for the job's error."""

    def __init__(self, code: str, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable


@dataclass(frozen=True)
class Downloaded:
    path: Path
    # The name the file should get, before it is made safe; the title, or the server's name.
    suggested_name: str
    extension: str
    meta: MediaMeta = field(default_factory=MediaMeta)
    # What the source announced, for the completeness check: a byte count (plain files)
    # and, in meta, a duration (media).
    announced_bytes: int | None = None
    # The media's identity in the download archive (worker.media_identity), when the engine read
    # one (yt-dlp); empty otherwise, and the job's URL gives it.
    archive_id: str = ""


class Engine(Protocol):
    def run(self, spec: JobSpec, work_dir: Path, on_sample: OnSample, should_stop: StopCheck) -> Downloaded:
        """Download into work_dir, reporting readings; raise StopRequested or DownloadFailed."""
