"""`python -m jobstore`: serve the JobStoreService (default 127.0.0.1:50051)."""

from __future__ import annotations

import asyncio

from haul.runtime.exiting import exit_now
from haul.runtime.logging import configure_logging
from haul.runtime.startup import check_redis
from jobstore.server import serve
from jobstore.settings import JobstoreSettings


def main() -> None:
    settings = JobstoreSettings()
    configure_logging(settings.log_format, settings.log_level)
    if settings.redis_url:
        check_redis(settings.redis_url)
    asyncio.run(serve(settings))
    exit_now()  # stopped in order: skip the interpreter's teardown (about a second)


if __name__ == "__main__":
    main()
