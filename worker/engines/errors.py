"""Which failures another attempt could mend, in words both engines' classifiers share.

An attempt is repeated only when the cause may go away: a server's 5xx, 408 or 429, a
network that dropped, a resolver that timed out. A name that does not exist, a redirect to a
scheme no engine may fetch (`file://`, say) or any other 4xx answer will be the same next
time, so the job fails at once instead of three times.
"""

from __future__ import annotations

import re

from worker.engines.base import DownloadFailed

# 408 Request Timeout and 429 Too Many Requests say "later"; every other 4xx says "never".
RETRYABLE_CLIENT_STATUSES = frozenset({408, 429})
# getaddrinfo's EAI_NONAME / EAI_NODATA in glibc's and musl's words, and aria2's own. A
# temporary failure ("Temporary failure in name resolution", EAI_AGAIN) is not among them.
NAME_NOT_FOUND = re.compile(
    r"Name or service not known|No address associated with hostname|nodename nor servname"
    r"|Domain name not found|\[Errno -(?:2|5)\]",
    re.IGNORECASE,
)
# What yt-dlp's request handlers say when a redirect leads to a scheme they do not fetch.
REFUSED_SCHEME = re.compile(
    r"No connection adapters were found|Unsupported url scheme|file:// URLs are disabled"
    r"|unsupported protocol|Unsupported request",
    re.IGNORECASE,
)


def http_status_retryable(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_CLIENT_STATUSES


def http_failure(status: int, text: str) -> DownloadFailed:
    return DownloadFailed(f"HTTP_{status}", text, retryable=http_status_retryable(status))


def final_failure(text: str) -> DownloadFailed | None:
    """A failure no later attempt can mend, recognised in the tool's words; None otherwise."""
    if NAME_NOT_FOUND.search(text):
        return DownloadFailed("NAME_NOT_FOUND", text, retryable=False)
    if REFUSED_SCHEME.search(text):
        return DownloadFailed("REFUSED_SCHEME", text, retryable=False)
    return None
