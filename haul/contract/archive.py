"""The REST bodies of the download archive (`GET /archive`, `DELETE /archive/{id}`).

`gateway.archive_routes` fills them from jobstore's ListArchive; the OpenAPI document, and from
it the web UI's types, take their schemas from them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from haul.contract import limits
from haul.contract.shapes import JobIdText, Shape, timestamp

ARCHIVE_ID_DESCRIPTION = (
    "The media's identity, in yt-dlp's download-archive form: `<extractor key lowercased> <media id>` "
    "(e.g. `youtube dQw4w9WgXcQ`, `generic episode-12`), or `url <url>` for a download without a "
    "media id (a plain file)."
)


class ArchiveEntry(Shape):
    """One media already downloaded: a collection or subscription that lists it again skips it."""

    id: Annotated[
        str,
        Field(
            description="The entry's UUID, for `DELETE /archive/{id}`.", json_schema_extra={"format": "uuid"}
        ),
    ]
    archive_id: Annotated[str, Field(max_length=limits.MAX_ARCHIVE_ID, description=ARCHIVE_ID_DESCRIPTION)]
    extractor: Annotated[
        str, Field(description='The extractor part of `archiveId`; `"url"` without a media id.')
    ]
    media_id: Annotated[str, Field(description="The media id part of `archiveId`; the URL for `url`.")]
    url: Annotated[str, Field(description="The URL of the download that recorded it.")]
    title: Annotated[str, Field(description="The media's title, as that download knew it; may be empty.")]
    job_id: Annotated[
        JobIdText | None,
        Field(description="The download that recorded it; it may have been deleted since (the entry stays)."),
    ]
    created_at: Annotated[str, timestamp("When it was recorded.")]


class ArchivePage(Shape):
    """One page of the archive."""

    items: Annotated[list[ArchiveEntry], Field(description="Newest first.")]
    next_cursor: Annotated[
        str | None, Field(description="Pass as `cursor` for the next page; null on the last.")
    ]
