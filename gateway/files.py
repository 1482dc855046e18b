"""Serving finished files (only completed jobs) and thumbnail copies, only from inside DATA_DIR/{jobId}."""

from __future__ import annotations

import mimetypes
import stat
import unicodedata
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from gateway.errors import ApiError
from haul.contract.thumbnails import (
    MAGIC_LENGTH,
    content_type_of,
    image_extension,
    is_thumbnail_name,
    thumbnail_name,
)

ASCII_FALLBACK_LIMIT = 150


def content_disposition(filename: str) -> str:
    """An attachment header that is safe for any name: a plain ASCII fallback and RFC 5987 UTF-8."""
    normalized = unicodedata.normalize("NFKD", filename)
    fallback = (
        "".join(
            ch if ch.isascii() and (ch.isalnum() or ch in " ._-()[]") else "_"
            for ch in normalized
            if not unicodedata.combining(ch)
        ).strip(" .")
        or "download"
    )
    if len(fallback) > ASCII_FALLBACK_LIMIT:
        stem, dot, ext = fallback.rpartition(".")
        fallback = (
            (stem[: ASCII_FALLBACK_LIMIT - len(ext) - 1] + dot + ext)
            if dot
            else fallback[:ASCII_FALLBACK_LIMIT]
        )
    encoded = quote(filename, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def resolve_inside(data_dir: Path, job_id: str, filename: str) -> Path:
    """The file's real path, or ApiError 404 if it would leave DATA_DIR/{jobId} or does not exist."""
    folder = (data_dir / job_id).resolve()
    candidate = (folder / filename).resolve()
    if candidate.parent != folder or not candidate.is_file():
        raise ApiError(404, "file_not_found", "the file of this job is not available")
    return candidate


def thumbnail_response(data_dir: Path, job_id: str, name: str) -> web.FileResponse:
    """The job's saved thumbnail (haul.contract.thumbnails), or ApiError 404 when it has none.

    `name` is what jobstore holds; only a copy's name is served, with the image type its name
    says, and only if its first bytes are that format, so nothing else in the folder can be
    passed off as a picture. `nosniff` and a sandboxing CSP keep a browser from reading it as
    anything but an image.
    """
    if not is_thumbnail_name(name):
        raise ApiError(404, "no_thumbnail", "this job has no thumbnail")
    path = (data_dir / job_id).resolve() / name
    try:
        # A copy is a regular file the worker wrote, never a link; checked before opening, as
        # opening a FIFO would block.
        if not stat.S_ISREG(path.lstat().st_mode):
            raise ApiError(404, "no_thumbnail", "this job has no thumbnail")
        with path.open("rb") as image:
            extension = image_extension(image.read(MAGIC_LENGTH))
    except OSError:
        extension = None
    if extension is None or thumbnail_name(extension) != name:
        raise ApiError(404, "no_thumbnail", "this job has no thumbnail")
    response = web.FileResponse(path)
    response.content_type = content_type_of(name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = f'inline; filename="thumbnail{name.removeprefix(".thumbnail")}"'
    # Private: with an API token set it is the token that lets one see it. A job's copy only
    # changes if the job is deleted; the ETag answers a revalidation after that hour.
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def file_response(path: Path, filename: str) -> web.FileResponse:
    """aiohttp's FileResponse answers Range, If-Range, ETag and If-None-Match itself."""
    response = web.FileResponse(path)
    content_type, _ = mimetypes.guess_type(filename)
    response.content_type = content_type or "application/octet-stream"
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
