"""Benchmark of the gateway's memory while it streams a collection's ZIP.

`make bench-collections` runs it after jobstore's figures (or `python -m
tests.bench.bench_collection_zip --help`). jobstore and the gateway run as processes of their own
on a private PostgreSQL; a collection of N children (8 by default) each completes with a file of
64 MiB in DATA_DIR; a client then reads `GET /files/{parentId}/download` as fast as it can while
the gateway's VmRSS is sampled every 20 ms. Printed: the gateway's RSS before, its peak while
streaming (and VmHWM, the kernel's own peak), the bytes received and the rate. Nothing is
asserted; the issue's target is a flat memory whatever the size (the integration test
tests/integration/test_collection_zip.py bounds it for 3 x 64 MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

import grpc
import requests

from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.processes import GatewayProcess, JobstoreProcess
from tests.support.collection_files import Entry, finished_collection
from tests.support.databases import migrate
from tests.support.servers import PostgresServer

MiB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


class RssSampler(threading.Thread):
    """The highest VmRSS seen while it runs."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.peak = max(self.peak, status_kib(self.pid, "VmRSS"))


async def make_collection(address: str, data_dir: Path, count: int, size: int) -> str:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.JobStoreServiceStub(channel)
        entries = [Entry(f"part {i}.mp4", size=size) for i in range(1, count + 1)]
        parent, _ = await finished_collection(stub, data_dir, "Bench", entries)
    return parent.id


def measure(folder: Path, database_url: str, count: int, size: int) -> None:
    data_dir = folder / "data"
    dirs = {"HAUL_DATA_DIR": str(data_dir), "HAUL_TMP_DIR": str(folder / "tmp")}
    jobstore = JobstoreProcess(database_url, folder / "jobstore.log")
    with jobstore, GatewayProcess(jobstore.address, folder / "gateway.log", **dirs) as gateway:
        parent_id = asyncio.run(make_collection(jobstore.address, data_dir, count, size))
        assert gateway.proc is not None
        pid = gateway.proc.pid
        before = status_kib(pid, "VmRSS")
        sampler = RssSampler(pid)
        sampler.start()
        received, started = 0, time.perf_counter()
        with requests.get(f"{gateway.base_url}/files/{parent_id}/download", stream=True, timeout=60) as reply:
            reply.raise_for_status()
            for chunk in reply.iter_content(MiB):
                received += len(chunk)
        elapsed = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
        hwm = status_kib(pid, "VmHWM")
    print(f"\ngateway streaming a ZIP of {count} x {size // MiB} MiB ({received / MiB:.0f} MiB received)")
    print(f"{'RSS before':30} {before / 1024:8.1f} MiB")
    print(f"{'RSS peak while streaming':30} {sampler.peak / 1024:8.1f} MiB")
    print(f"{'VmHWM after':30} {hwm / 1024:8.1f} MiB")
    print(f"{'growth (peak - before)':30} {(max(sampler.peak, hwm) - before) / 1024:8.1f} MiB")
    print(f"{'rate':30} {received / MiB / elapsed:8.1f} MiB/s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=8, help="children, each with one file")
    parser.add_argument("--size-mib", type=int, default=64, help="each file's size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name, PostgresServer(Path(name)) as server:
        server.create_database("bench")
        migrate(server.url("bench"))
        measure(Path(name), server.url("bench"), args.files, args.size_mib * MiB)


if __name__ == "__main__":
    main()
