"""Shared fixtures: private PostgreSQL and Redis servers, migrated databases, an in-process jobstore.

Every test that needs a database gets a fresh one: on PostgreSQL a copy of a migrated
template database, on SQLite a copy of a migrated template file. Tests parametrized over
`database_url` run once on each. The helpers these fixtures use live in `tests/support/`
(`databases.py`, `inprocess.py`), where tests import them too.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest

from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from jobstore.server import Jobstore
from tests.support.databases import TEMPLATE_DB, clone_pg_database, migrate
from tests.support.inprocess import (
    Stack,
    jobstore_settings,
    running_stack,
    start_jobstore,
)
from tests.support.media_server import MediaFiles, MediaServer, make_media, serve_files
from tests.support.servers import PostgresServer, RedisServer


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
def media_files(tmp_path_factory: pytest.TempPathFactory) -> MediaFiles:
    """The test media (tests/support/media_server.py), made once per test process: ffmpeg's
    encodes and 224 MiB of deterministic bytes with their sha256 cost seconds, and no server
    writes to them (the thumbnail JPEG it makes on demand is written once, by rename)."""
    return make_media(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="module")
def media(media_files: MediaFiles) -> Iterator[MediaServer]:
    """The local media origin, one per test module, so a module that slows it down or counts its
    requests never changes another's; the files it serves are the session's."""
    yield from serve_files(media_files)


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


@pytest.fixture
async def jobstore(database_url: str) -> AsyncIterator[Jobstore]:
    app = await start_jobstore(jobstore_settings(database_url))
    yield app
    await app.stop()


@pytest.fixture
async def stub(jobstore: Jobstore) -> AsyncIterator[pb_grpc.JobStoreServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{jobstore.port}") as channel:
        yield pb_grpc.JobStoreServiceStub(channel)


@pytest.fixture
async def stack(pg_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(pg_url, tmp_path / "data") as running:
        yield running
