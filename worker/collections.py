"""Collections: read what a playlist, channel or feed URL lists, without downloading any of it.

`CollectionResolver.resolve` runs yt-dlp's flat extraction through the job's egress guard (the
options come from `ToolEgress.ytdlp_options`, as the download engine's do) and returns a
`Collection` (worker.collection_entries says what each entry holds), or None when the URL is
not a collection.

What makes a collection: yt-dlp resolves the URL to `_type` `playlist` (a feed, a channel, a
playlist) or `multi_video` (a page with several videos). Anything else (a single video, a
direct file) is None, and the job goes on as a single download. The caller never resolves a
`type: file` job: a file URL is downloaded as it is, never expanded.

Bounds, so that a hostile or endless source costs a known amount:
- entries: yt-dlp reads lazily (`lazy_playlist`), up to max_items + 1 (`playlistend`, or the
  entries `items` chose); the extra one only proves the cap cut something (`truncated`);
- requests ("pages"): at most `CollectionLimits.max_requests` HTTP requests;
- bytes: a response is read in chunks, at most `max_response_bytes` of it;
- time: a deadline, checked before each request, between chunks and at each entry.
A budget that runs out once entries have arrived ends the listing there, truncated; before
any entry, the resolution fails. The deadline is checked between chunks of READ_CHUNK bytes,
so a source that trickles overruns it by at most one chunk's time; one slower than a chunk per
socket timeout can hold a read longer, and is the job's watchdog's to stop, as a download is.

Failures are DownloadFailed with a stable code: COLLECTION_UNREADABLE (not retried: yt-dlp found
neither media nor a collection, e.g. a feed that is not well-formed XML), COLLECTION_TIMEOUT
(retried: the site may answer faster later), COLLECTION_TOO_LARGE (not retried: a response or
the number of requests exceeds its bound before any entry), ITEMS_INVALID, and the download
engine's own codes for HTTP statuses and names (worker.engines.ytdlp.classify).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from yt_dlp.networking.exceptions import RequestError
from yt_dlp.postprocessor.common import PostProcessor
from yt_dlp.utils import DownloadCancelled, DownloadError, PlaylistEntries

from worker.collection_entries import Collection, CollectionEntry, clean_title, make_entry
from worker.egress.tools import ToolEgress
from worker.engines.base import DownloadFailed, StopCheck, StopRequested
from worker.engines.ytdlp import classify
from worker.warmup import YoutubeDL

COLLECTION_TYPES = frozenset({"playlist", "multi_video"})
RESOLVE_SECONDS = 60.0
MAX_REQUESTS = 50
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
READ_CHUNK = 16 * 1024
MAX_ITEMS_LENGTH = 256
UNREADABLE_MESSAGE = (
    "no media and no collection yt-dlp can read at this URL (a feed that is not well-formed, or a "
    "page without media)"
)


@dataclass(frozen=True)
class CollectionLimits:
    seconds: float = RESOLVE_SECONDS
    max_requests: int = MAX_REQUESTS
    max_response_bytes: int = MAX_RESPONSE_BYTES
    socket_timeout: float = 20.0


class _Cut(DownloadCancelled):  # type: ignore[misc]
    """Stops yt-dlp mid-listing; yt-dlp re-raises its DownloadCancelled untouched."""

    def __init__(self, failure: DownloadFailed | None = None, stop: StopRequested | None = None) -> None:
        super().__init__("the collection's listing was cut")
        self.failure, self.stop = failure, stop


class _Budget:
    """The resolution's deadline, request count and stop check, consulted from inside yt-dlp."""

    def __init__(self, limits: CollectionLimits, should_stop: StopCheck | None) -> None:
        self.limits = limits
        self._deadline = time.monotonic() + limits.seconds
        self._should_stop = should_stop
        self.requests = 0

    def check(self) -> None:
        action = self._should_stop() if self._should_stop else None
        if action is not None:
            raise _Cut(stop=StopRequested(action))
        if time.monotonic() > self._deadline:
            message = f"listing the collection took longer than {self.limits.seconds:g} s"
            raise _Cut(DownloadFailed("COLLECTION_TIMEOUT", message, retryable=True))

    def before_request(self) -> None:
        self.check()
        self.requests += 1
        if self.requests > self.limits.max_requests:
            message = f"listing the collection needs more than {self.limits.max_requests} requests"
            raise _Cut(DownloadFailed("COLLECTION_TOO_LARGE", message, retryable=False))

    def bound(self, response: Any) -> Any:
        """`response` whose read() reads in chunks, checking the budget, up to the byte cap."""
        read_once, cap = response.read, self.limits.max_response_bytes
        taken = 0

        def read(amount: int | None = None) -> bytes:
            nonlocal taken
            chunks: list[bytes] = []
            wanted = amount if amount is not None and amount >= 0 else None
            while wanted is None or wanted > 0:
                self.check()
                chunk = read_once(READ_CHUNK if wanted is None else min(wanted, READ_CHUNK))
                if not chunk:
                    break
                taken += len(chunk)
                if taken > cap:
                    message = f"a response of the collection is larger than {cap} bytes"
                    raise _Cut(DownloadFailed("COLLECTION_TOO_LARGE", message, retryable=False))
                chunks.append(chunk)
                wanted = None if wanted is None else wanted - len(chunk)
            return b"".join(chunks)

        response.read = read
        return response


class _BoundedYoutubeDL(YoutubeDL):
    def __init__(self, params: dict[str, Any], budget: _Budget) -> None:
        self.budget = budget
        super().__init__(params)

    def urlopen(self, req: Any) -> Any:
        self.budget.before_request()
        return self.budget.bound(super().urlopen(req))


class _EntryCollector(PostProcessor):  # type: ignore[misc]
    """Sees each entry as yt-dlp lists it (a `pre_process` step runs for flat and full entries
    alike), in order, and stops the listing at max_items + 1."""

    def __init__(self, budget: _Budget, max_items: int) -> None:
        super().__init__(None)
        self._budget, self._max_items = budget, max_items
        self.entries: list[CollectionEntry] = []
        self.keys: set[str] = set()
        self.read = 0
        self.playlist: dict[str, Any] = {}

    def run(self, info: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        if info.get("playlist_index") is None:  # the URL's own media, not an entry of a list
            return [], info
        self._budget.check()
        self.read += 1
        self.playlist = {k: info.get(k) for k in ("playlist_title", "playlist_count", "playlist_webpage_url")}
        if len(self.entries) >= self._max_items:
            raise _Cut()
        entry = make_entry(info, self.playlist["playlist_webpage_url"])
        if entry.key not in self.keys:  # a source that lists one media twice gets it once
            self.keys.add(entry.key)
            self.entries.append(entry)
        return [], info


def check_items(items: str) -> str:
    """`items` if yt-dlp's playlist_items syntax ("1-10,15", "-3:", "::2") reads it, else
    DownloadFailed ITEMS_INVALID."""
    if len(items) > MAX_ITEMS_LENGTH:
        raise DownloadFailed("ITEMS_INVALID", f"items is longer than {MAX_ITEMS_LENGTH} characters", False)
    try:
        list(PlaylistEntries.parse_playlist_items(items))
    except ValueError as exc:
        raise DownloadFailed(
            "ITEMS_INVALID", f"items {items!r} is not valid: {exc}", retryable=False
        ) from None
    return items


class CollectionResolver:
    def __init__(self, egress: ToolEgress | None = None, limits: CollectionLimits | None = None) -> None:
        # The job's way out, as for the download engines; by default none (the guard switched off).
        self._egress = egress or ToolEgress()
        self._limits = limits or CollectionLimits()

    def options(self, items: str | None, max_items: int) -> dict[str, Any]:
        options: dict[str, Any] = {
            "extract_flat": "in_playlist",
            "lazy_playlist": True,
            "skip_download": True,
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "cachedir": False,
            "socket_timeout": self._limits.socket_timeout,
            "retries": 1,
            "extractor_retries": 1,
        }
        if items:
            options["playlist_items"] = check_items(items)
        else:
            options["playlistend"] = max_items + 1
        return self._egress.ytdlp_options(options)

    def resolve(
        self, url: str, max_items: int, items: str | None = None, should_stop: StopCheck | None = None
    ) -> Collection | None:
        """The entries `url` lists, in order (those `items` chooses, at most `max_items`), or None
        when it is not a collection. Raises DownloadFailed, or StopRequested when `should_stop` says so."""
        if max_items < 1:
            raise ValueError("max_items must be at least 1 (jobstore resolves the default)")
        budget = _Budget(self._limits, should_stop)
        collector = _EntryCollector(budget, max_items)
        with _BoundedYoutubeDL(self.options(items, max_items), budget) as ydl:
            ydl.add_post_processor(collector, when="pre_process")
            try:
                info = ydl.extract_info(url, download=False) or {}
            except _Cut as cut:
                return _cut_short(cut, collector)
            except DownloadError as exc:
                cause = exc.exc_info[1] if exc.exc_info else None
                if isinstance(cause, _Cut):
                    return _cut_short(cause, collector)
                if "Unsupported URL" in str(exc):
                    raise DownloadFailed(
                        "COLLECTION_UNREADABLE",
                        f"{UNREADABLE_MESSAGE}: {str(exc).removeprefix('ERROR: ')}",
                        False,
                    ) from None
                raise classify(exc) from None
            except RequestError as exc:
                raise classify(exc) from None
        if info.get("_type") not in COLLECTION_TYPES:
            return None
        listed = info.get("playlist_count") or collector.read
        title = clean_title(info.get("title") or collector.playlist.get("playlist_title"))
        return Collection(title, int(listed), False, tuple(collector.entries))


def _cut_short(cut: _Cut, collector: _EntryCollector) -> Collection:
    """The listing stopped early: the cap was reached, or a budget ran out. Entries read so far
    stand, truncated; a budget that ran out before any entry fails the resolution."""
    if cut.stop is not None:
        raise cut.stop
    if cut.failure is not None and not collector.entries:
        raise cut.failure
    playlist = collector.playlist
    listed = int(playlist.get("playlist_count") or collector.read)
    return Collection(clean_title(playlist.get("playlist_title")), listed, True, tuple(collector.entries))
