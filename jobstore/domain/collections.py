"""Collections (a playlist, channel or feed expanded into child jobs), free of any I/O: the
summary a parent carries, the rule that derives a parent's status and progress from its
children's, the entries a worker reports, and the `items` syntax that chooses among them.

The rule, in order:
- any child queued or running: the parent is running;
- else any child paused: paused;
- else (every child terminal, or none at all): cancelled when every child was cancelled,
  failed when any failed, else completed.
The parent's progress is the mean of its children's, a terminal child counting as 100.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from haul.contract.enums import JobStatus

# Options that choose a collection's entries; a child does not inherit them.
MAX_ITEMS_TEXT = 200
# The server default for max_items is a setting; no request may go past this.
HARD_MAX_ITEMS = 5000
# Positions are from 1 in the source's listing; far above any real one, within a 32-bit column.
MAX_ENTRY_INDEX = 10_000_000
# A child created for an entry the worker's URL policy refused.
ENTRY_REFUSED = "ENTRY_REFUSED"

_INDEX = r"-?[1-9][0-9]{0,5}"
# One comma-separated part of yt-dlp's playlist_items: an index, a range "a-b", or a slice
# "a:b[:step]" whose ends may be left out.
ITEMS_PART = re.compile(
    rf"{_INDEX}|[1-9][0-9]{{0,5}}-[1-9][0-9]{{0,5}}|(?:{_INDEX})?:(?:{_INDEX})?(?::{_INDEX})?"
)


def items_problem(items: str) -> str | None:
    """Why `items` is not playlist_items syntax this service accepts; None when it is."""
    if len(items) > MAX_ITEMS_TEXT:
        return f"items is longer than {MAX_ITEMS_TEXT} characters"
    if items and not all(ITEMS_PART.fullmatch(part) for part in items.split(",")):
        return 'items must be comma-separated indexes from 1, ranges "a-b" or slices "a:b[:step]", e.g. "1-10,15"'
    return None


@dataclass(frozen=True)
class CollectionSummary:
    """What a parent holds: its title, its children's counts, and what the source listed."""

    title: str = ""
    total: int = 0
    queued: int = 0
    running: int = 0
    paused: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0
    listed: int = 0
    truncated: bool = False

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None) -> CollectionSummary | None:
        if data is None:
            return None
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)  # type: ignore[arg-type]

    def counted(self, counts: ChildCounts) -> CollectionSummary:
        """This summary with its children's counts replaced by `counts`."""
        by = counts.by_status
        return CollectionSummary(
            title=self.title,
            total=counts.total,
            queued=by.get(JobStatus.QUEUED, 0),
            running=by.get(JobStatus.RUNNING, 0),
            paused=by.get(JobStatus.PAUSED, 0),
            completed=by.get(JobStatus.COMPLETED, 0),
            failed=by.get(JobStatus.FAILED, 0),
            cancelled=by.get(JobStatus.CANCELLED, 0),
            skipped=self.skipped,
            listed=self.listed,
            truncated=self.truncated,
        )


@dataclass(frozen=True)
class ChildCounts:
    """A parent's children, as one aggregate read gives them: how many in each status, and the
    sum of the progress of those not terminal."""

    by_status: Mapping[JobStatus, int]
    unfinished_progress: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def status(self) -> JobStatus:
        """The parent's status, by the rule in the module docstring."""
        by = self.by_status
        if by.get(JobStatus.QUEUED, 0) or by.get(JobStatus.RUNNING, 0):
            return JobStatus.RUNNING
        if by.get(JobStatus.PAUSED, 0):
            return JobStatus.PAUSED
        total = self.total
        if total and by.get(JobStatus.CANCELLED, 0) == total:
            return JobStatus.CANCELLED
        if by.get(JobStatus.FAILED, 0):
            return JobStatus.FAILED
        return JobStatus.COMPLETED

    def progress(self) -> float:
        """The mean of the children's progress, terminal ones at 100; 100 with no children."""
        total = self.total
        if not total:
            return 100.0
        finished = sum(n for status, n in self.by_status.items() if status.terminal)
        return min(100.0, (self.unfinished_progress + 100.0 * finished) / total)


@dataclass(frozen=True)
class CollectionEntry:
    """One entry a worker resolved: its key within the collection, URL, title and position,
    and why the worker's URL policy refused it (empty when it did not)."""

    key: str
    url: str
    title: str
    index: int
    refused: str = ""
    # The media's identity in the download archive (jobstore.domain.archive); empty: never skipped.
    archive_id: str = ""


@dataclass(frozen=True)
class CollectionReport:
    """A worker's validated report that a job's URL is a collection."""

    attempt: int
    title: str
    entries: tuple[CollectionEntry, ...]
    listed: int
    truncated: bool
