"""Socket.IO rooms shared across gateway instances through Redis, with a start-up self-test.

python-socketio's Redis manager reports nothing when it cannot reach Redis or when the redis
package is missing: emits are simply lost. So before serving, the gateway proves the round
trip: a separate publisher sends a probe on the manager's channel, and the manager's own
listener must receive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import socketio

CHANNEL = "haul-socketio"
SELFTEST_NAMESPACE = "/_haul_selftest"


class RoomsUnavailable(RuntimeError):
    """The shared rooms do not work; the gateway must not start as if they did."""


class CheckedRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    def __init__(self, url: str) -> None:
        try:
            import redis.asyncio  # noqa: F401 - fail here, loudly, rather than in a background task
        except ImportError as exc:
            raise RoomsUnavailable("HAUL_REDIS_URL is set but the redis package is not installed") from exc
        super().__init__(url, channel=CHANNEL)
        self._url = url
        self._probes: dict[str, asyncio.Future[None]] = {}

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("namespace") == SELFTEST_NAMESPACE:
            probe = self._probes.get(str(message.get("room")))
            if probe is not None and not probe.done():
                probe.set_result(None)
            return
        await super()._handle_emit(message)

    async def self_test(self, server: socketio.AsyncServer, within: float = 10.0) -> None:
        """Start the listener if needed, then prove that a message published elsewhere arrives."""
        if not server.manager_initialized:
            server.manager_initialized = True
            self.initialize()
        nonce = uuid.uuid4().hex
        probe: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._probes[nonce] = probe
        publisher = socketio.AsyncRedisManager(self._url, channel=CHANNEL, write_only=True)
        try:
            async with asyncio.timeout(within):
                while not probe.done():  # the listener subscribes in the background; repeat until it hears
                    with contextlib.suppress(Exception):
                        await publisher.emit("probe", {}, namespace=SELFTEST_NAMESPACE, room=nonce)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(probe), 0.2)
        except TimeoutError:
            raise RoomsUnavailable(
                f"no Socket.IO round trip through Redis at {self._url} within {within:g} s"
            ) from None
        finally:
            self._probes.pop(nonce, None)
            with contextlib.suppress(Exception):
                await publisher.redis.aclose()
