"""A collection's files as one ZIP, streamed: `GET /files/{parentId}/download` on a collection.

The archive is written as it is sent, so the gateway's memory stays flat whatever the total size:
the children are read from jobstore a page at a time, each file a chunk at a time, and every
chunk waits for the client to take the one before (aiohttp's `StreamResponse.write` drains the
socket), so a slow reader slows the reading of the disk instead of filling memory.

The standard library's zipfile writes to a stream it cannot seek: each member's sizes and CRC
follow its data in a data descriptor, ZIP64 records are forced so no size is too big, and media
is STORED (it does not compress). Members are named `0001 - <safe file name>` by entry index,
with worker.naming's rules for a name (a pure module the worker names its files with), so no
member has a separator, a `..`, a leading dot or a control character, and a name seen twice gets
a ` (2)` before its extension. A child whose file is gone, or would lie outside its folder, is
left out and logged; the rest still make a valid archive.
"""

from __future__ import annotations

import asyncio
import re
import time
import zipfile
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import structlog
from aiohttp import web

from gateway.errors import ApiError
from gateway.files import content_disposition, resolve_inside
from gateway.jobstore_client import JobstoreClient
from haul.contract.filenames import safe_filename
from haul.jobstore.v1 import jobstore_pb2 as pb

log = structlog.get_logger(__name__)

CHUNK = 1024 * 1024  # bytes read from disk, and sent, at a time
PAGE = 100  # children read from jobstore at a time
INDEX_WIDTH = 4  # "0001"; wider when a collection has more entries
DOTS = re.compile(r"\.{2,}")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP header can hold


@dataclass(frozen=True)
class Member:
    """One completed child's file, as it goes into the archive."""

    name: str
    path: Path
    size: int
    mtime: float


class MemberNames:
    """Safe, unique member names: `0001 - name.ext`, then `0001 - name (2).ext` on a clash
    (compared case-insensitively, as unpacking on a case-insensitive disk would)."""

    def __init__(self, total: int) -> None:
        self._width = max(INDEX_WIDTH, len(str(total)))
        self._taken: set[str] = set()

    def name(self, index: int, filename: str) -> str:
        base = component(f"{index:0{self._width}d} - {component(filename)}")
        stem, dot, extension = base.rpartition(".") if "." in base else (base, "", "")
        candidate, copy = base, 1
        while candidate.casefold() in self._taken:
            copy += 1
            candidate = f"{stem} ({copy}){dot}{extension}"
        self._taken.add(candidate.casefold())
        return candidate


def component(text: str) -> str:
    """One safe path component (worker.naming's rules), without `..` anywhere in it, which some
    unpackers would still read as a step up."""
    return DOTS.sub(".", safe_filename(text))


def archive_name(parent: pb.Job) -> str:
    """The download's name: the collection's title made safe, with `.zip`."""
    # ".zip" last, so safe_filename keeps it as the extension and cleans the title before it;
    # a title with nothing left to show ("...", invisible characters) names it by its id.
    name = component(f"{parent.collection.title or parent.meta.title}.zip")
    return name if len(name) > len(".zip") and name.endswith(".zip") else f"collection-{parent.id[:8]}.zip"


async def completed_children(jobstore: JobstoreClient, parent_id: str) -> AsyncIterator[pb.Job]:
    """The parent's completed children in entry order, read a page at a time."""
    token = ""
    while True:
        page = await jobstore.list_jobs(
            pb.ListJobsRequest(
                parent_id=parent_id, statuses=[pb.JOB_STATUS_COMPLETED], page_size=PAGE, page_token=token
            )
        )
        for child in page.jobs:
            yield child
        token = page.next_page_token
        if not token or not page.jobs:
            return


def member_of(data_dir: Path, child: pb.Job, names: MemberNames) -> Member | None:
    """The child's file as a member, or None (logged) when it is not on disk where it belongs."""
    try:
        path = resolve_inside(data_dir, child.id, child.filename)
        status = path.stat()
    except (ApiError, OSError):
        log.warning("collection zip skips a missing file", job_id=child.id, parent_id=child.parent_id)
        return None
    return Member(names.name(child.entry_index, child.filename), path, status.st_size, status.st_mtime)


class _Outbox:
    """The file object zipfile writes to: it only gathers bytes until the handler sends them.
    Having no tell() or seek(), it makes zipfile write data descriptors (a stream it cannot seek)."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._pending.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> Iterator[bytes]:
        pending, self._pending = self._pending, []
        return iter(pending)


async def _send(response: web.StreamResponse, outbox: _Outbox) -> None:
    for data in outbox.take():
        await response.write(data)


def _zip_info(member: Member) -> zipfile.ZipInfo:
    stamp = max(time.localtime(member.mtime)[:6], ZIP_EPOCH)
    info = zipfile.ZipInfo(member.name, date_time=stamp)
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = member.size
    info.external_attr = 0o644 << 16
    return info


async def _copy(source: IO[bytes], entry: IO[bytes], response: web.StreamResponse, outbox: _Outbox) -> None:
    while chunk := await asyncio.to_thread(source.read, CHUNK):
        entry.write(chunk)
        await _send(response, outbox)


async def _members(jobstore: JobstoreClient, data_dir: Path, parent: pb.Job) -> AsyncGenerator[Member, None]:
    names = MemberNames(parent.collection.total)
    async for child in completed_children(jobstore, parent.id):
        member = await asyncio.to_thread(member_of, data_dir, child, names)
        if member is not None:
            yield member


async def _write_archive(
    response: web.StreamResponse, members: AsyncGenerator[Member, None], first: Member
) -> int:
    """Every member's file into the ZIP, as it is sent; the number of files written."""
    outbox = _Outbox()
    archive = zipfile.ZipFile(outbox, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True)  # type: ignore[call-overload]
    written = 0
    member: Member | None = first
    while member is not None:
        try:
            source = await asyncio.to_thread(member.path.open, "rb")
        except OSError:
            log.warning("collection zip skips an unreadable file", path=str(member.path))
        else:
            with source, archive.open(_zip_info(member), mode="w", force_zip64=True) as entry:
                await _copy(source, entry, response, outbox)
            await _send(response, outbox)
            written += 1
        member = await anext(members, None)
    archive.close()
    await _send(response, outbox)
    return written


async def stream_collection_zip(
    request: web.Request, jobstore: JobstoreClient, data_dir: Path, parent: pb.Job
) -> web.StreamResponse:
    """Send the parent's completed children's files as one ZIP; 404 when none is on disk."""
    members = _members(jobstore, data_dir, parent)
    # The first file that is there decides between a 404 and a ZIP, before any byte is sent.
    first = await anext(members, None)
    if first is None:
        raise ApiError(404, "no_files", "no entry of this collection has a file to download yet")
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": content_disposition(archive_name(parent)),
            "X-Content-Type-Options": "nosniff",
        }
    )
    try:
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        written = await _write_archive(response, members, first)
        await response.write_eof()
    except ConnectionError:
        log.info("collection zip: the client went away", parent_id=parent.id)
        return response
    except Exception:
        # Headers are sent, so no error reply can follow: the transfer is cut instead of ended,
        # and the client sees a broken download, never a short archive that looks whole.
        log.exception("collection zip broke off", parent_id=parent.id)
        if request.transport is not None:
            request.transport.abort()
        return response
    finally:
        await members.aclose()
    log.info("collection zip sent", parent_id=parent.id, members=written)
    return response
