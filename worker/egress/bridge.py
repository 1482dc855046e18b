"""Inside an isolated network namespace: a loopback port whose connections go to a Unix socket.

The tools of a job run where nothing outside their own `lo` can be reached (netns.py). They are
pointed at this bridge as their proxy; the bridge carries each connection, byte for byte, to the
job's egress proxy listening on a Unix socket outside. It reads nothing and decides nothing.
The tools' settings point at it with `ToolEgress.relayed_through(bridge.port)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import structlog

from worker.egress.relay import Relay, RelayMode
from worker.egress.socket_io import accept_forever
from worker.egress.thread import LoopThread

log = structlog.get_logger(__name__)
# How long one direction may go on after the other ended; the proxy behind applies its own.
GRACE_SECONDS = 60.0


class UnixBridge:
    def __init__(self, unix_path: str, relay_mode: RelayMode | None = None) -> None:
        self.unix_path = unix_path
        self.relay_mode = relay_mode or RelayMode.default()
        self.port = 0
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._serving: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener.setblocking(False)
        self._listener, self.port = listener, listener.getsockname()[1]
        self._accepting = asyncio.create_task(
            accept_forever(listener, self._serve, self._serving), name="bridge-accept"
        )

    async def stop(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            await asyncio.wait({self._accepting})
        if self._listener is not None:
            self._listener.close()
        for task in list(self._serving):
            task.cancel()
        if self._serving:
            await asyncio.wait(list(self._serving), timeout=5)

    def run_in_thread(self) -> LoopThread[UnixBridge]:
        return LoopThread(self, "egress-bridge")

    async def _serve(self, client: socket.socket) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(upstream, self.unix_path)
        except OSError as exc:
            log.warning("bridge_cannot_reach_guard", error=str(exc))
            client.close()
            upstream.close()
            return
        relay = Relay(self.relay_mode, client, upstream)
        try:
            relay.start("up")
            relay.start("down")
            with contextlib.suppress(OSError):
                await relay.wait(GRACE_SECONDS)
        finally:
            await relay.close()
