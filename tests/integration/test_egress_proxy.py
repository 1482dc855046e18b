"""The egress guard against real yt-dlp, aria2c, ffmpeg and HTTP clients, on loopback only.

A canary listens on 127.0.0.1 and [::1] and counts every connection it accepts; it must count none.
The test origin listens on 127.0.0.2, the one network a guard may allow, and serves media, HLS
playlists, redirects, a torrent and a Metalink file that all point at the canary. Control tests
aim the same tricks at a second canary without the guard's settings, to prove each trick is real.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.egress_lab import (
    ARIA2C,
    LARGE,
    ORIGIN_HOST,
    SMALL,
    Aria2Rpc,
    Canary,
    Lab,
    Origin,
    aria2,
    basic,
    ffmpeg,
    ffmpeg_read,
    hostile_urls,
    make_media,
    raw_exchange,
    urllib_get,
    ytdlp,
)
from worker.egress.limits import EgressTimeouts
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy
from worker.egress.relay import RelayMode
from worker.egress.thread import EgressProxyThread
from worker.egress.tools import (
    EgressBypass,
    assert_http_inputs,
    assert_no_concat,
    ffmpeg_input_args,
    sanitize_aria2_download_options,
    tool_environment,
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("egress-media")
    make_media(folder)
    origin, canary = Origin(folder), Canary()
    origin.start()
    closed = EgressProxy(EgressPolicy([])).run_in_thread()
    guard = EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"])).run_in_thread()
    try:
        yield Lab(origin, canary, closed, guard, folder)
    finally:
        closed.stop()
        guard.stop()
        origin.stop()
        canary.close()
    assert canary.accepted == 0, "something reached the canary"
    assert not [t for t in threading.enumerate() if t.name.startswith("egress")], "relay threads left running"


@pytest.fixture
def control() -> Iterator[Canary]:
    canary = Canary()
    yield canary
    canary.close()


# --- the clients ------------------------------------------------------------------------------------


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
        assert ytdlp(url, lab.proxy(closed=True), tmp_path) is None, url
        assert lab.refused() > before, f"yt-dlp asked the guard for {url}"
    assert lab.canary.accepted == 0


def test_aria2_fails_on_every_hostile_target(lab: Lab, tmp_path: Path) -> None:
    for url in [*hostile_urls(lab.canary.port), f"https://127.0.0.1:{lab.canary.port}/x.bin"]:
        before = lab.refused()
        assert aria2(url, lab.proxy(closed=True), tmp_path) != 0, url
        assert lab.refused() > before, f"aria2 asked the guard for {url}"
    assert lab.canary.accepted == 0


def test_ffmpeg_fails_on_every_hostile_target(lab: Lab) -> None:
    for url in [*hostile_urls(lab.canary.port), f"https://127.0.0.1:{lab.canary.port}/v.mp4"]:
        before = lab.refused()
        assert ffmpeg_read(lab.proxy(closed=True), "mp4", url) != 0, url
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
        assert ytdlp(url, lab.proxy(), tmp_path) is None, url
        assert aria2(url, lab.proxy(), tmp_path) != 0, url
        assert ffmpeg_read(lab.proxy(), "mp4", url) != 0, url
        assert lab.refused() - before >= 4, f"each tool followed {url} and was refused"
    assert lab.origin.paths[seen:].count("/redirect") == 4 * len(redirects_to_canary(lab)), "redirects served"
    assert lab.canary.accepted == 0


def test_aria2_and_ffmpeg_refuse_a_redirect_to_another_protocol(lab: Lab, tmp_path: Path) -> None:
    port = lab.canary.port
    stats = lab.guard.proxy.stats
    for scheme in ("ftp", "sftp"):  # aria2 asks the guard: GET ftp://... (400), CONNECT for sftp (403)
        url = lab.origin.url(f"/redirect?to={scheme}://127.0.0.1:{port}/x")
        answered = stats.refused + stats.rejected
        assert aria2(url, lab.proxy(), tmp_path) != 0, url
        assert stats.refused + stats.rejected > answered, url
    for scheme in ("ftp", "sftp", "tcp"):  # ffmpeg's http follows http(s) redirects only
        url = lab.origin.url(f"/redirect?to={scheme}://127.0.0.1:{port}/x")
        assert ffmpeg_read(lab.proxy(), "mp4", url) != 0, url
    assert lab.canary.accepted == 0


def test_hls_segments_on_loopback_fail_the_download(lab: Lab, tmp_path: Path) -> None:
    url = lab.origin.url(f"/bad/segments/{lab.canary.port}.m3u8")
    before = lab.refused()
    assert ytdlp(url, lab.proxy(), tmp_path) is None
    assert lab.refused() > before
    before = lab.refused()
    assert ffmpeg_read(lab.proxy(), "hls", url) != 0
    assert lab.refused() > before
    assert lab.canary.accepted == 0


def test_an_hls_key_on_loopback_fails_the_download(lab: Lab, tmp_path: Path) -> None:
    # Without pycryptodomex, yt-dlp hands this stream to its own ffmpeg: the refusal must hold there too.
    url = lab.origin.url(f"/bad/key/{lab.canary.port}.m3u8")
    before = lab.refused()
    assert ytdlp(url, lab.proxy(), tmp_path) is None
    assert lab.refused() > before
    before = lab.refused()
    assert ffmpeg_read(lab.proxy(), "hls", url) != 0
    assert lab.refused() > before
    assert lab.canary.accepted == 0


def test_a_name_that_rebinds_to_loopback_is_judged_again_on_each_connection(lab: Lab) -> None:
    answers = iter([ORIGIN_HOST, "127.0.0.1"])

    async def rebinding(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
        return [(socket.AF_INET, (next(answers), port))]

    with EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"]), resolver=rebinding).run_in_thread() as handle:
        first = raw_exchange(
            handle, f"GET http://rebind.test:{lab.origin.port}/files/small.bin HTTP/1.1\r\n\r\n"
        )
        second = raw_exchange(handle, f"GET http://rebind.test:{lab.canary.port}/ HTTP/1.1\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(SMALL)
    assert second.startswith(b"HTTP/1.1 403 ")
    assert lab.canary.accepted == 0


def test_a_refused_answer_among_allowed_ones_is_never_connected_to(lab: Lab) -> None:
    async def mixed(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
        return [(socket.AF_INET, ("127.0.0.1", port)), (socket.AF_INET, (ORIGIN_HOST, port))]

    with EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"]), resolver=mixed).run_in_thread() as handle:
        answer = raw_exchange(
            handle, f"GET http://mixed.test:{lab.origin.port}/files/small.bin HTTP/1.1\r\n\r\n"
        )
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(SMALL)


# --- the ways around a proxy, closed ----------------------------------------------------------------------


def test_no_proxy_variables_are_stripped_and_ffmpeg_still_goes_through_the_guard(
    lab: Lab, control: Canary
) -> None:
    hostile = {**os.environ, "no_proxy": "*", "NO_PROXY": "127.0.0.1", "HTTP_PROXY": "", "ALL_PROXY": ""}
    env = tool_environment(hostile, lab.proxy())
    assert not {"no_proxy", "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"} & env.keys()
    assert env["http_proxy"] == env["https_proxy"] == lab.proxy()
    args = [
        *ffmpeg_input_args(lab.proxy(), "mp4"),
        "-i",
        f"http://127.0.0.1:{lab.canary.port}/",
        "-f",
        "null",
        "-",
    ]
    before = lab.refused()
    assert ffmpeg(args, env=env) != 0
    assert lab.refused() == before + 1, "ffmpeg asked the guard"
    # Control: with no_proxy left in, ffmpeg goes straight to the target despite -http_proxy.
    leaky = [
        *ffmpeg_input_args(lab.proxy(), "mp4"),
        "-i",
        f"http://127.0.0.1:{control.port}/",
        "-f",
        "null",
        "-",
    ]
    ffmpeg(leaky, env={**env, "no_proxy": "127.0.0.1"})
    assert control.wait_for_any(2) > 0
    assert lab.canary.accepted == 0


def test_ytdlp_ignores_no_proxy_in_its_environment(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    before = lab.refused()
    assert ytdlp(f"http://127.0.0.1:{lab.canary.port}/v.mp4", lab.proxy(), tmp_path) is None
    assert lab.refused() > before
    assert lab.canary.accepted == 0


def test_aria2_with_no_proxy_in_its_environment_is_stripped(
    lab: Lab, tmp_path: Path, control: Canary
) -> None:
    hostile = {**os.environ, "no_proxy": "*", "NO_PROXY": "*"}
    before = lab.refused()
    assert (
        aria2(
            f"http://127.0.0.1:{lab.canary.port}/x",
            lab.proxy(),
            tmp_path,
            env=tool_environment(hostile, lab.proxy()),
        )
        != 0
    )
    assert lab.refused() == before + 1
    # Control: aria2 honours no_proxy from its environment even with --all-proxy.
    aria2(
        f"http://127.0.0.1:{control.port}/x",
        lab.proxy(),
        tmp_path,
        env={**os.environ, "no_proxy": "127.0.0.1"},
    )
    assert control.wait_for_any(2) > 0
    assert lab.canary.accepted == 0


def test_aria2_per_download_proxy_overrides_are_stripped(lab: Lab, tmp_path: Path, control: Canary) -> None:
    overrides = {"all-proxy": "", "no-proxy": "127.0.0.1", "http-proxy": "", "follow-torrent": "true",
                 "check-certificate": "false", "split": "2"}  # fmt: skip
    assert sanitize_aria2_download_options(overrides) == {"split": "2"}
    rpc = Aria2Rpc(lab.proxy(), tmp_path)
    try:
        sanitized = sanitize_aria2_download_options(overrides)
        assert rpc.download(f"http://127.0.0.1:{lab.canary.port}/x", sanitized) == "error"
        assert (
            rpc.download(f"http://127.0.0.1:{lab.canary.port}/x", {"all-proxy": "", **sanitized}) == "error"
        )
        # Control: the same override, unsanitized, goes around the proxy.
        rpc.download(f"http://127.0.0.1:{control.port}/x", {"no-proxy": "127.0.0.1"})
        assert control.wait_for_any(2) > 0
    finally:
        rpc.close()
    assert lab.canary.accepted == 0


def test_aria2_does_not_follow_a_torrent_to_its_peers(lab: Lab, tmp_path: Path, control: Canary) -> None:
    url = lab.origin.url(f"/evil/{lab.canary.port}.torrent")
    assert aria2(url, lab.proxy(), tmp_path) == 0, "the .torrent is saved as a plain file"
    assert (tmp_path / f"{lab.canary.port}.torrent").read_bytes().startswith(b"d8:announce")
    assert lab.canary.accepted == 0
    # Control: following the torrent, aria2 reaches the peer the tracker named, around the proxy.
    leaky = [ARIA2C, "-q", f"--all-proxy={lab.proxy()}", "--follow-torrent=true", "--seed-time=0",
             "--bt-stop-timeout=5", "-d", str(tmp_path / "bt"), lab.origin.url(f"/evil/{control.port}.torrent")]  # fmt: skip
    process = subprocess.Popen(leaky, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert control.wait_for_any(8) > 0
    finally:
        process.kill()
        process.wait(timeout=10)


def test_aria2_does_not_follow_a_metalink(lab: Lab, tmp_path: Path) -> None:
    url = lab.origin.url(f"/evil/{lab.canary.port}.meta4")
    assert aria2(url, lab.proxy(), tmp_path) == 0
    assert b"<metalink" in (tmp_path / f"{lab.canary.port}.meta4").read_bytes()
    assert lab.canary.accepted == 0


def test_ffmpeg_concat_lists_and_raw_tcp_inputs_are_refused(lab: Lab, control: Canary) -> None:
    concat = lab.origin.url(f"/evil/{lab.canary.port}.ffconcat")
    with pytest.raises(EgressBypass):
        ffmpeg_input_args(lab.proxy(), "concat")
    with pytest.raises(EgressBypass):
        assert_no_concat([*ffmpeg_input_args(lab.proxy(), "mp4"), "-f", "concat", "-safe", "0", "-i", concat])
    with pytest.raises(EgressBypass):
        assert_http_inputs(
            [*ffmpeg_input_args(lab.proxy(), "mpegts"), "-i", f"tcp://127.0.0.1:{lab.canary.port}"]
        )
    # Controls: the whitelist must allow tcp for http to work, so it stops neither of these.
    whitelist = ["-protocol_whitelist", "http,https,tcp,tls,crypto,httpproxy", "-http_proxy", lab.proxy()]
    env = tool_environment(os.environ, lab.proxy())
    ffmpeg([*whitelist, "-f", "concat", "-safe", "0", "-i", lab.origin.url(f"/evil/{control.port}.ffconcat"),
            "-f", "null", "-"], env=env)  # fmt: skip
    assert control.wait_for_any(2) == 1
    ffmpeg([*whitelist, "-f", "mpegts", "-i", f"tcp://127.0.0.1:{control.port}", "-f", "null", "-"], env=env)
    assert control.wait_for_any(2) == 2
    assert lab.canary.accepted == 0


# --- what must keep working --------------------------------------------------------------------------------


def test_every_tool_downloads_from_an_allowed_origin_through_the_guard(lab: Lab, tmp_path: Path) -> None:
    allowed = lab.guard.proxy.stats.allowed
    video = ytdlp(lab.origin.url("/files/video.mp4"), lab.proxy(), tmp_path)
    assert video is not None and video.read_bytes() == (lab.tmp / "video.mp4").read_bytes()
    assert aria2(lab.origin.url("/files/small.bin"), lab.proxy(), tmp_path) == 0
    assert (tmp_path / "small.bin").read_bytes() == SMALL
    assert (
        aria2(lab.origin.url("/files/small.bin"), lab.proxy(), tmp_path / "t", "--proxy-method=tunnel") == 0
    )
    assert (tmp_path / "t" / "small.bin").read_bytes() == SMALL
    assert ffmpeg_read(lab.proxy(), "mp4", lab.origin.url("/files/video.mp4"), str(tmp_path / "ff.mp4")) == 0
    assert ffmpeg_read(lab.proxy(), "hls", lab.origin.url("/hls/good.m3u8"), str(tmp_path / "hls.ts")) == 0
    assert (tmp_path / "ff.mp4").stat().st_size > 10_000 and (tmp_path / "hls.ts").stat().st_size > 10_000
    hls = ytdlp(lab.origin.url("/hls/good.m3u8"), lab.proxy(), tmp_path / "y")
    assert hls is not None and hls.stat().st_size > 10_000
    assert lab.guard.proxy.stats.allowed - allowed >= 8
    assert lab.canary.accepted == 0


def test_a_connect_tunnel_carries_http_to_the_origin(lab: Lab) -> None:
    inner = f"GET /files/small.bin HTTP/1.1\r\nHost: {ORIGIN_HOST}\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(
        lab.guard, f"CONNECT {ORIGIN_HOST}:{lab.origin.port} HTTP/1.1\r\n\r\n", inner.encode()
    )
    established, _, rest = answer.partition(b"\r\n\r\n")
    assert established.startswith(b"HTTP/1.1 200 ")
    assert rest.startswith(b"HTTP/1.1 200 ") and rest.endswith(SMALL)


@pytest.mark.parametrize("mode", list(RelayMode))
def test_large_bodies_arrive_intact_both_ways_in_every_relay_mode(lab: Lab, mode: RelayMode) -> None:
    with EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"]), relay_mode=mode).run_in_thread() as handle:
        answer = raw_exchange(handle, f"GET {lab.origin.url('/files/large.bin')} HTTP/1.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.partition(b"\r\n\r\n")[2] == LARGE
        inner = f"GET /files/large.bin HTTP/1.1\r\nHost: {ORIGIN_HOST}\r\nConnection: close\r\n\r\n"
        tunnel = f"CONNECT {ORIGIN_HOST}:{lab.origin.port} HTTP/1.1\r\n\r\n"
        answer = raw_exchange(handle, tunnel, inner.encode())
        assert answer.split(b"\r\n\r\n", 2)[2] == LARGE
        digest = hashlib.sha256(LARGE).hexdigest().encode()
        upload = f"POST {lab.origin.url('/echo')} HTTP/1.1\r\nContent-Length: {len(LARGE)}\r\n\r\n"
        assert raw_exchange(handle, upload, LARGE).endswith(digest)
        client = http.client.HTTPConnection("127.0.0.1", handle.proxy.port, timeout=10)
        chunks = (LARGE[i : i + 100_000] for i in range(0, len(LARGE), 100_000))
        auth = {"Proxy-Authorization": basic(handle.url_for("job-1"))}
        client.request("POST", lab.origin.url("/echo"), body=chunks, headers=auth, encode_chunked=True)
        response = client.getresponse()
        assert (response.status, response.read()) == (200, digest), "a chunked upload"
        client.close()


def test_a_second_request_on_a_kept_alive_connection_cannot_change_host(lab: Lab) -> None:
    first = f"GET {lab.origin.url('/files/small.bin')} HTTP/1.1\r\nHost: {ORIGIN_HOST}\r\n\r\n"
    second = f"GET http://127.0.0.1:{lab.canary.port}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answer = raw_exchange(lab.guard, first, second.encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"\r\nConnection: close" in head
    assert body == SMALL, "one response, then the connection closes"
    assert lab.canary.accepted == 0


def test_requests_without_the_job_token_get_407(lab: Lab) -> None:
    for auth in ("", "Proxy-Authorization: Basic " + base64.b64encode(b"job-1:wrong").decode() + "\r\n"):
        with socket.create_connection(("127.0.0.1", lab.guard.proxy.port), timeout=10) as sock:
            sock.sendall(f"GET {lab.origin.url('/files/small.bin')} HTTP/1.1\r\n{auth}\r\n".encode())
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 407 ") and b"Proxy-Authenticate: Basic" in answer


def test_malformed_requests_get_400(lab: Lab) -> None:
    for request in ("GET /relative HTTP/1.1\r\n\r\n", "GET ftp://example.com/ HTTP/1.1\r\n\r\n",
                    "CONNECT 127.0.0.2 HTTP/1.1\r\n\r\n", "BREW http://[::1 HTTP/1.1\r\n\r\n"):  # fmt: skip
        assert raw_exchange(lab.guard, request).startswith(b"HTTP/1.1 400 "), request


def open_tunnel(handle: EgressProxyThread, job_id: str, port: int) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", handle.proxy.port), timeout=10)
    auth = base64.b64encode(f"{job_id}:{handle.proxy.token}".encode()).decode()
    sock.sendall(
        f"CONNECT {ORIGIN_HOST}:{port} HTTP/1.1\r\nProxy-Authorization: Basic {auth}\r\n\r\n".encode()
    )
    return sock, sock.recv(65536)


def test_a_job_holds_at_most_its_cap_of_connections(lab: Lab) -> None:
    proxy = EgressProxy(
        EgressPolicy([f"{ORIGIN_HOST}/32"]), max_connections_per_job=2, timeouts=EgressTimeouts(cap_wait=0.5)
    )
    with proxy.run_in_thread() as handle:
        held = [open_tunnel(handle, "job-a", lab.origin.port) for _ in range(2)]
        assert all(answer.startswith(b"HTTP/1.1 200 ") for _, answer in held)
        extra, answer = open_tunnel(handle, "job-a", lab.origin.port)
        extra.close()
        assert answer.startswith(b"HTTP/1.1 429 ")
        other, answer = open_tunnel(handle, "job-b", lab.origin.port)
        other.close()
        assert answer.startswith(b"HTTP/1.1 200 "), "another job has its own cap"
        # A request that finds the cap full waits for a slot (up to cap_wait), then gets it.
        threading.Timer(0.2, held[0][0].close).start()
        waited, answer = open_tunnel(handle, "job-a", lab.origin.port)
        assert answer.startswith(b"HTTP/1.1 200 ")
        for sock in (waited, held[1][0]):
            sock.close()


def relay_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "egress-relay"]


def test_stop_ends_open_tunnels_and_leaves_no_threads(lab: Lab) -> None:
    handle = EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"])).run_in_thread()
    idle, answer = open_tunnel(handle, "job-1", lab.origin.port)
    assert answer.startswith(b"HTTP/1.1 200 ")
    busy, answer = open_tunnel(handle, "job-1", lab.origin.port)
    assert answer.startswith(b"HTTP/1.1 200 ")
    # A download the client stops reading: past the first bytes, a splice thread relays it.
    busy.sendall(f"GET /files/large.bin HTTP/1.1\r\nHost: {ORIGIN_HOST}\r\n\r\n".encode())
    received = 0
    while received < 1024 * 1024:
        received += len(busy.recv(65536))
    assert relay_threads(), "the splice relay is running"
    started = time.monotonic()
    handle.stop()
    assert idle.recv(1) == b"", "the idle tunnel was closed"
    with contextlib.suppress(ConnectionResetError):
        while busy.recv(1024 * 1024):  # what was in flight, then the end
            pass
    for sock in (idle, busy):
        sock.close()
    assert time.monotonic() - started < 5
    assert not handle.running, "the proxy's own thread ended"
    for _ in range(100):  # up to 2 s for relay threads to notice
        if not relay_threads():
            break
        time.sleep(0.02)
    assert not relay_threads()
