"""Slow and half-open clients: the gateway closes connections that stall before their request is
in, and keeps serving the ones that are in (websockets, long responses). Real sockets, a real
server started with the options `python -m gateway` uses."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.slow_clients import server_options
from jobstore.server import Jobstore
from tests.integration.sio_clients import Recorder
from tests.support.inprocess import gateway_settings, jobstore_settings, start_jobstore

API_TOKEN = "an-api-token-for-slow-clients"
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
MARGIN = 2.5
HALF_OPEN = 300
LONG_RESPONSE_SECONDS = 3 * HEADER_TIMEOUT


async def long_response(request: web.Request) -> web.StreamResponse:
    """Stands for a file download that outlasts both deadlines."""
    response = web.StreamResponse()
    await response.prepare(request)
    deadline = time.monotonic() + LONG_RESPONSE_SECONDS
    while time.monotonic() < deadline:
        await response.write(b"x" * 1024)
        await asyncio.sleep(0.1)
    await response.write_eof()
    return response


@pytest.fixture
async def jobstore(sqlite_url: str) -> AsyncIterator[Jobstore]:
    app = await start_jobstore(jobstore_settings(sqlite_url))
    yield app
    await app.stop()


@pytest.fixture
async def gateway(jobstore: Jobstore, tmp_path: Path) -> AsyncIterator[GatewaySettings]:
    settings = gateway_settings(
        jobstore.port,
        tmp_path / "data",
        api_token=API_TOKEN,
        header_timeout=HEADER_TIMEOUT,
        body_timeout=BODY_TIMEOUT,
    )
    app = create_app(settings)
    app.router.add_get("/downloads-test/long", long_response)
    runner = web.AppRunner(app, shutdown_timeout=2, **server_options(settings))
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    yield settings
    await runner.cleanup()


def open_and_send(settings: GatewaySettings, data: bytes) -> socket.socket:
    conn = socket.create_connection((settings.host, settings.port), timeout=5)
    conn.sendall(data)
    return conn


async def closed_by_server(conns: list[socket.socket]) -> list[bool]:
    """For each connection: did the server close it (recv gives b"" or a reset)?"""

    def check(conn: socket.socket) -> bool:
        conn.settimeout(0.5)
        try:
            return conn.recv(65536) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        finally:
            conn.close()

    return await asyncio.to_thread(lambda: [check(conn) for conn in conns])


async def test_connections_that_never_finish_their_headers_are_closed(gateway: GatewaySettings) -> None:
    partial = f"GET /downloads HTTP/1.1\r\nHost: haul\r\nAuthorization: Bearer {API_TOKEN}\r\n".encode()
    conns = await asyncio.to_thread(lambda: [open_and_send(gateway, partial) for _ in range(HALF_OPEN)])
    await asyncio.sleep(HEADER_TIMEOUT + MARGIN)
    closed = await closed_by_server(conns)
    assert all(closed), f"{closed.count(False)} of {HALF_OPEN} half-open connections are still open"


async def test_a_client_trickling_its_headers_is_closed_at_the_deadline(gateway: GatewaySettings) -> None:
    conn = await asyncio.to_thread(open_and_send, gateway, b"GET /downloads HTTP/1.1\r\n")
    started = time.monotonic()
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        while time.monotonic() - started < HEADER_TIMEOUT + MARGIN:
            await asyncio.to_thread(conn.sendall, b"X-Slow: a\r\n")
            await asyncio.sleep(0.2)
        await asyncio.to_thread(conn.sendall, b"X-Slow: a\r\n")
    conn.close()


async def test_a_request_whose_body_never_arrives_is_closed(gateway: GatewaySettings) -> None:
    head = (
        "POST /downloads HTTP/1.1\r\nHost: haul\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {API_TOKEN}\r\nContent-Length: 200\r\n\r\n"
    )
    conns = await asyncio.to_thread(
        lambda: [open_and_send(gateway, head.encode() + b'{"url": ') for _ in range(20)]
    )
    await asyncio.sleep(BODY_TIMEOUT + MARGIN)
    closed = await closed_by_server(conns)
    assert all(closed), f"{closed.count(False)} of 20 stalled bodies are still open"


async def test_websockets_and_long_responses_outlive_the_deadlines(gateway: GatewaySettings) -> None:
    base_url = f"http://{gateway.host}:{gateway.port}"
    browser = Recorder("/jobs", ())
    await browser.connect(base_url, token=API_TOKEN)
    try:
        reader, writer = await asyncio.open_connection(gateway.host, gateway.port)
        writer.write(
            f"GET /downloads-test/long HTTP/1.1\r\nHost: haul\r\nConnection: close\r\nAuthorization: Bearer {API_TOKEN}\r\n\r\n".encode()
        )
        body = await asyncio.wait_for(reader.read(), timeout=LONG_RESPONSE_SECONDS + 5)
        writer.close()
        assert body.startswith(b"HTTP/1.1 200")
        assert body.count(b"x") >= 20 * 1024, "the long response ran to its end"
        assert browser.client.connected, "the websocket outlived the header and body deadlines"
        snapshot = await browser.call("subscribe", {"all": True})
        assert "error" not in snapshot, snapshot
    finally:
        await browser.client.disconnect()
