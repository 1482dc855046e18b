"""The check before a `completed` reaches jobstore: the file is really there, as reported.

A job is marked completed only when `DATA_DIR/{jobId}/<filename>` is a regular file inside
that folder with the reported size and SHA-256. Without this, a worker could declare any name,
size and hash, and jobstore would record a download that `/files/{id}` cannot serve.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import stat
from pathlib import Path

from haul.contract.events import CompletedEvent

CHUNK = 1024 * 1024


def _matches(data_dir: Path, event: CompletedEvent) -> bool:
    name = event.filename
    if name in (".", "..") or "/" in name or "\\" in name or event.output_path != f"{event.job_id}/{name}":
        return False
    job_dir = (data_dir / event.job_id).resolve()
    try:
        # resolve() follows a symlink, so a link pointing out of the job's folder fails here.
        path = (job_dir / name).resolve(strict=True)
        if path.parent != job_dir or not job_dir.is_relative_to(data_dir.resolve()):
            return False
        # Checked before opening: opening a FIFO someone left there would block this thread.
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size != event.size:
            return False
        with path.open("rb") as file:
            digest = hashlib.sha256()
            while chunk := file.read(CHUNK):
                digest.update(chunk)
    except OSError:
        return False
    return hmac.compare_digest(digest.hexdigest(), event.sha256.lower())


async def delivered_file_matches(data_dir: Path, event: CompletedEvent) -> bool:
    """Whether the reported file is at DATA_DIR/{jobId}/<filename> with its size and sha256.

    Hashing a large file takes a while, so it runs in a thread, off the event loop.
    """
    return await asyncio.to_thread(_matches, data_dir, event)
