"""`GET /archive` and `DELETE /archive/{id}`: the download archive, from jobstore's ListArchive and
DeleteArchiveEntry.

The archive holds the identity of every media already downloaded; a collection or subscription
that lists one again skips it (counted as `skipped`), unless its options say `redownload`.
Deleting an entry lets the media be downloaded again; the download's job and files are untouched.
"""

from __future__ import annotations

from aiohttp import web

from gateway.paging import fetch_page, page_query
from gateway.rest import JOBSTORE, canonical_uuid
from haul.contract.archive import ArchiveEntry, ArchivePage
from haul.contract.from_proto import timestamp
from haul.jobstore.v1 import jobstore_pb2 as pb


def entry(message: pb.ArchiveEntry) -> ArchiveEntry:
    return ArchiveEntry.of(
        id=message.id,
        archive_id=message.archive_id,
        extractor=message.extractor,
        media_id=message.media_id,
        url=message.url,
        title=message.title,
        job_id=message.job_id or None,
        created_at=timestamp(message, "created_at"),
    )


async def list_archive(request: web.Request) -> web.Response:
    """A page of the archive, newest first."""
    page_of = page_query(request)
    page = await fetch_page(
        request.app[JOBSTORE].list_archive(
            pb.ListArchiveRequest(page_size=page_of.limit, page_token=page_of.cursor)
        )
    )
    body = ArchivePage.of(items=[entry(e) for e in page.entries], next_cursor=page.next_page_token or None)
    return web.json_response(body.wire())


async def delete_archive_entry(request: web.Request) -> web.Response:
    """Forget one media: the next collection that lists it downloads it again."""
    entry_id = canonical_uuid(request.match_info["entry_id"], "invalid_archive_id", "the archive entry id")
    await request.app[JOBSTORE].delete_archive_entry(entry_id)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/archive", list_archive)
    app.router.add_delete("/archive/{entry_id}", delete_archive_entry)
