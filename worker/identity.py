"""The id a worker process claims jobs under: what the job's history records as `worker:<id>`.

The history is read by every API client, so the default says nothing about the machine: a
short digest of the host name and the RQ worker process (the work horse's parent), stable for
as long as that process runs and different for each of a machine's worker processes. The
worker's log names the host beside it, for whoever operates it. HAUL_WORKER_ID sets it instead.
"""

from __future__ import annotations

import hashlib
import os
import socket

from worker.settings import WorkerSettings


def worker_id(settings: WorkerSettings) -> str:
    if settings.worker_id:
        return settings.worker_id
    origin = f"{socket.gethostname()}:{os.getppid()}"
    return "w-" + hashlib.sha256(origin.encode()).hexdigest()[:12]
