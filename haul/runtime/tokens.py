"""Tokens that may be listed several at once (while one is rotated): parsing the list, and
checking a presented token against every accepted one."""

from __future__ import annotations

import hmac
from collections.abc import Iterable


def listed_tokens(text: str | None) -> tuple[str, ...]:
    """The tokens a setting lists, comma-separated, first the one to send: "new, old" gives
    ("new", "old"). Blank items are dropped, so None, "" and "," list none. A token holds no comma."""
    return tuple(token for token in (item.strip() for item in (text or "").split(",")) if token)


def token_accepted(presented: str | bytes, accepted: Iterable[str | bytes]) -> bool:
    """True when `presented` equals one of `accepted`. Each is compared in constant time and
    none is skipped after a match, so the timing says neither whether nor which one matched."""
    # A header aiohttp could not decode holds surrogates: compare its bytes, never raise.
    given = presented.encode("utf-8", "surrogateescape") if isinstance(presented, str) else presented
    found = False
    for expected in accepted:
        found |= hmac.compare_digest(given, expected.encode() if isinstance(expected, str) else expected)
    return found
