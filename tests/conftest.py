"""Shared fixtures: private PostgreSQL and Redis servers, migrated databases, an in-process jobstore.

Every test that needs a database gets a fresh one: on PostgreSQL a copy of a migrated
template database, on SQLite a copy of a migrated template file. Tests parametrized over
`database_url` run once on each.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import grpc
import pytest
from aiohttp import web
from alembic import command
from alembic.config import Config

from gateway.app import GATEWAY, Gateway, create_app
from gateway.settings import GatewaySettings
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from jobstore.server import Jobstore, build
from jobstore.settings import JobstoreSettings
from tests.support.servers import PostgresServer, RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DB = "haul_template"


def migrate(url: str, revision: str = "head") -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, revision)


def downgrade(url: str, revision: str = "base") -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.downgrade(config, revision)


def clone_pg_database(server: PostgresServer, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"

    async def create() -> None:
        conn = await asyncpg.connect(server.dsn("postgres"))
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return name


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with PostgresServer(tmp_path_factory.mktemp("pg")) as server:
        server.create_database(TEMPLATE_DB)
        migrate(server.url(TEMPLATE_DB))
        yield server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A fresh, migrated PostgreSQL database."""
    return pg_server.url(clone_pg_database(pg_server, TEMPLATE_DB))


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database."""
    path = tmp_path / "haul.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database: the test runs once on PostgreSQL and once on SQLite."""
    return str(request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url"))


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


@pytest.fixture
async def jobstore(database_url: str) -> AsyncIterator[Jobstore]:
    app = await start_jobstore(jobstore_settings(database_url))
    yield app
    await app.stop()


@pytest.fixture
async def stub(jobstore: Jobstore) -> AsyncIterator[pb_grpc.JobStoreServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{jobstore.port}") as channel:
        yield pb_grpc.JobStoreServiceStub(channel)


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


@pytest.fixture
async def stack(pg_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    jobstore = await start_jobstore(jobstore_settings(pg_url))
    settings = gateway_settings(jobstore.port, tmp_path / "data")
    runner, app = await start_gateway(settings)
    yield Stack(jobstore, app[GATEWAY], app, f"http://127.0.0.1:{settings.port}", settings)
    await runner.cleanup()
    await jobstore.stop()
