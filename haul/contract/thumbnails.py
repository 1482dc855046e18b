"""What a thumbnail is in haul: a small raster image the worker saved beside the job's file.

The page never loads a thumbnail from where the site said it is: that would be a request the
*browser* makes, from inside the user's network, to an address a remote site chose, which no
egress guard sees. Instead the worker fetches it through the job's egress guard and keeps a
copy at `DATA_DIR/{jobId}/.thumbnail.<ext>`, and the gateway serves that copy at
`/files/{jobId}/thumbnail`. So a job's `meta.thumbnail` is, in jobstore, the *name* of that copy
(one of the names below) or empty, and, to browsers and REST clients, the haul link or null.

A copy is only ever JPEG, PNG, WebP or GIF, recognised by its first bytes (never by what the
server says), at most MAX_THUMBNAIL_BYTES: no SVG, which can carry script and load other URLs.
`safe_filename` strips leading dots, so a downloaded file can never take one of these names.
"""

from __future__ import annotations

MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024
# What a copy's name may end with, and the Content-Type it is served with.
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
THUMBNAIL_NAMES = frozenset(f".thumbnail.{extension}" for extension in CONTENT_TYPES)
# Enough of the start of a file to tell these formats apart.
MAGIC_LENGTH = 12


def thumbnail_name(extension: str) -> str:
    """The name of a job's copy in its folder, for one of CONTENT_TYPES' extensions."""
    if extension not in CONTENT_TYPES:
        raise ValueError(f"{extension!r} is not a thumbnail format")
    return f".thumbnail.{extension}"


def is_thumbnail_name(name: str) -> bool:
    return name in THUMBNAIL_NAMES


def content_type_of(name: str) -> str:
    """The Content-Type for a copy's name (one of THUMBNAIL_NAMES)."""
    return CONTENT_TYPES[name.rsplit(".", 1)[-1]]


def image_extension(head: bytes) -> str | None:
    """The extension of the raster format `head` (a file's first bytes) starts, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(head) >= MAGIC_LENGTH and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    return None


def thumbnail_link(job_id: str) -> str:
    """Where the gateway serves a job's copy (relative to the gateway)."""
    return f"/files/{job_id}/thumbnail"
