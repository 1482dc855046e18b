"""`GET /archive` and `DELETE /archive/{id}`: the download archive, from jobstore's ListArchive and
DeleteArchiveEntry.

The archive holds the identity of every media already downloaded; a collection or subscription
that lists one again skips it (counted as `skipped`), unless its options say `redownload`.
Deleting an entry lets the media be downloaded again; the download's job and files are untouched.
"""

from __future__ import annotations

import grpc
from aiohttp import web

from gateway.errors import ApiError
from gateway.rest import JOBSTORE, canonical_uuid
from haul.contract import limits
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
    try:
        limit = int(request.query.get("limit", limits.DEFAULT_PAGE_SIZE))
    except ValueError:
        raise ApiError(400, "invalid_limit", "limit must be a whole number") from None
    if not 1 <= limit <= limits.MAX_PAGE_SIZE:
        raise ApiError(400, "invalid_limit", f"limit must be between 1 and {limits.MAX_PAGE_SIZE}")
    token = request.query.get("pageToken", "")
    if len(token) > limits.MAX_SHORT_TEXT:
        raise ApiError(400, "invalid_page_token", "the page token is not one this server issued")
    try:
        page = await request.app[JOBSTORE].list_archive(
            pb.ListArchiveRequest(page_size=limit, page_token=token)
        )
    except grpc.aio.AioRpcError as exc:
        # The limit is checked above, so the token is the only thing jobstore can refuse.
        if exc.code() is grpc.StatusCode.INVALID_ARGUMENT:
            raise ApiError(
                400, "invalid_page_token", "the page token is not one this server issued"
            ) from None
        raise
    body = ArchivePage.of(
        items=[entry(e) for e in page.entries], next_page_token=page.next_page_token or None
    )
    return web.json_response(body.wire())


async def delete_archive_entry(request: web.Request) -> web.Response:
    """Forget one media: the next collection that lists it downloads it again."""
    entry_id = canonical_uuid(request.match_info["entry_id"], "invalid_archive_id", "the archive entry id")
    await request.app[JOBSTORE].delete_archive_entry(entry_id)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/archive", list_archive)
    app.router.add_delete("/archive/{entry_id}", delete_archive_entry)
