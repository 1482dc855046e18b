"""A simulated browser in its own process: subscribes to the list feed and timestamps `progress`.

It runs apart from the load generator so that its receive times are not delayed behind the
workers' sends in one event loop. Times are `time.monotonic()`, which on Linux is one clock for
every process on the machine, so they compare directly with the workers' emit times.

Protocol over the pipe: the child sends ("ready", None) once subscribed (or ("error", text));
the parent sends "stop"; the child answers ("records", [(received_at, job_id, downloaded_bytes)]).
"""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection
from typing import Any

import socketio

MAX_RECORDS = 5_000_000
POLL_INTERVAL = 0.05
RUN_LIMIT = 900.0  # the browser gives up on its own after this many seconds


def run(base_url: str, conn: Connection) -> None:
    """The child process's entry point."""
    try:
        asyncio.run(_browse(base_url, conn))
    except Exception as exc:
        conn.send(("error", repr(exc)))
    finally:
        conn.close()


async def _browse(base_url: str, conn: Connection) -> None:
    records: list[tuple[float, str, int]] = []
    client = socketio.AsyncClient(reconnection=False)

    @client.on("progress", namespace="/jobs")
    async def on_progress(data: Any) -> None:
        received_at = time.monotonic()
        if len(records) < MAX_RECORDS and isinstance(data, dict):
            records.append((received_at, str(data.get("jobId")), int(data.get("downloadedBytes", -1))))

    await client.connect(base_url, namespaces=["/jobs"], transports=["websocket"], wait_timeout=15)
    try:
        reply = await client.call("subscribe", {"all": True}, namespace="/jobs", timeout=15)
        if not isinstance(reply, dict) or "error" in reply:
            raise RuntimeError(f"subscribe refused: {reply}")
        conn.send(("ready", None))
        deadline = time.monotonic() + RUN_LIMIT
        while time.monotonic() < deadline:
            if conn.poll() and conn.recv() == "stop":
                break
            await asyncio.sleep(POLL_INTERVAL)
    finally:
        await client.disconnect()
    conn.send(("records", records))
