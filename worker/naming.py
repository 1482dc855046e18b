"""Safe file names for finished downloads, whatever a title or a server says.

The name rule itself is `haul.contract.filenames` (the gateway names a zip's entries by it too);
it is re-exported here for the worker's modules. `final_path` then proves the result stays inside
DATA_DIR/{jobId}.
"""

from __future__ import annotations

from pathlib import Path

from haul.contract.filenames import (
    EXTENSION,
    FALLBACK_NAME,
    FORBIDDEN,
    MAX_NAME_BYTES,
    WINDOWS_RESERVED,
    safe_filename,
)

__all__ = [
    "EXTENSION",
    "FALLBACK_NAME",
    "FORBIDDEN",
    "MAX_NAME_BYTES",
    "WINDOWS_RESERVED",
    "UnsafePath",
    "final_path",
    "safe_filename",
]


class UnsafePath(ValueError):
    """A final path would leave its job's folder."""


def final_path(data_dir: Path, job_id: str, filename: str) -> Path:
    """DATA_DIR/{jobId}/{filename}, resolved, or UnsafePath if it would land anywhere else."""
    if filename != safe_filename(filename):
        raise UnsafePath(f"{filename!r} is not a safe file name")
    folder = (data_dir / job_id).resolve()
    target = (folder / filename).resolve()
    if target.parent != folder:
        raise UnsafePath(f"{filename!r} does not stay inside {folder}")
    return target
