"""Bounds and checks for everything a caller sends. Each check raises InvalidInput.

The limits are named here, in one place, so the gRPC layer, the tests and the docs agree.
"""

from __future__ import annotations

import math
import re
import uuid

from haul.contract.error_text import short_error_message
from haul.contract.limits import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_STATS_DAYS,
    ERROR_CODE_PATTERN,
    MAX_ATTEMPT,
    MAX_ATTEMPTS,
    MAX_BATCH,
    MAX_BYTES,
    MAX_DURATION,
    MAX_ETA,
    MAX_HEIGHT,
    MAX_MESSAGE,
    MAX_PAGE_SIZE,
    MAX_PATH,
    MAX_REASON,
    MAX_SEQ,
    MAX_SHORT_TEXT,
    MAX_SPEED,
    MAX_STATS_DAYS,
    MAX_TITLE,
    SHA256_PATTERN,
)
from haul.contract.urls import UrlRefused, check_url
from jobstore.domain.collections import MAX_ENTRY_INDEX, CollectionEntry, items_problem
from jobstore.domain.errors import InvalidInput
from jobstore.domain.thumbnails import shown_thumbnail
from jobstore.domain.values import FileResult, JobMeta, JobStage, ProgressReport

__all__ = [
    "DEFAULT_PAGE_SIZE", "DEFAULT_STATS_DAYS", "MAX_ATTEMPT", "MAX_ATTEMPTS", "MAX_BATCH", "MAX_BYTES", "MAX_HEIGHT",
    "MAX_MESSAGE", "MAX_PAGE_SIZE", "MAX_PATH", "MAX_REASON", "MAX_SHORT_TEXT", "MAX_STATS_DAYS", "MAX_TITLE",
]  # fmt: skip

ERROR_CODE = re.compile(ERROR_CODE_PATTERN)
SHA256_HEX = re.compile(SHA256_PATTERN)


def job_id(text: str) -> uuid.UUID:
    """Parse a job id; only the canonical hyphenated form is accepted."""
    try:
        parsed = uuid.UUID(text)
    except (ValueError, TypeError):
        raise InvalidInput(f"job_id {text[:64]!r} is not a UUID") from None
    if str(parsed) != text.lower():
        raise InvalidInput(f"job_id {text[:64]!r} is not a canonical UUID")
    return parsed


def url(text: str) -> str:
    try:
        return check_url(text)
    except UrlRefused as exc:
        raise InvalidInput(f"url: {exc}") from None


def text(name: str, value: str, max_length: int) -> str:
    if len(value) > max_length:
        raise InvalidInput(f"{name} is longer than {max_length} characters")
    if "\x00" in value:
        raise InvalidInput(f"{name} contains a NUL character")
    return value


def count(name: str, value: int, maximum: int) -> int:
    if not 0 <= value <= maximum:
        raise InvalidInput(f"{name} must be between 0 and {maximum}")
    return value


def real(name: str, value: float, maximum: float) -> float:
    if not math.isfinite(value) or not 0 <= value <= maximum:
        raise InvalidInput(f"{name} must be a finite number between 0 and {maximum:g}")
    return value


def meta(title: str, duration: float, extractor: str, thumbnail: str) -> JobMeta:
    return JobMeta(
        title=text("meta.title", title, MAX_TITLE),
        duration=real("meta.duration", duration, MAX_DURATION),
        extractor=text("meta.extractor", extractor, MAX_SHORT_TEXT),
        # Blanked, not refused, when a browser must not load it (see jobstore.domain.thumbnails).
        thumbnail=shown_thumbnail(text("meta.thumbnail", thumbnail, MAX_PATH)),
    )


def progress_report(
    job_id_text: str,
    attempt: int,
    seq: int,
    stage: JobStage,
    progress: float,
    downloaded_bytes: int,
    total_bytes: int | None,
    speed: float | None,
    eta: float | None,
    report_meta: JobMeta | None,
) -> ProgressReport:
    return ProgressReport(
        job_id=job_id(job_id_text),
        attempt=count("attempt", attempt, MAX_ATTEMPT),
        seq=count("seq", seq, MAX_SEQ),
        stage=stage,
        progress=real("progress", progress, 100.0),
        downloaded_bytes=count("downloaded_bytes", downloaded_bytes, MAX_BYTES),
        total_bytes=None if total_bytes is None else count("total_bytes", total_bytes, MAX_BYTES),
        speed=None if speed is None else real("speed", speed, MAX_SPEED),
        eta=None if eta is None else real("eta", eta, MAX_ETA),
        meta=report_meta,
    )


def file_result(
    filename: str, output_path: str, size: int, sha256: str, result_meta: JobMeta | None
) -> FileResult:
    if not filename:
        raise InvalidInput("filename is required")
    if not SHA256_HEX.fullmatch(sha256):
        raise InvalidInput("sha256 must be 64 lower-case hex digits")
    return FileResult(
        filename=text("filename", filename, MAX_PATH),
        output_path=text("output_path", output_path, MAX_PATH),
        size=count("size", size, MAX_BYTES),
        sha256=sha256,
        meta=result_meta,
    )


def error_code(code: str) -> str:
    if not ERROR_CODE.fullmatch(code):
        raise InvalidInput(
            "error_code must be 1-64 upper-case letters, digits or '_', starting with a letter"
        )
    return code


def error_message(message: str) -> str:
    """A worker's error text, refused when oversized and otherwise cut to one short line: a
    backstop, so no traceback or server path reaches the job, its history or the browsers."""
    return short_error_message(text("error_message", message, MAX_MESSAGE))


def items(value: str) -> str:
    """A collection's choice of entries, in yt-dlp's playlist_items syntax."""
    problem = items_problem(value)
    if problem is not None:
        raise InvalidInput(f"options.{problem}")
    return value


def collection_entry(key: str, entry_url: str, title: str, index: int, refused: str) -> CollectionEntry:
    """One entry of a worker's collection report. An entry URL that jobstore's own URL check
    refuses becomes a refused entry, like one the worker's policy refused: the others go on."""
    if not key:
        raise InvalidInput("every collection entry needs a key")
    if not refused:
        try:
            entry_url = url(entry_url)
        except InvalidInput as exc:
            refused = str(exc)
    if refused:
        # Kept for the record only, never downloaded: cut and cleaned rather than refused.
        entry_url = entry_url.replace("\x00", "")[:MAX_PATH]
        refused = short_error_message(refused.replace("\x00", "")[:MAX_MESSAGE]) or "refused"
    return CollectionEntry(
        key=text("entry key", key, MAX_PATH),
        url=entry_url,
        title=text("entry title", title, MAX_TITLE),
        index=count("entry index", index, MAX_ENTRY_INDEX),
        refused=refused,
    )
