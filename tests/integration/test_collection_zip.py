"""`GET /files/{parentId}/download` on a collection: one ZIP of the completed children's files,
in entry order, safely named, from a real gateway over a real jobstore on PostgreSQL; and the
gateway process's memory while it streams 3 x 64 MiB to a client that reads slowly for a while."""

from __future__ import annotations

import asyncio
import hashlib
import io
import socket
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import grpc
import pytest
import requests

from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.processes import GatewayProcess, JobstoreProcess
from tests.support.collection_files import Entry, finished_collection
from tests.support.inprocess import Stack

MiB = 1024 * 1024
TOKEN = "zip-test-api-token-0123456789"


@pytest.fixture
async def grpc_stub(stack: Stack) -> AsyncIterator[pb_grpc.JobStoreServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.jobstore.port}") as channel:
        yield pb_grpc.JobStoreServiceStub(channel)


def digests(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    found = []
    for info in archive.infolist():
        digest = hashlib.sha256()
        with archive.open(info) as member:
            while chunk := member.read(MiB):
                digest.update(chunk)
        found.append((info.filename, digest.hexdigest()))
    return found


async def test_the_zip_holds_each_completed_entry_in_order_with_safe_unique_names(
    stack: Stack, grpc_stub: pb_grpc.JobStoreServiceStub
) -> None:
    entries = [
        Entry(".hidden-dotfile.mp3"),
        Entry("failed.mp3", outcome="failed"),
        Entry("CON.mp3"),
        Entry("gone.mp3", on_disk=False),  # completed, but its file is not there any more
        Entry("../escape.mp3"),  # a name that would lie outside the child's folder
        Entry("back\\slash -- \u202eevil\u202c.mp3"),
        Entry("same.mp3", size=0),
        Entry("Same.MP3", size=3 * 1000 * 1000),
    ]
    title = "../../etc/passwd \u202e Podcast: the *best*"
    parent, finished = await finished_collection(grpc_stub, stack.data_dir, title, entries)
    assert parent.collection.completed == 7 and parent.collection.failed == 1

    async with aiohttp.ClientSession() as http:
        response = await http.get(f"{stack.base_url}/files/{parent.id}/download")
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"] == "application/zip"
        disposition = response.headers["Content-Disposition"]
        body = await response.read()
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.endswith(".zip") and "/" not in fallback and ".." not in fallback, disposition
    assert "%2F" not in disposition and "%E2%80%AE" not in disposition, disposition

    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        members = digests(archive)
    names = [name for name, _ in members]
    assert names == [
        "0001 - hidden-dotfile.mp3",
        "0003 - _CON.mp3",
        "0006 - back_slash -- evil.mp3",
        "0007 - same.mp3",
        "0008 - Same.mp3",
    ]
    for name in names:
        assert "/" not in name and "\\" not in name and ".." not in name and not name.startswith(".")
    expected = [
        f.sha256 for f in finished if f.entry.filename not in ("failed.mp3", "gone.mp3", "../escape.mp3")
    ]
    assert [sha for _, sha in members] == expected


async def test_no_zip_before_an_entry_has_a_file(
    stack: Stack, grpc_stub: pb_grpc.JobStoreServiceStub
) -> None:
    entries = [Entry("a.mp3", outcome="failed"), Entry("b.mp3", on_disk=False)]
    parent, _ = await finished_collection(grpc_stub, stack.data_dir, "Nothing yet", entries)
    async with aiohttp.ClientSession() as http:
        response = await http.get(f"{stack.base_url}/files/{parent.id}/download")
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "no_files"
        head = await http.head(f"{stack.base_url}/files/{parent.id}/download")
        assert head.status == 404


# -- memory while streaming -------------------------------------------------------------------


@pytest.fixture
def services(pg_url: str, tmp_path: Path) -> Iterator[tuple[JobstoreProcess, GatewayProcess, Path]]:
    """jobstore and the gateway as processes of their own, so the gateway's memory is its own."""
    data_dir, tmp_dir = str(tmp_path / "data"), str(tmp_path / "tmp")
    with (
        JobstoreProcess(
            pg_url, tmp_path / "jobstore.log", HAUL_DATA_DIR=data_dir, HAUL_TMP_DIR=tmp_dir
        ) as jobstore,
        GatewayProcess(
            jobstore.address,
            tmp_path / "gateway.log",
            HAUL_DATA_DIR=data_dir,
            HAUL_TMP_DIR=tmp_dir,
            HAUL_API_TOKEN=TOKEN,
        ) as gateway,
    ):
        yield jobstore, gateway, Path(data_dir)


def memory_kib(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM")}


async def big_collection(address: str, data_dir: Path) -> tuple[str, list[str]]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.JobStoreServiceStub(channel)
        entries = [Entry(f"part {i}.mp4", size=64 * MiB) for i in range(1, 4)]
        parent, finished = await finished_collection(stub, data_dir, "Big one", entries)
    return parent.id, [f.sha256 for f in finished]


@pytest.mark.slow
def test_gateway_memory_stays_bounded_while_a_slow_client_takes_3_x_64_mib(
    services: tuple[JobstoreProcess, GatewayProcess, Path],
) -> None:
    jobstore, gateway, data_dir = services
    parent_id, sha256s = asyncio.run(big_collection(jobstore.address, data_dir))
    url = f"{gateway.base_url}/files/{parent_id}/download"
    assert requests.get(url, timeout=10).status_code == 401, "the API token guards the ZIP too"

    assert gateway.proc is not None
    pid = gateway.proc.pid
    before = memory_kib(pid)["VmRSS"]
    archive_path = data_dir.parent / "received.zip"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with requests.get(url, headers=headers, stream=True, timeout=30) as response:
        assert response.status_code == 200
        # A small receive buffer, and a reader that takes 64 KiB every 20 ms for its first
        # 16 MiB: a gateway that did not wait for the socket would pile the rest up in memory.
        sock = response.raw.connection.sock
        assert sock is not None
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        received = 0
        with archive_path.open("wb") as out:
            for chunk in response.iter_content(64 * 1024):
                out.write(chunk)
                received += len(chunk)
                if received < 16 * MiB:
                    time.sleep(0.02)
    peak = memory_kib(pid)["VmHWM"]
    growth_mib = (peak - before) / 1024
    assert growth_mib < 64, f"the gateway grew by {growth_mib:.0f} MiB while streaming"
    assert received > 3 * 64 * MiB

    with zipfile.ZipFile(archive_path) as archive:
        members = digests(archive)
    assert members == [(f"000{i} - part {i}.mp4", sha) for i, sha in enumerate(sha256s, start=1)]

    # A client that goes away in the middle: the gateway lets it go and serves the next one.
    with requests.get(url, headers=headers, stream=True, timeout=30) as response:
        assert len(next(response.iter_content(MiB))) > 0
    deadline = time.monotonic() + 15
    while "the client went away" not in gateway.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "the client went away" in gateway.log()
    assert "collection zip broke off" not in gateway.log()
    again = requests.head(url, headers=headers, timeout=10)
    assert again.status_code == 200 and again.headers["Content-Type"] == "application/zip"
