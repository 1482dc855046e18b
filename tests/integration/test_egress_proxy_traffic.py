"""What the egress guard lets through and how it holds up: names that rebind to loopback, downloads
from the allowed origin by every tool, tunnels, large bodies in every relay mode, authentication,
malformed requests, the per-job connection cap and a clean stop.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.egress_clients import aria2, basic, ffmpeg_read, raw_exchange, ytdlp
from tests.support.egress_lab import Lab
from tests.support.egress_targets import LARGE, ORIGIN_HOST, SMALL
from worker.egress.limits import EgressTimeouts
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy, EgressProxyThread
from worker.egress.relay import RelayMode

pytest_plugins = ["tests.support.egress_fixtures"]


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


# --- what must keep working --------------------------------------------------------------------------------


def test_every_tool_downloads_from_an_allowed_origin_through_the_guard(lab: Lab, tmp_path: Path) -> None:
    allowed = lab.guard.proxy.stats.allowed
    video = ytdlp(lab.origin.url("/files/video.mp4"), lab.egress(), tmp_path)
    assert video is not None and video.read_bytes() == (lab.tmp / "video.mp4").read_bytes()
    assert aria2(lab.origin.url("/files/small.bin"), lab.egress(), tmp_path) == 0
    assert (tmp_path / "small.bin").read_bytes() == SMALL
    assert (
        aria2(lab.origin.url("/files/small.bin"), lab.egress(), tmp_path / "t", "--proxy-method=tunnel") == 0
    )
    assert (tmp_path / "t" / "small.bin").read_bytes() == SMALL
    assert ffmpeg_read(lab.egress(), "mp4", lab.origin.url("/files/video.mp4"), str(tmp_path / "ff.mp4")) == 0
    assert ffmpeg_read(lab.egress(), "hls", lab.origin.url("/hls/good.m3u8"), str(tmp_path / "hls.ts")) == 0
    assert (tmp_path / "ff.mp4").stat().st_size > 10_000 and (tmp_path / "hls.ts").stat().st_size > 10_000
    hls = ytdlp(lab.origin.url("/hls/good.m3u8"), lab.egress(), tmp_path / "y")
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
        auth = {"Proxy-Authorization": basic(handle.proxy.url_for("job-1"))}
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
    before = set(threading.enumerate())
    handle = EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"])).run_in_thread()
    own = [t for t in set(threading.enumerate()) - before if t.name == "egress-proxy"]
    assert len(own) == 1, "the proxy runs on a thread of its own"
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
    assert not own[0].is_alive(), "the proxy's own thread ended"
    for _ in range(100):  # up to 2 s for relay threads to notice
        if not relay_threads():
            break
        time.sleep(0.02)
    assert not relay_threads()
