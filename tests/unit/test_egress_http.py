from __future__ import annotations

import base64

import pytest

from worker.egress.http import (
    HttpError,
    client_response,
    error_response,
    origin_request,
    parse_absolute_uri,
    parse_authority,
    parse_request_head,
    parse_response_head,
    proxy_credentials,
    request_body_length,
)


def head(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode() + b"\r\n"


@pytest.mark.parametrize(
    ("authority", "expected"),
    [
        ("example.com:443", ("example.com", 443)),
        ("example.com", ("example.com", 80)),
        ("[::1]:8080", ("::1", 8080)),
        ("[::ffff:127.0.0.1]:80", ("::ffff:127.0.0.1", 80)),
        # Numeric spellings are passed on untouched: the resolver says what they mean.
        ("2130706433:80", ("2130706433", 80)),
        ("0x7f.1:80", ("0x7f.1", 80)),
        ("017700000001:80", ("017700000001", 80)),
        ("127.1:80", ("127.1", 80)),
        ("0:80", ("0", 80)),
    ],
)
def test_authorities_are_split_into_host_and_port(authority: str, expected: tuple[str, int]) -> None:
    assert parse_authority(authority, 80) == expected


@pytest.mark.parametrize(
    "authority",
    ["", "host:0", "host:65536", "host:-1", "host:8o", "[::1", "[nonsense]:80", "[::1]x", "us er:80",
     "user@host:80", "a/b:80", "host:80:80", "[fe80::1%25eth0]:80", "h\x00st:80"],
)  # fmt: skip
def test_malformed_authorities_are_bad_requests(authority: str) -> None:
    with pytest.raises(HttpError) as error:
        parse_authority(authority, 80)
    assert error.value.status == 400


def test_connect_needs_a_port() -> None:
    with pytest.raises(HttpError):
        parse_authority("example.com", None)


def test_absolute_uris_become_origin_form() -> None:
    assert parse_absolute_uri("http://example.com/a/b?c=d#frag") == (
        "example.com",
        80,
        "example.com",
        "/a/b?c=d",
    )
    assert parse_absolute_uri("HTTP://[::1]:81?x") == ("::1", 81, "[::1]:81", "/?x")
    assert parse_absolute_uri("http://example.com") == ("example.com", 80, "example.com", "/")


@pytest.mark.parametrize("target", ["/relative", "https://example.com/", "ftp://example.com/", "http:///x"])
def test_only_absolute_http_targets_are_forwarded(target: str) -> None:
    with pytest.raises(HttpError):
        parse_absolute_uri(target)


def test_a_request_head_is_parsed_and_rewritten_for_the_origin() -> None:
    request = parse_request_head(
        head(
            "GET http://example.com/x HTTP/1.1\nHost: evil.test\nProxy-Authorization: Basic Zm9vOmJhcg==\n"
            "Connection: keep-alive, X-Secret\nX-Secret: 1\nKeep-Alive: 5\nAccept: */*\n"
        )
    )
    assert request.first == ("GET", "http://example.com/x", "HTTP/1.1")
    forwarded = origin_request(request, "example.com", "/x").decode()
    assert forwarded.startswith("GET /x HTTP/1.1\r\nHost: example.com\r\n")
    assert forwarded.endswith("Accept: */*\r\nConnection: close\r\n\r\n")
    for dropped in ("Proxy-Authorization", "keep-alive", "X-Secret", "Keep-Alive", "evil.test"):
        assert dropped not in forwarded


@pytest.mark.parametrize(
    "raw",
    [b"GET http://a/ HTTP/1.1\r\n", b"GET http://a/\r\n\r\n", b"GET  http://a/ HTTP/1.1\r\n\r\n",
     b"GET http://a/ HTTP/2\r\n\r\n", b"GET http://a/ HTTP/1.1\r\n folded\r\n\r\n",
     b"GET http://a/ HTTP/1.1\r\nBad Name: x\r\n\r\n", b"GET http://a/ HTTP/1.1\r\nA: b\nc\r\n\r\n",
     b"GET http://a/ HTTP/1.1\r\nNoColon\r\n\r\n"],
)  # fmt: skip
def test_malformed_request_heads_are_bad_requests(raw: bytes) -> None:
    with pytest.raises(HttpError) as error:
        parse_request_head(raw)
    assert error.value.status == 400


def test_a_response_head_is_relayed_with_connection_close() -> None:
    response = parse_response_head(
        head("HTTP/1.1 200 OK\nConnection: keep-alive\nKeep-Alive: 5\nContent-Length: 3\n")
    )
    assert client_response(response) == b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
    bare = parse_response_head(head("HTTP/1.0 204\n"))
    assert client_response(bare).startswith(b"HTTP/1.0 204\r\n")


def test_a_malformed_response_head_is_a_bad_gateway() -> None:
    with pytest.raises(HttpError) as error:
        parse_response_head(head("HTTP/1.1 OK\n"))
    assert error.value.status == 502


def test_body_lengths_and_conflicting_framing() -> None:
    assert (
        request_body_length(parse_request_head(head("POST http://a/ HTTP/1.1\nContent-Length: 12\n"))) == 12
    )
    assert request_body_length(parse_request_head(head("GET http://a/ HTTP/1.1\n"))) == 0
    chunked = head("POST http://a/ HTTP/1.1\nTransfer-Encoding: chunked\n")
    assert request_body_length(parse_request_head(chunked)) is None
    for bad in ("Content-Length: 1\nTransfer-Encoding: chunked\n", "Content-Length: 1\nContent-Length: 2\n",
                "Content-Length: -1\n", "Content-Length: 1e3\n"):  # fmt: skip
        with pytest.raises(HttpError):
            request_body_length(parse_request_head(head("POST http://a/ HTTP/1.1\n" + bad)))


def test_proxy_credentials_are_read_from_basic_auth_only() -> None:
    def with_auth(value: str) -> bytes:
        return head(f"CONNECT a:443 HTTP/1.1\nProxy-Authorization: {value}\n")

    token = base64.b64encode(b"job-1:s3:cret").decode()
    assert proxy_credentials(parse_request_head(with_auth(f"Basic {token}"))) == ("job-1", "s3:cret")
    assert proxy_credentials(parse_request_head(with_auth(f"basic {token}"))) == ("job-1", "s3:cret")
    assert proxy_credentials(parse_request_head(with_auth(f"Bearer {token}"))) is None
    assert proxy_credentials(parse_request_head(with_auth("Basic !!!"))) is None
    assert proxy_credentials(parse_request_head(with_auth(base64.b64encode(b"nocolon").decode()))) is None
    assert proxy_credentials(parse_request_head(head("CONNECT a:443 HTTP/1.1\n"))) is None


def test_error_responses_are_plain_text_and_close() -> None:
    answer = error_response(HttpError(403, "egress to x refused", (("X-Why", "policy"),)))
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\nX-Why: policy\r\n")
    assert b"Connection: close\r\n" in answer and answer.endswith(b"\r\n\r\negress to x refused\n")
