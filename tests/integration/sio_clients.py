"""Socket.IO clients that play a worker and a browser in tests, recording what they receive."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

WORKER_TOKEN = "dev-worker-token"


class Recorder:
    """A Socket.IO client that keeps every event it receives, and can wait for one."""

    def __init__(self, namespace: str, events: tuple[str, ...]) -> None:
        self.namespace = namespace
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._arrived = asyncio.Event()
        for name in events:
            self.client.on(name, self._recorder(name), namespace=namespace)

    def _recorder(self, name: str) -> Any:
        async def record(data: Any = None) -> None:
            self.received.append((name, data))
            self._arrived.set()

        return record

    async def connect(self, base_url: str, token: str | None = None) -> None:
        auth = {"token": token} if token is not None else None
        await self.client.connect(base_url, namespaces=[self.namespace], auth=auth, transports=["websocket"])

    async def call(self, event: str, data: Any) -> Any:
        return await self.client.call(event, data, namespace=self.namespace, timeout=10)

    async def emit(self, event: str, data: Any) -> None:
        await self.client.emit(event, data, namespace=self.namespace)

    async def wait_for(self, event: str, match: dict[str, Any], within: float = 10.0) -> dict[str, Any]:
        """The first received `event` whose payload contains every key/value of `match`."""
        async with asyncio.timeout(within):
            while True:
                for name, data in self.received:
                    if name == event and all(data.get(k) == v for k, v in match.items()):
                        return data
                self._arrived.clear()
                await self._arrived.wait()

    async def close(self) -> None:
        await self.client.disconnect()


def worker() -> Recorder:
    return Recorder("/worker", ("control",))


def browser() -> Recorder:
    return Recorder("/jobs", ("progress", "job-update", "completed", "failed", "resync"))


def progress(job_id: str, attempt: int, seq: int, value: float, **extra: Any) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "attempt": attempt,
        "seq": seq,
        "stage": "downloading",
        "progress": value,
        **extra,
    }
