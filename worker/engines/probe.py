"""What a server says about a file before anyone downloads it: a HEAD request (a GET of one byte
when HEAD is refused), through the job's egress proxy like its tools, following redirects.

An `auto` job's engine is chosen on its Content-Type (worker.engines.choice), and aria2, which
does not tell what the server called the file, gets its name from Content-Disposition
(`filename*` first, then `filename`). The caller makes the name safe.
"""

from __future__ import annotations

import base64
import http.client
import mimetypes
import re
import ssl
from dataclasses import dataclass
from email.message import Message
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from worker.egress.tools import ToolEgress
from worker.naming import EXTENSION

PROBE_TIMEOUT = 10.0
PROBE_REDIRECTS = 10
MAX_NAME_CHARS = 1024
USER_AGENT = "haul"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
HEADER_PARAM = re.compile(r';\s*([^\s;=]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
RFC5987_CHARSETS = frozenset({"utf-8", "iso-8859-1", "us-ascii"})


def _unquote_header_value(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _ext_value(value: str) -> str | None:
    """An RFC 5987 ext-value, `charset'language'percent-encoded`; None when malformed."""
    charset, quote1, rest = _unquote_header_value(value).partition("'")
    _language, quote2, encoded = rest.partition("'")
    if not (quote1 and quote2) or charset.lower() not in RFC5987_CHARSETS:
        return None
    return unquote(encoded, encoding=charset.lower(), errors="replace")


def _latin1_to_utf8(value: str) -> str:
    # http.client decodes headers as Latin-1; servers that send raw UTF-8 names mean UTF-8.
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def filename_from_disposition(header: str | None) -> str | None:
    """The file name a Content-Disposition header gives, `filename*` before `filename`.

    Unsafe names are returned as they are (after decoding); `safe_filename` deals with them.
    """
    if not header:
        return None
    params: dict[str, str] = {}
    for match in HEADER_PARAM.finditer(";" + header):
        params.setdefault(match.group(1).lower(), match.group(2))
    name: str | None = None
    if "filename*" in params:
        name = _ext_value(params["filename*"])
    if not name and "filename" in params:
        name = _latin1_to_utf8(_unquote_header_value(params["filename"]))
    return name[:MAX_NAME_CHARS] if name else None


@dataclass(frozen=True)
class Probe:
    """What the server says about the file, after redirects."""

    final_url: str
    filename: str | None
    content_type: str | None


def _connection(
    url: str, proxy_url: str | None, timeout: float
) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
    """A connection for `url`, through the proxy like aria2, the request target and proxy headers."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host, port = parts.hostname or "", parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    context = ssl.create_default_context() if secure else None
    if not proxy_url:
        if context is not None:
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=context), target, {}
        return http.client.HTTPConnection(host, port, timeout=timeout), target, {}
    proxy = urlsplit(proxy_url)
    proxy_host, proxy_port = proxy.hostname or "", proxy.port or 80
    if context is not None:  # CONNECT through the proxy, then TLS to the origin
        tunnel = http.client.HTTPSConnection(proxy_host, proxy_port, timeout=timeout, context=context)
        tunnel.set_tunnel(host, port, headers=_proxy_auth(proxy_url))
        return tunnel, target, {}
    # Plain http through a proxy: the absolute URL is the request target.
    absolute = parts._replace(fragment="").geturl()
    return (
        http.client.HTTPConnection(proxy_host, proxy_port, timeout=timeout),
        absolute,
        _proxy_auth(proxy_url),
    )


def _ask(url: str, method: str, proxy_url: str | None, timeout: float) -> tuple[int, Message]:
    connection, target, proxy_headers = _connection(url, proxy_url, timeout)
    headers = {
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",
        "Connection": "close",
        **proxy_headers,
    }
    if method == "GET":
        headers["Range"] = "bytes=0-0"
    try:
        connection.request(method, target, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers
    finally:
        connection.close()


def _proxy_auth(proxy_url: str) -> dict[str, str]:
    proxy = urlsplit(proxy_url)
    if proxy.username is None:
        return {}
    pair = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode()}


def probe(url: str, egress: ToolEgress, timeout: float = PROBE_TIMEOUT) -> Probe | None:
    """HEAD the URL (GET of one byte if HEAD is refused) through the job's proxy, following
    redirects; None on failure."""
    current, method, proxy_url = url, "HEAD", egress.proxy_url
    try:
        for _ in range(PROBE_REDIRECTS + 1):
            status, headers = _ask(current, method, proxy_url, timeout)
            location = headers.get("Location")
            if status in REDIRECTS and location:
                current = urljoin(current, location)
                if urlsplit(current).scheme not in ("http", "https"):
                    return None
                continue
            if status in (405, 501) and method == "HEAD":
                method = "GET"
                continue
            if not 200 <= status < 300:
                return None
            content_type = headers.get_content_type() if headers.get("Content-Type") else None
            return Probe(current, filename_from_disposition(headers.get("Content-Disposition")), content_type)
    except (OSError, http.client.HTTPException, ValueError, UnicodeError):
        return None
    return None


def _last_segment(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name, errors="replace")


def _extension(name: str) -> str:
    match = EXTENSION.search(name)
    return match.group()[1:].lower() if match and match.start() > 0 else ""


def name_and_extension(url: str, found: Probe | None) -> tuple[str, str]:
    """The name the server gave (else the URL's last segment) and the best extension known."""
    final_url = found.final_url if found else url
    name = (found.filename if found else None) or _last_segment(final_url) or _last_segment(url) or "download"
    extension = _extension(name) or _extension(_last_segment(final_url))
    if not extension and found and found.content_type:
        extension = (mimetypes.guess_extension(found.content_type) or "").lstrip(".")
    return name[:MAX_NAME_CHARS], extension
