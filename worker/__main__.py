"""`python -m worker`: a pool of RQ workers on the `haul` queue (JSON serializer)."""

from __future__ import annotations

import structlog
import yt_dlp  # noqa: F401 - imported before the fork, so each job starts without paying for it
from haul.logging import configure_logging
from redis import Redis
from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerPool

from worker.settings import WorkerSettings
from worker.tools import find_tools

log = structlog.get_logger(__name__)


def main() -> None:
    settings = WorkerSettings()
    configure_logging(settings.log_format, settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    tools = find_tools()
    log.info(
        "worker starting", processes=settings.worker_processes, queue=settings.queue_name, **tools.describe()
    )
    pool = WorkerPool(
        [settings.queue_name],
        connection=Redis.from_url(settings.redis_url),
        num_workers=settings.worker_processes,
        serializer=JSONSerializer,
    )
    pool.start(logging_level=settings.log_level.upper())


if __name__ == "__main__":
    main()
