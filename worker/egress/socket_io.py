"""Reading heads and short bodies from raw non-blocking sockets on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from worker.egress.http import HEAD_END, MAX_HEAD_BYTES, bad_request

LINGER_SECONDS = 2.0
log = structlog.get_logger(__name__)


async def accept_forever(
    listener: socket.socket,
    serve: Callable[[socket.socket], Coroutine[Any, Any, None]],
    serving: set[asyncio.Task[None]],
) -> None:
    """Serve each connection `listener` accepts in a task of its own, kept in `serving`."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            client, _ = await loop.sock_accept(listener)
        except OSError as exc:  # out of descriptors, say: keep serving the others
            log.warning("accept_failed", error=str(exc))
            await asyncio.sleep(0.1)
            continue
        client.setblocking(False)
        task = asyncio.create_task(serve(client))
        serving.add(task)
        task.add_done_callback(serving.discard)


async def read_head(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, buffer: bytes
) -> tuple[bytes, bytes]:
    """(head, what came after it), reading until the blank line; ('', b'') at a clean EOF."""
    data = bytearray(buffer)
    while (end := data.find(HEAD_END)) < 0:
        if len(data) > MAX_HEAD_BYTES:
            raise bad_request("head too large")
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            if data:
                raise ConnectionError("connection closed inside a head")
            return b"", b""
        data += chunk
    return bytes(data[: end + len(HEAD_END)]), bytes(data[end + len(HEAD_END) :])


async def copy_exact(
    loop: asyncio.AbstractEventLoop, src: socket.socket, dst: socket.socket, count: int
) -> None:
    while count > 0:
        chunk = await loop.sock_recv(src, min(count, 256 * 1024))
        if not chunk:
            return
        await loop.sock_sendall(dst, chunk)
        count -= len(chunk)


async def linger(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    """Discard what the client still sends (a pipelined request) until it closes, briefly: closing
    with unread bytes would reset the connection and could cut off the response's tail."""
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(LINGER_SECONDS):
            for _ in range(64):
                if not await loop.sock_recv(sock, 65536):
                    return
