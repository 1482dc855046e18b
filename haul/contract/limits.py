"""Bounds on every number and string that crosses a process boundary, in one place.

jobstore validates gRPC requests against them and the gateway validates Socket.IO payloads
against them, so a value one side accepts the other accepts too.
"""

MAX_BYTES = 2**50  # 1 PiB: far above any real file, far below where floats lose bytes.
MAX_SPEED = 1e12  # bytes per second
MAX_ETA = 10 * 365 * 24 * 3600.0  # seconds
MAX_DURATION = 100 * 24 * 3600.0  # seconds of media
MAX_ATTEMPT = 2**31
MAX_ATTEMPTS = 20
MAX_HEIGHT = 8640
MAX_BATCH = 5000
MAX_SEQ = 2**62
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
# Daily figures (GetStats, GET /stats): how many UTC days one call may ask for.
MAX_STATS_DAYS = 366
DEFAULT_STATS_DAYS = 7

MAX_TITLE = 1024
MAX_SHORT_TEXT = 256  # worker ids, extractor names, idempotency keys
MAX_PATH = 4096
MAX_MESSAGE = 8192
MAX_REASON = 1024
# A media's identity in the download archive ("<extractor> <media id>"); a longer one is hashed.
MAX_ARCHIVE_ID = 1024

ERROR_CODE_PATTERN = r"[A-Z][A-Z0-9_]{0,63}"
SHA256_PATTERN = r"[0-9a-f]{64}"
