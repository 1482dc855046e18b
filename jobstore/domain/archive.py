"""The download archive: the identities of media already downloaded, so that a collection
listed again (a resubmitted feed, a subscription's next check) skips them.

An identity is yt-dlp's download-archive form, "<extractor key lowercased> <media id>", or
"url <url>" for a download without a media id; workers compute it (worker.media_identity), and
jobstore only checks its shape. One row per identity: recording it again changes nothing, and
the row outlives its job, so deleting a download does not make a feed fetch it again; deleting
the archive entry does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from haul.contract.limits import MAX_ARCHIVE_ID
from jobstore.domain.errors import InvalidInput, JobstoreError

URL_EXTRACTOR = "url"


class ArchiveEntryNotFound(JobstoreError):
    def __init__(self, entry_id: object) -> None:
        super().__init__(f"archive entry {entry_id} not found")


@dataclass(frozen=True)
class ArchiveEntry:
    id: uuid.UUID
    archive_id: str
    extractor: str
    media_id: str
    url: str
    title: str
    job_id: uuid.UUID | None
    created_at: datetime

    @classmethod
    def record(cls, archive_id: str, url: str, title: str, job_id: uuid.UUID, now: datetime) -> ArchiveEntry:
        """A new entry for a download of `url` whose identity is `archive_id` (already checked)."""
        extractor, _, media_id = archive_id.partition(" ")
        return cls(uuid.uuid4(), archive_id, extractor, media_id, url, title, job_id, now)


def checked_archive_id(value: str, field: str = "archive_id") -> str:
    """`value` when it is an identity of the download-archive form (or empty: none), else
    InvalidInput: an extractor without spaces, one space, a media id, no control characters."""
    if not value:
        return ""
    if len(value) > MAX_ARCHIVE_ID:
        raise InvalidInput(f"{field} is longer than {MAX_ARCHIVE_ID} characters")
    extractor, space, media_id = value.partition(" ")
    if not (extractor and space and media_id.strip()) or extractor != extractor.lower():
        raise InvalidInput(f'{field} must be "<extractor key lowercased> <media id>" or "url <url>"')
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"{field} must not contain control characters")
    return value


def entry_id(text: str) -> uuid.UUID:
    """An archive entry's id, in the canonical hyphenated form only, else InvalidInput."""
    try:
        parsed = uuid.UUID(text)
    except (ValueError, TypeError):
        raise InvalidInput(f"id {text[:64]!r} is not a UUID") from None
    if str(parsed) != text.lower():
        raise InvalidInput(f"id {text[:64]!r} is not a canonical UUID")
    return parsed
