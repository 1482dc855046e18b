"""Step marks on a job's way through haul, for `make bench-latency`.

`mark("claim", job_id=...)` logs one structured line (`event="timeline"`, the step, the wall
clock `t` and the fields given) when the environment variable `HAUL_TIMELINE` is set to
anything but empty or `0`. The variable is read once, at import: a process forked later (an
RQ work horse) inherits the answer. Unset, a mark is one global read and a return, so the
calls stay in production code at no measurable cost.

Wall-clock time (`time.time()`), not a monotonic clock: the marks come from several
processes, and the benchmark lines them up against its own clock on the same machine.
"""

from __future__ import annotations

import os
import time
from typing import Any

import structlog

TIMELINE_ENV = "HAUL_TIMELINE"


def _enabled_from_env() -> bool:
    value = os.environ.get(TIMELINE_ENV, "").strip()
    return value not in ("", "0")


_enabled = _enabled_from_env()
_log = structlog.get_logger("haul.timeline")


def timeline_enabled() -> bool:
    """Whether marks are logged in this process."""
    return _enabled


def mark(step: str, **fields: Any) -> None:
    """Log that a job reached `step` now (job_id and any other fields beside it)."""
    if not _enabled:
        return
    _log.info("timeline", step=step, t=time.time(), **fields)


def set_timeline_enabled(enabled: bool) -> None:
    """Switch marks on or off in this process (tests, or a process that reads its own settings)."""
    global _enabled
    _enabled = enabled
