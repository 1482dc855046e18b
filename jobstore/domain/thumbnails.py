"""Which thumbnail URLs jobstore keeps: only ones a browser may load without reaching inside.

The page shows a job's thumbnail in an <img>, so a thumbnail URL is a request the *browser*
makes, from inside the user's network, to whatever address a worker (that is, a remote site
through yt-dlp) chose. The egress guard does not see that request. So jobstore, the only writer,
keeps a thumbnail only when it is an http(s) URL the contract's URL policy accepts and whose
host is an ordinary public name or a globally routable address; anything else is stored as no
thumbnail. It is blanked rather than refused: the rest of the event (progress, the finished
file) is good and must not be lost over a picture.

Judged by text alone, without DNS:
- refused: literal non-global IPv4/IPv6 addresses (loopback, private, link-local, ...), hosts
  a browser would read as an IPv4 number in another spelling (`2130706433`, `127.1`, `0x7f.1`),
  `localhost` and names under the suffixes in INTERNAL_SUFFIXES, single-label names (`router`,
  `jobstore`), and anything that is not plain ASCII letters, digits, dots and hyphens (which
  rules out percent-escapes and look-alike characters a browser would normalise);
- not caught: a public-looking name that resolves to a private address. For that the page
  loads thumbnails with `referrerpolicy="no-referrer"` and shows an icon when one fails, and
  no cookie or token of haul's goes with the request.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from haul.contract.urls import UrlRefused, check_url

INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".localdomain")
_NAME = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")
# A browser (WHATWG URL) reads a host whose last label is a number as an IPv4 address.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")


def _public_host(host: str) -> bool:
    host = host.lower().removesuffix(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        mapped = getattr(address, "ipv4_mapped", None)
        return address.is_global and not address.is_multicast and (mapped is None or mapped.is_global)
    if not _NAME.fullmatch(host) or _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        return False
    return host != "localhost" and not host.endswith(INTERNAL_SUFFIXES)


def shown_thumbnail(url: str) -> str:
    """The thumbnail URL to store and show: `url` itself when a browser may safely load it, else ""."""
    if not url:
        return ""
    try:
        check_url(url)
    except UrlRefused:
        return ""
    return url if _public_host(urlsplit(url).hostname or "") else ""
