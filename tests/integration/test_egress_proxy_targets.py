"""The egress guard against hostile targets: every spelling of a loopback address, asked for
directly by a raw client, urllib, yt-dlp, aria2c and ffmpeg, or reached through a redirect or an
HLS playlist served by the allowed origin. A canary on 127.0.0.1 and [::1] must count no connection.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.egress_clients import aria2, ffmpeg_read, raw_exchange, urllib_get, ytdlp
from tests.support.egress_lab import Lab
from tests.support.egress_targets import hostile_urls

pytest_plugins = ["tests.support.egress_fixtures"]


def test_a_raw_client_gets_403_with_a_reason_for_every_hostile_target(lab: Lab) -> None:
    for url in hostile_urls(lab.canary.port):
        host = url.split("/")[2]
        answer = raw_exchange(lab.closed, f"GET {url} HTTP/1.1\r\nHost: {host}\r\n\r\n")
        status, _, body = answer.partition(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 403 "), (url, answer[:200])
        assert b"refused" in body, body
    assert lab.canary.accepted == 0


def test_connect_to_the_canary_is_refused_in_every_spelling(lab: Lab) -> None:
    for authority in ("127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "127.1", "0", "localhost"):
        answer = raw_exchange(lab.closed, f"CONNECT {authority}:{lab.canary.port} HTTP/1.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 403 "), (authority, answer[:200])
    assert lab.canary.accepted == 0


def test_urllib_and_https_urls_are_refused(lab: Lab) -> None:
    before = lab.refused()
    for url in [*hostile_urls(lab.canary.port), f"https://127.0.0.1:{lab.canary.port}/"]:
        assert urllib_get(url, lab.proxy(closed=True)) in (403, -1), url
    assert lab.refused() - before == len(hostile_urls(lab.canary.port)) + 1
    assert lab.canary.accepted == 0


def test_ytdlp_fails_on_every_hostile_target(lab: Lab, tmp_path: Path) -> None:
    for url in [*hostile_urls(lab.canary.port), f"https://127.0.0.1:{lab.canary.port}/v.mp4"]:
        before = lab.refused()
        assert ytdlp(url, lab.egress(closed=True), tmp_path) is None, url
        assert lab.refused() > before, f"yt-dlp asked the guard for {url}"
    assert lab.canary.accepted == 0


def test_aria2_fails_on_every_hostile_target(lab: Lab, tmp_path: Path) -> None:
    for url in [*hostile_urls(lab.canary.port), f"https://127.0.0.1:{lab.canary.port}/x.bin"]:
        before = lab.refused()
        assert aria2(url, lab.egress(closed=True), tmp_path) != 0, url
        assert lab.refused() > before, f"aria2 asked the guard for {url}"
    assert lab.canary.accepted == 0


def test_ffmpeg_fails_on_every_hostile_target(lab: Lab) -> None:
    for url in [*hostile_urls(lab.canary.port), f"https://127.0.0.1:{lab.canary.port}/v.mp4"]:
        before = lab.refused()
        assert ffmpeg_read(lab.egress(closed=True), "mp4", url) != 0, url
        assert lab.refused() > before, f"ffmpeg asked the guard for {url}"
    assert lab.canary.accepted == 0


# --- redirects, HLS segments and keys -------------------------------------------------------------------


def redirects_to_canary(lab: Lab) -> list[str]:
    port = lab.canary.port
    targets = [f"http://127.0.0.1:{port}/x", f"http://[::1]:{port}/x", f"https://127.0.0.1:{port}/x",
               f"http://2130706433:{port}/x"]  # fmt: skip
    return [lab.origin.url(f"/redirect?to={target}") for target in targets]


def test_every_tool_refuses_a_redirect_to_loopback(lab: Lab, tmp_path: Path) -> None:
    seen = len(lab.origin.paths)
    for url in redirects_to_canary(lab):
        before = lab.refused()
        assert urllib_get(url, lab.proxy()) in (403, -1), url
        assert ytdlp(url, lab.egress(), tmp_path) is None, url
        assert aria2(url, lab.egress(), tmp_path) != 0, url
        assert ffmpeg_read(lab.egress(), "mp4", url) != 0, url
        assert lab.refused() - before >= 4, f"each tool followed {url} and was refused"
    assert lab.origin.paths[seen:].count("/redirect") == 4 * len(redirects_to_canary(lab)), "redirects served"
    assert lab.canary.accepted == 0


def test_aria2_and_ffmpeg_refuse_a_redirect_to_another_protocol(lab: Lab, tmp_path: Path) -> None:
    port = lab.canary.port
    stats = lab.guard.proxy.stats
    for scheme in ("ftp", "sftp"):  # aria2 asks the guard: GET ftp://... (400), CONNECT for sftp (403)
        url = lab.origin.url(f"/redirect?to={scheme}://127.0.0.1:{port}/x")
        answered = stats.refused + stats.rejected
        assert aria2(url, lab.egress(), tmp_path) != 0, url
        assert stats.refused + stats.rejected > answered, url
    for scheme in ("ftp", "sftp", "tcp"):  # ffmpeg's http follows http(s) redirects only
        url = lab.origin.url(f"/redirect?to={scheme}://127.0.0.1:{port}/x")
        assert ffmpeg_read(lab.egress(), "mp4", url) != 0, url
    assert lab.canary.accepted == 0


@pytest.mark.parametrize("playlist", ["segments", "key"])
def test_hls_segments_or_a_key_on_loopback_fail_the_download(lab: Lab, tmp_path: Path, playlist: str) -> None:
    # Without pycryptodomex, yt-dlp hands the stream with a key to its own ffmpeg: the refusal must
    # hold there too.
    url = lab.origin.url(f"/bad/{playlist}/{lab.canary.port}.m3u8")
    before = lab.refused()
    assert ytdlp(url, lab.egress(), tmp_path) is None
    assert lab.refused() > before
    before = lab.refused()
    assert ffmpeg_read(lab.egress(), "hls", url) != 0
    assert lab.refused() > before
    assert lab.canary.accepted == 0
