"""Failures no attempt can mend fail at once; the error a job stores is one short, clean line.

The texts are what yt-dlp 2026.10 and aria2 1.36 said on this machine (names that do not
resolve, a redirect to file://, HTTP answers), wrapped in yt-dlp's own exception classes.
"""

from __future__ import annotations

import pytest
from yt_dlp.networking.exceptions import RequestError, TransportError
from yt_dlp.utils import DownloadError, YoutubeDLError

from haul.contract.error_text import MAX_ERROR_MESSAGE, short_error_message
from jobstore.domain import validation
from worker.engines import aria2, ytdlp

NO_SUCH_NAME = (
    "ERROR: [generic] x: Unable to download webpage: HTTPConnection(host='nonexistent-host.invalid', "
    "port=80): Failed to resolve 'nonexistent-host.invalid' ([Errno -2] Name or service not known) "
    "(caused by TransportError(\"HTTPConnection(host='nonexistent-host.invalid', port=80): Failed to "
    "resolve 'nonexistent-host.invalid' ([Errno -2] Name or service not known)\"))"
)
RESOLVER_DOWN = (
    "ERROR: [generic] x: Unable to download webpage: HTTPConnection(host='example.com', port=80): "
    "Failed to resolve 'example.com' ([Errno -3] Temporary failure in name resolution)"
)
TRACEBACK = """Traceback (most recent call last):
  File "/opt/haul/.venv/lib/python3.11/site-packages/yt_dlp/YoutubeDL.py", line 1626, in wrapper
    return func(self, *args, **kwargs)
  File "/srv/haul/var/tmp/8f9a3c52/worker.py", line 12, in run
    raise OSError(2, "No such file or directory", "/srv/haul/var/tmp/8f9a3c52/media.mp4.part")
FileNotFoundError: [Errno 2] No such file or directory: '/srv/haul/var/tmp/8f9a3c52/media.mp4.part'
"""


def download_error(message: str, cause: Exception) -> DownloadError:
    """What YoutubeDL.report_error raises: the message, with the exception it caught."""
    return DownloadError(message, (type(cause), cause, None))


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (download_error(NO_SUCH_NAME, TransportError("resolve")), "NAME_NOT_FOUND", False),
        (download_error(RESOLVER_DOWN, TransportError("resolve")), "DOWNLOAD_ERROR", True),
        # requests' adapter refuses the redirect's scheme, and yt-dlp lets it escape extract_info.
        (RequestError("No connection adapters were found for 'file:///etc/passwd'"), "REFUSED_SCHEME", False),
        (download_error("ERROR: [generic] 404: Unable to download webpage: HTTP Error 404: Not Found",
                        RequestError("404")), "HTTP_404", False),
        (download_error("ERROR: [generic] x: Unable to download webpage: HTTP Error 403: Forbidden",
                        RequestError("403")), "HTTP_403", False),
        (download_error("ERROR: [generic] 408: Unable to download webpage: HTTP Error 408: Request Timeout",
                        RequestError("408")), "HTTP_408", True),
        (download_error("ERROR: [generic] x: Unable to download webpage: HTTP Error 429: Too Many Requests",
                        RequestError("429")), "HTTP_429", True),
        (download_error("ERROR: [generic] x: Unable to download webpage: HTTP Error 503: Service Unavailable",
                        RequestError("503")), "HTTP_503", True),
    ],
)  # fmt: skip
def test_ytdlp_failures_that_cannot_succeed_are_final(
    error: YoutubeDLError, code: str, retryable: bool
) -> None:
    failure = ytdlp.classify(error)
    assert (failure.code, failure.retryable) == (code, retryable)


@pytest.mark.parametrize(
    ("code", "message", "expected", "retryable"),
    [
        (19, "Name resolution for nonexistent-host.invalid failed:Domain name not found", "NAME_NOT_FOUND", False),
        (19, "Name resolution for example.com failed:Temporary failure in name resolution", "NETWORK_ERROR", True),
        (22, "The response status is not successful. status=408", "HTTP_408", True),
        (22, "The response status is not successful. status=400", "HTTP_400", False),
    ],
)  # fmt: skip
def test_aria2_names_that_do_not_exist_are_final(
    code: int, message: str, expected: str, retryable: bool
) -> None:
    failure = aria2.classify(code, message)
    assert (failure.code, failure.retryable) == (expected, retryable)


def test_a_traceback_becomes_its_last_line_without_server_paths() -> None:
    message = short_error_message(TRACEBACK)
    assert message == "FileNotFoundError: [Errno 2] No such file or directory: '…/media.mp4.part'"
    assert "/srv" not in message and "Traceback" not in message and "\n" not in message


def test_a_tool_message_keeps_its_first_line_and_its_urls_but_no_paths() -> None:
    text = "ERROR: unable to open /var/lib/haul/tmp/job/media.part for http://example.com/a/b.mp4\nmore"
    assert short_error_message(text) == "unable to open …/media.part for http://example.com/a/b.mp4"


def test_a_long_message_is_cut_to_the_limit() -> None:
    message = short_error_message("x" * 10_000)
    assert len(message) == MAX_ERROR_MESSAGE and message.endswith("…")


def test_jobstore_shortens_whatever_a_worker_sends() -> None:
    """The backstop: a worker that sends a traceback anyway stores one clean line."""
    stored = validation.error_message(TRACEBACK)
    assert stored.startswith("FileNotFoundError") and "/srv/haul" not in stored and len(stored) <= 300
