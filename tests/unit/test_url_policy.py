from __future__ import annotations

import pytest

from haul.contract.urls import MAX_URL_LENGTH, UrlRefused, check_url


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/watch?v=abc",
        "http://127.0.0.1:8000/video.mp4",
        "HTTPS://EXAMPLE.COM/",
        "https://[2001:db8::1]/a",
        "https://example.com/%E2%80%AE",
    ],
)
def test_http_and_https_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "empty"),
        ("ftp://example.com/file", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("--exec=rm -rf /", "must not start with '-'"),
        ("-https://example.com", "must not start with '-'"),
        ("https://example.com/a b", "whitespace"),
        ("https://example.com/a\nb", "whitespace"),
        ("https://example.com/\x00", "control"),
        ("https://example.com/\x1b[31m", "control"),
        ("https:///path-only", "no host"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://example.com:99999/", "malformed"),
        ("javascript:alert(1)", "only http and https"),
        ("https://" + "a" * MAX_URL_LENGTH, "longer than"),
    ],
)
def test_urls_outside_the_policy_are_refused_with_a_reason(url: str, why: str) -> None:
    with pytest.raises(UrlRefused, match=why):
        check_url(url)
