"""Use cases of the download archive (jobstore.domain.archive).

Two run inside other use cases' transactions (jobstore.service, jobstore.collection_service): a
completion records its media's identity, and a collection report leaves out the entries whose
identity is archived.
The others are the archive's own: list it, and forget one entry so the media is downloaded again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from jobstore.domain.archive import ArchiveEntry, ArchiveEntryNotFound
from jobstore.domain.collections import CollectionEntry
from jobstore.domain.model import Job
from jobstore.paging import after_newest, cut_page, newest_token
from jobstore.ports import UnitOfWork


@dataclass(frozen=True)
class ArchivePage:
    entries: list[ArchiveEntry]
    next_page_token: str


async def record_completion(uow: UnitOfWork, job: Job, archive_id: str, at: datetime) -> None:
    """Inside the completion's transaction: archive what `job` downloaded, unless its identity is
    archived already (then nothing changes) or the worker gave none."""
    if archive_id:
        await uow.archive.add(ArchiveEntry.record(archive_id, job.url, job.meta.title, job.id, at))


async def unarchived(
    uow: UnitOfWork, parent: Job, entries: Sequence[CollectionEntry]
) -> tuple[list[CollectionEntry], int]:
    """Inside a collection report's transaction: the entries to create children for, and how
    many were skipped because the archive holds their media. A parent with options.redownload
    skips nothing; an entry without an identity is never skipped."""
    if parent.options.redownload:
        return list(entries), 0
    held = await uow.archive.held(e.archive_id for e in entries)
    kept = [e for e in entries if not e.archive_id or e.archive_id not in held]
    return kept, len(entries) - len(kept)


async def list_archive(uow: UnitOfWork, page_size: int, page_token: str) -> ArchivePage:
    """A page of the archive, newest first; the token is ListJobs' kind (created_at, id)."""
    after = after_newest(page_token)
    async with uow:
        entries = await uow.archive.list_page(page_size + 1, after)
    return ArchivePage(*cut_page(entries, page_size, newest_token))


async def delete_archive_entry(uow: UnitOfWork, entry_id: uuid.UUID) -> ArchiveEntry:
    """Forget one archived media: the next collection that lists it downloads it again. Raises
    ArchiveEntryNotFound when there is no such entry."""
    async with uow:
        entry = await uow.archive.get(entry_id)
        if entry is None:
            raise ArchiveEntryNotFound(entry_id)
        await uow.archive.delete(entry_id)
        await uow.commit()
    return entry
