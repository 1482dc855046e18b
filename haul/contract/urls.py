"""The URL policy every entry point applies before a URL goes anywhere near a tool.

It is part of the contract: the gateway checks it on submit (so the caller gets a 422 at
once) and jobstore checks it again on CreateJob (so no client can skip it). It looks only
at the text; which addresses a URL may reach is the egress guard's business at connect time.
"""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_URL_LENGTH = 8192
ALLOWED_SCHEMES = frozenset({"http", "https"})


class UrlRefused(ValueError):
    """The URL breaks the policy; the message says how, in words fit for the caller."""


def _has_control_or_space(text: str) -> bool:
    return any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or 0x80 <= ord(ch) < 0xA0 for ch in text)


def check_url(url: str) -> str:
    """Return the URL unchanged if the policy allows it, else raise UrlRefused.

    The policy: http or https only; a host; no user:password part; no whitespace or control
    characters anywhere; at most MAX_URL_LENGTH characters; and it cannot be read as a
    command-line option (no leading '-').
    """
    if not url:
        raise UrlRefused("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if url.startswith("-"):
        raise UrlRefused("the URL must not start with '-'")
    if _has_control_or_space(url):
        raise UrlRefused("the URL must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"the URL is malformed: {exc}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UrlRefused("only http and https URLs are accepted")
    if not parts.hostname:
        raise UrlRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("credentials in the URL are not accepted")
    if port == 0:
        raise UrlRefused("port 0 is not a valid port")
    return url
