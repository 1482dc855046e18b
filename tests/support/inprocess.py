"""jobstore and the gateway in the test's own process, on real ports: settings and start-up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from gateway.app import GATEWAY, Gateway, create_app
from gateway.settings import GatewaySettings
from jobstore.server import Jobstore, build
from jobstore.settings import JobstoreSettings
from tests.support.servers import free_port


def jobstore_settings(database_url: str, **overrides: object) -> JobstoreSettings:
    values: dict[str, object] = {
        "database_url": database_url,
        "jobstore_listen": "127.0.0.1:0",
        # Off unless a test asks: "127.0.0.1:0" serves them on a free port (Jobstore.metrics_port).
        "jobstore_metrics_listen": "",
        "redis_url": None,
        "service_token": None,
        "shutdown_grace": 1.0,
        "log_format": "json",
        # Tests that exercise the reaper set their own interval; others keep it out of the way.
        "reap_interval": 3600.0,
    }
    values.update(overrides)
    return JobstoreSettings(**values)  # type: ignore[arg-type]


async def start_jobstore(settings: JobstoreSettings) -> Jobstore:
    app = build(settings)
    await app.start()
    for _ in range(200):  # the PostgreSQL change feed connects in the background
        if app.hub.ready:
            break
        await asyncio.sleep(0.05)
    assert app.hub.ready, "the change feed never connected"
    return app


@dataclass
class Stack:
    """An in-process jobstore (on a private PostgreSQL) and gateway, on real ports."""

    jobstore: Jobstore
    gateway: Gateway
    app: web.Application
    base_url: str
    settings: GatewaySettings

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir


@contextlib.asynccontextmanager
async def running_stack(
    database_url: str, data_dir: Path, **jobstore_overrides: object
) -> AsyncIterator[Stack]:
    """A jobstore (with `jobstore_overrides` to its test settings) and a gateway in front of it,
    stopped gateway first when the block ends."""
    jobstore = await start_jobstore(jobstore_settings(database_url, **jobstore_overrides))
    try:
        settings = gateway_settings(jobstore.port, data_dir)
        runner, app = await start_gateway(settings)
        try:
            yield Stack(jobstore, app[GATEWAY], app, f"http://127.0.0.1:{settings.port}", settings)
        finally:
            await runner.cleanup()
    finally:
        await jobstore.stop()


async def start_gateway(settings: GatewaySettings) -> tuple[web.AppRunner, web.Application]:
    app = create_app(settings)
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    gateway = app[GATEWAY]
    await asyncio.wait_for(gateway.fanout.connected.wait(), timeout=10)
    return runner, app


def gateway_settings(jobstore_port: int, data_dir: Path, **overrides: object) -> GatewaySettings:
    values: dict[str, object] = {
        "jobstore_address": f"127.0.0.1:{jobstore_port}",
        "host": "127.0.0.1",
        "port": free_port(),
        "data_dir": data_dir,
        "flush_interval": 0.25,
        "redis_url": None,
        "api_token": None,
        "log_format": "json",
    }
    values.update(overrides)
    return GatewaySettings(**values)  # type: ignore[arg-type]
