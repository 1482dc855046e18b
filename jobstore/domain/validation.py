"""Bounds and checks for everything a caller sends. Each check raises InvalidInput.

The limits are named here, in one place, so the gRPC layer, the tests and the docs agree.
"""

from __future__ import annotations

import math
import re
import uuid

from haul.contract.urls import UrlRefused, check_url

from jobstore.domain.errors import InvalidInput
from jobstore.domain.model import FileResult, JobMeta, JobStage, ProgressReport

MAX_BYTES = 2**50  # 1 PiB: far above any real file, far below where floats lose bytes.
MAX_SPEED = 1e12  # bytes per second
MAX_ETA = 10 * 365 * 24 * 3600.0  # seconds
MAX_DURATION = 100 * 24 * 3600.0  # seconds of media
MAX_ATTEMPTS = 20
MAX_HEIGHT = 8640
MAX_BATCH = 5000
MAX_SEQ = 2**62
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50

MAX_TITLE = 1024
MAX_SHORT_TEXT = 256  # worker ids, extractor names, idempotency keys
MAX_PATH = 4096
MAX_MESSAGE = 8192
MAX_REASON = 1024

ERROR_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


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
        thumbnail=text("meta.thumbnail", thumbnail, MAX_PATH),
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
        attempt=count("attempt", attempt, 2**31),
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
