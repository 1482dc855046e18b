"""The collections the local media origin serves (tests/support/media_server.py): podcast feeds,
a page of several videos, and feeds built to hurt. Pure text builders; the server owns the routes.

yt-dlp's generic extractor reads an RSS `<item>`'s enclosure (else its link) as the entry URL,
verbatim: an enclosure must be an absolute URL, which is why every builder takes the origin's base.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# The episodes make_media writes as audio/episode-N.m4a, each a different tone, so their bytes differ.
EPISODES = 3
LARGE_FEED_ENTRIES = 1000
GROWING_FEED_START = 2
PRIVATE_ADDRESS = "10.255.255.1"
# Cut off in the middle of an item: no XML parser reads it as a feed.
MALFORMED_FEED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Broken feed</title>'
    '<item><title>Half an episode</title><enclosure url="http://'
)


@dataclass(frozen=True)
class FeedItem:
    title: str
    url: str
    guid: str | None = None


def rss(title: str, items: list[FeedItem]) -> str:
    """A podcast feed: one `<item>` per entry, with its title, guid (when it has one) and enclosure."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>',
        f"<title>{escape(title)}</title><description>A feed served by the test origin</description>",
    ]
    for item in items:
        guid = f'<guid isPermaLink="false">{escape(item.guid)}</guid>' if item.guid else ""
        parts.append(
            f"<item><title>{escape(item.title)}</title>{guid}"
            f'<enclosure url={quoteattr(item.url)} type="audio/mp4" length="0"/></item>'
        )
    parts.append("</channel></rss>")
    return "\n".join(parts)


def episode(base: str, number: int) -> FeedItem:
    """Entry `number` of a feed, playing episode file ((number - 1) % EPISODES) + 1."""
    file_number = (number - 1) % EPISODES + 1
    return FeedItem(f"Episode {number}", f"{base}/audio/episode-{file_number}.m4a", f"guid-{number}")


def podcast_items(base: str) -> list[FeedItem]:
    return [episode(base, n) for n in range(1, EPISODES + 1)]


def numbered_items(base: str, count: int) -> list[FeedItem]:
    """`count` entries with distinct guids; their enclosures carry the number so each URL differs too."""
    return [
        FeedItem(f"Entry {n}", f"{base}/audio/episode-{(n - 1) % EPISODES + 1}.m4a?n={n}", f"entry-{n}")
        for n in range(1, count + 1)
    ]


def slow_entry_path(number: int, name: str = "medium.bin") -> str:
    """The origin path of entry `number` of /feeds/slow-entries.rss: the file `name`, throttled,
    at a path of its own, so the origin counts each entry's bytes apart."""
    return f"/slow-entries/{number}/{name}"


def slow_items(base: str, count: int) -> list[FeedItem]:
    """`count` entries, each a throttled copy of medium.bin at its own path (slow_entry_path)."""
    return [FeedItem(f"Slow {n}", f"{base}{slow_entry_path(n)}", f"slow-{n}") for n in range(1, count + 1)]


def hostile_items(base: str, port: int) -> list[FeedItem]:
    """A feed an attacker wrote: good episodes around entries aimed at the worker's own machine and
    network. `port` is where a canary listens on 127.0.0.1 and [::1]."""
    return [
        FeedItem("Good first", f"{base}/audio/episode-1.m4a", "good-1"),
        FeedItem("Local file", "file:///etc/passwd", "file"),
        FeedItem("FTP", f"ftp://127.0.0.1:{port}/episode.m4a", "ftp"),
        FeedItem("Credentials", f"http://user:secret@127.0.0.1:{port}/episode.m4a", "credentials"),
        FeedItem("Private address", f"http://{PRIVATE_ADDRESS}/episode.m4a", "private"),
        FeedItem("Loopback port", f"http://127.0.0.1:{port}/episode.m4a", "loopback"),
        FeedItem("Inside name", f"http://localhost:{port}/episode.m4a", "inside-name"),
        FeedItem("Good last", f"{base}/audio/episode-2.m4a", "good-2"),
    ]


def video_page(title: str, sources: list[str]) -> str:
    """An HTML page with one `<video>` per source."""
    videos = "".join(
        f'<video controls><source src={quoteattr(src)} type="video/mp4"></video>' for src in sources
    )
    return f"<!doctype html><html><head><title>{escape(title)}</title></head><body>{videos}</body></html>"
