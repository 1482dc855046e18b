"""What yt-dlp pays on first use, paid once in the worker's main process before the pool forks.

Every job runs in a fresh work horse (an RQ fork of a worker, itself a fork of the pool), and
what a fork inherits it does not pay again. yt-dlp's import is already done before the fork; the
first URL match is not: it compiles the `_VALID_URL` patterns of some 1,750 extractors (yt-dlp
keeps each compiled pattern on its class, so the work is done once per process), and the generic
extractor, where every direct file, feed and page ends, is imported only when first used. A
job paid that at least twice: once where its URL is resolved or downloaded (the isolated
child) and once for the archive identity of its URL (worker.media_identity), about 0.5-0.7 s
each here. After `warm_ytdlp()` in the pool, a horse pays neither.

Nothing here touches the network or starts a thread, so the pool's forks copy no lock held by
another thread.
"""

from __future__ import annotations

import time

import structlog
from yt_dlp.extractor import get_info_extractor

from worker.media_identity import GENERIC, _extractors, url_identity

log = structlog.get_logger(__name__)

# A URL that matches no site's pattern, so that every extractor's pattern is compiled and tried,
# as a job's URL of a site yt-dlp does not know is (the generic extractor answers for it).
WARMUP_URL = "http://warmup.invalid/warmup/media.bin"
# Extractors yt-dlp hands a direct file or a page to after the generic one has read it.
FOLLOW_UPS = (GENERIC, "HTML5MediaEmbed")


def warm_ytdlp() -> float:
    """Compile every extractor's URL pattern and import the extractors a download of a plain URL
    uses; the seconds it took."""
    started = time.monotonic()
    for extractor in _extractors():
        extractor.suitable(WARMUP_URL)
    for key in FOLLOW_UPS:
        try:
            get_info_extractor(key).real_class  # noqa: B018 - the lazy class imports its module here
        except (KeyError, AttributeError, ImportError):  # an extractor this yt-dlp has not
            continue
    url_identity(WARMUP_URL)  # the archive identity's own cache of extractors
    took = time.monotonic() - started
    log.info("yt-dlp warmed up", seconds=round(took, 3))
    return took
