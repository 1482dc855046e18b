"""The job's thumbnail: fetched through the job's egress guard, checked, kept beside its file.

The site names a thumbnail URL; a browser must never be sent there (haul.contract.thumbnails).
The engine hands `save_thumbnail` the opener of the download's own `YoutubeDL` (`ydl.urlopen`),
whose proxy is the job's guard, so the same policy, DNS pinning and, in an isolated child, the
same one way out apply to the picture as to the media. The fetch is bounded (a socket timeout,
a deadline for the whole body, MAX_THUMBNAIL_BYTES) and keeps only a JPEG, PNG, WebP or GIF
recognised by its first bytes. It is saved as `.thumbnail.<ext>` in the job's temporary folder;
the finish moves it into DATA_DIR/{jobId} with the file (worker.finish).

A thumbnail that cannot be had (refused by the guard, not an image, too large, too slow, any
error at all) never fails the job: the job simply has none.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import structlog
from yt_dlp.networking import Request

from haul.contract.thumbnails import MAGIC_LENGTH, MAX_THUMBNAIL_BYTES, image_extension, thumbnail_name
from worker.engines.base import StopRequested

log = structlog.get_logger(__name__)

FETCH_TIMEOUT = 10.0  # seconds the connection may stay silent
FETCH_DEADLINE = 20.0  # seconds for the whole picture
CHUNK = 64 * 1024


class ThumbnailRefused(Exception):
    """What the server sent is not a thumbnail haul keeps."""


class Readable(Protocol):
    def read(self, amount: int, /) -> bytes: ...


def read_image(
    source: Readable, declared_length: int | None = None, deadline: float | None = None
) -> tuple[str, bytes]:
    """The extension and bytes of the raster image `source` gives, read to its end; raises
    ThumbnailRefused past MAX_THUMBNAIL_BYTES (reading at most one byte more), for anything that
    does not start like a JPEG, PNG, WebP or GIF, or once `deadline` (monotonic) has passed."""
    if declared_length is not None and declared_length > MAX_THUMBNAIL_BYTES:
        raise ThumbnailRefused(f"it is larger than {MAX_THUMBNAIL_BYTES} bytes")
    body = bytearray()
    while True:
        if deadline is not None and time.monotonic() > deadline:
            raise ThumbnailRefused(f"it took longer than {FETCH_DEADLINE:g} s")
        chunk = source.read(min(CHUNK, MAX_THUMBNAIL_BYTES + 1 - len(body)))
        if not chunk:
            break
        checked = len(body) >= MAGIC_LENGTH
        body += chunk
        if len(body) > MAX_THUMBNAIL_BYTES:
            raise ThumbnailRefused(f"it is larger than {MAX_THUMBNAIL_BYTES} bytes")
        if not checked and len(body) >= MAGIC_LENGTH and image_extension(bytes(body[:MAGIC_LENGTH])) is None:
            break  # no need to read the rest of something that is not an image
    extension = image_extension(bytes(body[:MAGIC_LENGTH]))
    if extension is None:
        raise ThumbnailRefused("it is not a JPEG, PNG, WebP or GIF image")
    return extension, bytes(body)


def _declared_length(response: Any) -> int | None:
    try:
        return int(response.headers.get("Content-Length"))
    except (TypeError, ValueError):
        return None


def save_thumbnail(open_url: Callable[[Request], Any], url: object, work_dir: Path) -> str:
    """Fetch `url` with `open_url` (the download's `ydl.urlopen`) and save it in `work_dir`;
    the copy's name (`.thumbnail.jpg`, ...), or "" when there is none to keep."""
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        return ""
    deadline = time.monotonic() + FETCH_DEADLINE
    try:
        request = Request(url, headers={"Accept": "image/*"}, extensions={"timeout": FETCH_TIMEOUT})
        response = open_url(request)
        try:
            extension, body = read_image(response, _declared_length(response), deadline)
        finally:
            response.close()
    except StopRequested:
        raise
    except Exception as exc:  # a picture never fails a job, whatever went wrong
        log.info("no thumbnail kept", reason=f"{type(exc).__name__}: {exc}"[:300])
        return ""
    name = thumbnail_name(extension)
    partial = work_dir / ".thumbnail.saving"
    partial.write_bytes(body)
    os.replace(partial, work_dir / name)
    log.info("thumbnail kept", name=name, size=len(body))
    return name
