"""Putting a finished download in place so that a crash at any step is finished, not repeated.

The steps of a finish: the engine's result is recorded in `TMP_DIR/{jobId}/finish.json`, the
file is checked whole, moved into `DATA_DIR/{jobId}/{name}` with `os.replace`, hashed there and
reported; the job's temporary folder goes only once the report was acknowledged. The thumbnail
copy the engine saved (worker.thumbnails) is named in the record's `meta.thumbnail` and moved
into the same folder after the file, so it survives a crash the same way.

Why a record (issue 11): before it, the finish assumed the file it was handed was still in
the temporary folder. Every attempt of a job shares `TMP_DIR/{jobId}` (that is how it resumes),
so when a work horse survived the restart that began the next attempt, both downloaded into the
same `download.part`; the first to finish moved it into DATA_DIR and removed the folder, and the
other's `check_complete` hit `FileNotFoundError`, an exception no outcome reported. A horse
killed between the move and the report left the next attempt nothing in the temporary folder
to resume from, so it fetched the whole file again. Now the finish takes either place: a file
still in the temporary folder is checked and moved; one already in DATA_DIR was checked by the
attempt that moved it. A new attempt that finds a record finishes from it without downloading.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from haul.contract.events import MediaMeta
from haul.contract.thumbnails import is_thumbnail_name

RECORD_NAME = "finish.json"
# Tests name a step here to have the work horse of a job's first attempt SIGKILLed at it.
CRASH_AT_ENV = "HAUL_TEST_CRASH_AT_FINISH_STEP"
HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Pending:
    """A download that is finished but not yet reported: where it is, and what it becomes."""

    source: Path  # inside the job's temporary folder, until it is moved
    filename: str  # the safe final name in DATA_DIR/{jobId}
    announced_bytes: int | None
    meta: MediaMeta
    # The media's identity for the download archive, when the engine read one (worker.media_identity).
    archive_id: str = ""


def save_record(work_dir: Path, pending: Pending) -> None:
    """Write the record atomically: a crash leaves the old one or the new one, never half of one."""
    body = {
        "source": pending.source.name,
        "filename": pending.filename,
        "announced_bytes": pending.announced_bytes,
        "meta": pending.meta.model_dump(mode="json"),
        "archive_id": pending.archive_id,
    }
    partial = work_dir / f".{RECORD_NAME}.tmp"
    with open(partial, "w", encoding="utf-8") as out:
        json.dump(body, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, work_dir / RECORD_NAME)


def load_record(work_dir: Path) -> Pending | None:
    """The record a crashed attempt left, or None (none, unreadable, or naming a path elsewhere)."""
    try:
        body = json.loads((work_dir / RECORD_NAME).read_text(encoding="utf-8"))
        source, filename = str(body["source"]), str(body["filename"])
        announced = body.get("announced_bytes")
        meta = MediaMeta.model_validate(body.get("meta") or {})
        archive_id = str(body.get("archive_id") or "")
    except (OSError, ValueError, KeyError, TypeError, ValidationError):
        return None
    if Path(source).name != source or source in ("", ".", ".."):
        return None
    return Pending(work_dir / source, filename, int(announced) if announced else None, meta, archive_id)


def place_thumbnail(work_dir: Path, job_folder: Path, meta: MediaMeta) -> MediaMeta:
    """Move the thumbnail copy `meta` names from the temporary folder into the job's folder (or
    find it there, moved by an attempt that crashed after); `meta` without one if there is none."""
    name = meta.thumbnail
    if not is_thumbnail_name(name):  # a record written before copies existed held a URL here
        return meta.model_copy(update={"thumbnail": ""}) if name else meta
    source, target = work_dir / name, job_folder / name
    if source.is_file() and not source.is_symlink():
        os.replace(source, target)
    if target.is_file() and not target.is_symlink():
        return meta
    return meta.model_copy(update={"thumbnail": ""})


def drop_record(work_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (work_dir / RECORD_NAME).unlink()


def crash_point(step: str, attempt: int) -> None:
    """A test's SIGKILL of the first attempt's work horse at `step`; nothing unless asked."""
    if attempt == 1 and os.environ.get(CRASH_AT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def sha256_of(path: Path, attempt: int = 0) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for chunk in iter(lambda: source.read(HASH_CHUNK), b""):
            digest.update(chunk)
            crash_point("hashing", attempt)
    return digest.hexdigest()
