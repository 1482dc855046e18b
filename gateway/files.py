"""Serving finished files: only completed jobs, only from inside DATA_DIR/{jobId}."""

from __future__ import annotations

import mimetypes
import unicodedata
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from gateway.errors import ApiError

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


def file_response(path: Path, filename: str) -> web.FileResponse:
    """aiohttp's FileResponse answers Range, If-Range, ETag and If-None-Match itself."""
    response = web.FileResponse(path)
    content_type, _ = mimetypes.guess_type(filename)
    response.content_type = content_type or "application/octet-stream"
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
