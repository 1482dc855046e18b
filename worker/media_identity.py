"""A media's identity in the download archive: yt-dlp's download-archive form,
"<extractor key lowercased> <media id>" (yt_dlp.utils.make_archive_id), or "url <url>" when
there is no media id.

The identity a collection's entry gets when it is listed must be the one its child reports
when it completes, or the archive would never skip anything. yt-dlp's own rule
(YoutubeDL._make_archive_id: `extractor_key`, else a listing's `ie_key`, else the first
extractor whose URL pattern matches) does not give that on a flat listing: a podcast feed's
entries have no `id` (the item's guid is smuggled in the URL), and an entry of a page of
several videos names the extractor that listed it (HTML5MediaEmbed) while its child is read by
the generic one. So haul's rule reads the entry as its child will be read, from the child's URL:

1. The extractor: the entry's `ie_key` when the listing names one (a `url` entry says which
   extractor reads it); for an entry yt-dlp resolved in full whose child downloads its own page,
   its `extractor_key`; otherwise the first extractor yt-dlp would match to the child's URL.
2. The media id: the entry's `id`, else the `force_videoid` smuggled in the child's URL (what the
   generic extractor reports as the id), else the id that extractor reads from the URL.
3. The generic extractor without a smuggled id only invents an id from the file's name, so it
   counts as no id: the identity is then "url <the URL without its smuggled part>".

A completed download reports the identity of what yt-dlp read (`extractor_key` and `id`, with
the same generic exception), and a download that yt-dlp did not read (aria2) the identity of its
URL by the rule above. Both are checked equal for a real feed and a real page of several videos
(tests/integration/test_archive_identity.py). An identity longer than MAX_IDENTITY keeps its
extractor and becomes "<extractor> sha256:<hex digest of the media id>".
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from yt_dlp.extractor import gen_extractor_classes, get_info_extractor
from yt_dlp.utils import make_archive_id, unsmuggle_url

from haul.contract.limits import MAX_ARCHIVE_ID

MAX_IDENTITY = MAX_ARCHIVE_ID
URL_EXTRACTOR = "url"
GENERIC = "Generic"
ENTRY_TYPES_BY_URL = frozenset({"url", "url_transparent"})
# Matching a URL against every extractor costs milliseconds; a feed's entries share a folder.
MATCH_CACHE_SIZE = 4096


def entry_identity(info: Mapping[str, Any], child_url: str) -> str:
    """The identity of a listed entry whose child job downloads `child_url`; empty without a URL."""
    if not child_url:
        return ""
    by_url = info.get("_type") in ENTRY_TYPES_BY_URL
    extractor = str(info.get("ie_key") or "") if by_url else ""
    if not by_url and child_url == info.get("webpage_url"):
        extractor = str(info.get("extractor_key") or "")
    return _identity(extractor or _matching_extractor(child_url), str(info.get("id") or ""), child_url)


def download_identity(info: Mapping[str, Any], job_url: str) -> str:
    """The identity of what yt-dlp downloaded for a job of `job_url` (its extract_info result)."""
    extractor, media_id = str(info.get("extractor_key") or ""), str(info.get("id") or "")
    if not (extractor and media_id):
        return url_identity(job_url)
    return _identity(extractor, media_id, job_url)


def url_identity(url: str) -> str:
    """The identity of a download that yt-dlp did not read (aria2): its URL's, by the rule above."""
    return entry_identity({}, url)


def split_identity(identity: str) -> tuple[str, str]:
    """(extractor, media id) of an identity; the media id of a "url" one is the URL."""
    extractor, _, media_id = identity.partition(" ")
    return extractor, media_id


def _identity(extractor: str, media_id: str, url: str) -> str:
    bare, smuggled = unsmuggle_url(url, {})
    forced = str(smuggled.get("force_videoid") or "")
    if extractor == GENERIC and not forced:
        return _bounded(URL_EXTRACTOR, bare)
    media_id = media_id or forced or _id_from_url(extractor, url)
    if not media_id:
        return _bounded(URL_EXTRACTOR, bare)
    return _bounded(extractor.lower(), media_id)


def _bounded(extractor: str, media_id: str) -> str:
    identity = str(make_archive_id(extractor, media_id))
    if len(identity) <= MAX_IDENTITY and "\x00" not in identity:
        return identity
    digest = hashlib.sha256(media_id.encode("utf-8", "surrogatepass")).hexdigest()
    return str(make_archive_id(extractor, f"sha256:{digest}"))


def _id_from_url(extractor: str, url: str) -> str:
    try:
        ie = get_info_extractor(extractor)
    except (KeyError, AttributeError):  # an extractor this yt-dlp does not have
        return ""
    return str(ie.get_temp_id(url) or "")


def _matching_extractor(url: str) -> str:
    """The key of the first extractor whose URL pattern matches `url`, in yt-dlp's order (the
    generic one, last, matches anything). The answer for the URL's folder is remembered and
    checked against each URL; a specific extractor that matches another URL of a folder the
    generic one answered for first is not looked for again (a re-download at worst)."""
    parts = urlsplit(url)
    folder = (parts.scheme.lower(), parts.netloc.lower(), posixpath.dirname(parts.path))
    known = _by_folder.get(folder)
    if known is not None and (known.ie_key() == GENERIC or known.suitable(url)):
        return str(known.ie_key())
    found = _first_suitable(url)
    if len(_by_folder) >= MATCH_CACHE_SIZE:
        _by_folder.clear()
    _by_folder[folder] = found
    return str(found.ie_key())


_by_folder: dict[tuple[str, str, str], Any] = {}


def _first_suitable(url: str) -> Any:
    for ie in _extractors():
        if ie.suitable(url):
            return ie
    return get_info_extractor(GENERIC)


@functools.cache
def _extractors() -> tuple[Any, ...]:
    return tuple(gen_extractor_classes())
