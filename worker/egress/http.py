"""The little HTTP/1.1 the egress proxy speaks: request and response heads, authorities, credentials.

The proxy parses only heads. A plain-HTTP request is forwarded with `Connection: close` and its
response is relayed with `Connection: close`, so a keep-alive client can never send a second
request, for another host, down a connection that was checked for the first one.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from ipaddress import IPv6Address

MAX_HEAD_BYTES = 64 * 1024
HEAD_END = b"\r\n\r\n"

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_REG_NAME = re.compile(r"^[A-Za-z0-9._-]{1,253}$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_VERSION = re.compile(r"^HTTP/1\.[01]$")
# Hop-by-hop headers, never forwarded (RFC 9110 §7.6.1), plus the proxy's own.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te",
     "trailer", "upgrade"}
)  # fmt: skip


class HttpError(Exception):
    """A request the proxy answers itself, with `status` and a plain-text reason."""

    def __init__(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def bad_request(message: str) -> HttpError:
    return HttpError(400, message)


@dataclass(frozen=True)
class Head:
    """A request or response head: its first line split in three, and its header fields in order."""

    first: tuple[str, str, str]
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


def _split_lines(raw: bytes) -> list[str]:
    if not raw.endswith(HEAD_END):
        raise bad_request("incomplete head")
    try:
        text = raw[: -len(HEAD_END)].decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes every byte
        raise bad_request("undecodable head") from exc
    lines = text.split("\r\n")
    if any("\r" in line or "\n" in line or "\0" in line for line in lines):
        raise bad_request("bare CR, LF or NUL in head")
    return lines


def _parse_fields(lines: list[str]) -> tuple[tuple[str, str], ...]:
    fields = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            raise bad_request("obsolete header line folding")
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.match(name):
            raise bad_request("malformed header field")
        fields.append((name, value.strip(" \t")))
    return tuple(fields)


def parse_request_head(raw: bytes) -> Head:
    """A request head (`METHOD target HTTP/1.x` and fields), or HttpError 400."""
    lines = _split_lines(raw)
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not _VERSION.match(parts[2]) or not parts[1]:
        raise bad_request("malformed request line")
    return Head((parts[0], parts[1], parts[2]), _parse_fields(lines[1:]))


def parse_response_head(raw: bytes) -> Head:
    """A response head (`HTTP/1.x status reason` and fields), or HttpError 502."""
    try:
        lines = _split_lines(raw)
        version, _, rest = lines[0].partition(" ")
        status, _, reason = rest.partition(" ")
        if not _VERSION.match(version) or not (len(status) == 3 and status.isdigit()):
            raise bad_request("malformed status line")
        return Head((version, status, reason), _parse_fields(lines[1:]))
    except HttpError as exc:
        raise HttpError(502, f"bad response from origin: {exc.message}") from None


def parse_authority(authority: str, default_port: int | None) -> tuple[str, int]:
    """Split `host[:port]` (IPv6 in brackets). The host is returned as given, unresolved: the
    resolver decides what `2130706433`, `0x7f.1` or `127.1` mean, and the policy judges its answer."""
    if "@" in authority:
        raise bad_request("credentials in the target are not accepted")
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise bad_request("malformed IPv6 literal")
        literal, rest = authority[1:end], authority[end + 1 :]
        if "%" in literal:
            raise bad_request("IPv6 zone identifiers are not accepted")
        try:
            IPv6Address(literal)
        except ValueError:
            raise bad_request("malformed IPv6 literal") from None
        host = literal
        if rest and not rest.startswith(":"):
            raise bad_request("malformed authority")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_ = authority.partition(":")
        port_text = port_text_ if colon else None
        if not _REG_NAME.match(host):
            raise bad_request("malformed host")
    if port_text is None:
        if default_port is None:
            raise bad_request("the target needs a port")
        return host, default_port
    if not _PORT.match(port_text) or not 0 < int(port_text) < 65536:
        raise bad_request("malformed port")
    return host, int(port_text)


def parse_absolute_uri(target: str) -> tuple[str, int, str, str]:
    """`http://authority/path?query` → (host, port, authority, origin-form path). Only plain http:
    clients reach https origins with CONNECT."""
    scheme, sep, rest = target.partition("://")
    if not sep or scheme.lower() != "http":
        raise bad_request("only absolute http:// targets (use CONNECT for https)")
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority, path = rest[:cut], rest[cut:].partition("#")[0]
    host, port = parse_authority(authority, 80)
    if not path.startswith("/"):
        path = "/" + path
    return host, port, authority, path


def proxy_credentials(head: Head) -> tuple[str, str] | None:
    """(user, password) from `Proxy-Authorization: Basic ...`, or None when absent or malformed."""
    value = head.get("Proxy-Authorization")
    if not value:
        return None
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def request_body_length(head: Head) -> int | None:
    """The request body's length in bytes; None for a chunked body (relayed until the client stops)."""
    lengths = {value for key, value in head.headers if key.lower() == "content-length"}
    if head.get("Transfer-Encoding") is not None:
        if lengths:
            raise bad_request("both Content-Length and Transfer-Encoding")
        return None
    if not lengths:
        return 0
    if len(lengths) > 1 or not next(iter(lengths)).isdigit():
        raise bad_request("malformed Content-Length")
    return int(next(iter(lengths)))


def _forwarded_fields(head: Head) -> list[tuple[str, str]]:
    named = {token.strip().lower() for token in (head.get("Connection") or "").split(",")}
    return [(k, v) for k, v in head.headers if k.lower() not in _HOP_BY_HOP and k.lower() not in named]


def _serialize(first: str, fields: list[tuple[str, str]]) -> bytes:
    lines = [first, *(f"{name}: {value}" for name, value in fields), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def origin_request(head: Head, authority: str, path: str) -> bytes:
    """The head sent to the origin: origin-form path, Host from the target, `Connection: close`."""
    fields = [(k, v) for k, v in _forwarded_fields(head) if k.lower() != "host"]
    fields = [("Host", authority), *fields, ("Connection", "close")]
    return _serialize(f"{head.first[0]} {path} {head.first[2]}", fields)


def client_response(head: Head) -> bytes:
    """A response head as relayed to the client: hop-by-hop fields dropped, `Connection: close`."""
    return _serialize(" ".join(head.first).rstrip(" "), [*_forwarded_fields(head), ("Connection", "close")])


def error_response(error: HttpError) -> bytes:
    reasons = {400: "Bad Request", 403: "Forbidden", 407: "Proxy Authentication Required",
               429: "Too Many Requests", 502: "Bad Gateway", 504: "Gateway Timeout"}  # fmt: skip
    body = (error.message + "\n").encode("utf-8", "replace")
    fields = [*error.headers, ("Content-Type", "text/plain; charset=utf-8"),
              ("Content-Length", str(len(body))), ("Connection", "close")]  # fmt: skip
    return _serialize(f"HTTP/1.1 {error.status} {reasons.get(error.status, 'Error')}", fields) + body
