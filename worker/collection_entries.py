"""The pure half of collections: what one entry of a playlist, channel or feed becomes.

yt-dlp's flat extraction describes each entry with an info dict. From it the worker keeps:
- `key`, the entry's stable identity within its collection: the media id when yt-dlp gives one
  (a feed item's guid travels smuggled in its URL), else the URL without the smuggled part;
- `url`, what a child job hands back to yt-dlp to download this entry and only this one. A
  `url` entry's URL is kept whole, `#__youtubedl_smuggle=` fragment included: the generic
  extractor reads a feed item's guid from it, so the child's media id is the entry's key. An
  entry that yt-dlp resolved in full and that has no page of its own (a `<video>` on the
  collection's page) gets its media URL, smuggled with its id and the page as referer;
- `archive_id`, the media's identity in the download archive (worker.media_identity), the one
  its child reports when it completes, so jobstore skips what the archive holds; empty when refused;
- `refused`, why the URL fails the policy a submit passes (haul.contract.urls.check_url), else
  None. That policy reads text only: an entry aimed at a private or loopback address passes it,
  and the egress guard refuses the connection when the child downloads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yt_dlp.utils import smuggle_url, unsmuggle_url

from haul.contract.urls import UrlRefused, check_url
from worker.media_identity import entry_identity

MAX_KEY_LENGTH = 512
MAX_TITLE_LENGTH = 1024
ENTRY_TYPES_BY_URL = frozenset({"url", "url_transparent"})
NO_URL_REASON = "yt-dlp gave this entry no URL to download"


@dataclass(frozen=True)
class CollectionEntry:
    key: str
    url: str
    title: str
    # The entry's 1-based position in the collection (yt-dlp's playlist_index), so `items`
    # "2-3" gives the indexes 2 and 3.
    index: int
    refused: str | None = None
    # The media's identity in the download archive; empty for a refused entry.
    archive_id: str = ""


@dataclass(frozen=True)
class Collection:
    title: str
    # How many entries the source lists, when yt-dlp knows (a feed); otherwise how many were
    # read before `items` and the cap chose, so at least max_items + 1 when truncated.
    listed: int
    # The cap (max_items) or a resolution budget cut entries off the end.
    truncated: bool
    entries: tuple[CollectionEntry, ...]


def clean_title(value: Any) -> str:
    return str(value or "")[:MAX_TITLE_LENGTH].replace("\x00", "")


def entry_url(info: Mapping[str, Any], collection_page: str | None) -> str:
    """What a child job gives yt-dlp to download this entry (empty when yt-dlp gave nothing)."""
    if info.get("_type") in ENTRY_TYPES_BY_URL:
        return str(info.get("url") or "")
    page = info.get("webpage_url")
    if page and page != collection_page:
        return str(page)
    formats = [f for f in info.get("formats") or [] if isinstance(f, Mapping) and f.get("url")]
    media = info.get("url") or (formats[-1]["url"] if formats else None)  # yt-dlp sorts best last
    if not media:
        return ""
    smuggled = {"force_videoid": str(info["id"])} if info.get("id") else {}
    if collection_page:
        smuggled["referer"] = collection_page
    return smuggle_url(str(media), smuggled) if smuggled else str(media)


def entry_key(info: Mapping[str, Any], url: str) -> str:
    """The media id yt-dlp gives (or the guid smuggled in the URL), else the bare URL; a key
    longer than MAX_KEY_LENGTH becomes `sha256:` and its digest."""
    bare, smuggled = unsmuggle_url(url, {})
    key = str(info.get("id") or smuggled.get("force_videoid") or bare)
    if len(key) > MAX_KEY_LENGTH:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


def refusal(url: str) -> str | None:
    """Why the entry's URL fails a submit's URL policy, else None. Both the URL yt-dlp will fetch
    and the whole text the child job stores must pass."""
    if not url:
        return NO_URL_REASON
    bare, _ = unsmuggle_url(url, {})
    for candidate in dict.fromkeys((bare, url)):  # the same text once when nothing is smuggled
        try:
            check_url(candidate)
        except UrlRefused as exc:
            return f"the entry's URL is refused: {exc}"
    return None


def make_entry(info: Mapping[str, Any], collection_page: str | None) -> CollectionEntry:
    url = entry_url(info, collection_page)
    index = int(info.get("playlist_index") or 0)
    refused = refusal(url)
    return CollectionEntry(
        key=entry_key(info, url) or f"entry-{index}",  # no id and no URL: refused, but still distinct
        url=url,
        title=clean_title(info.get("title")),
        index=index,
        refused=refused,
        archive_id="" if refused else entry_identity(info, url),
    )
