"""Benchmark of jobstore's side of collections, over gRPC on a private PostgreSQL.

`make bench-collections` (or `python -m tests.bench.bench_collections --help`). Each round, a
job is claimed and a worker's ReportCollection of N entries (1,000 by default) is sent; then the
parent's children are read page by page, the collection is cancelled and deleted. Printed per
step: the median and worst time of the rounds, as the client sees it (one gRPC call each, so
jobstore's time plus a loopback round trip). Nothing is asserted; the figures depend on the
machine. The issue's targets: the report (children written in one batched insert) within 2 s,
a page of a 1,000-child parent within 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.support.databases import migrate
from tests.support.inprocess import jobstore_settings, start_jobstore
from tests.support.servers import PostgresServer

FEED = "https://media.example/feed.xml"
SHA = "ab" * 32


async def timed(samples: dict[str, list[float]], step: str, call: Callable[[], Awaitable[Any]]) -> Any:
    started = time.perf_counter()
    result = await call()
    samples.setdefault(step, []).append((time.perf_counter() - started) * 1000)
    return result


async def one_round(
    stub: pb_grpc.JobStoreServiceStub, entries: int, page: int, samples: dict[str, list[float]]
) -> None:
    created = await stub.CreateJob(pb.CreateJobRequest(url=FEED, options=pb.JobOptions(max_items=entries)))
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=created.job.id, worker_id="bench"))
    listed = [
        pb.CollectionEntry(key=f"id-{i}", url=f"https://media.example/{i}.mp3", title=f"Item {i}", index=i)
        for i in range(1, entries + 1)
    ]
    request = pb.ReportCollectionRequest(
        job_id=claim.job.id, attempt=claim.attempt, title="Bench", entries=listed, listed=entries
    )
    reply = await timed(
        samples, f"ReportCollection ({entries} entries)", lambda: stub.ReportCollection(request)
    )
    assert reply.created == entries, reply
    await asyncio.sleep(1.0)  # let the change feed re-read the new rows, as it would between requests
    token = ""
    for _ in range(entries // page + 1):
        listing = pb.ListJobsRequest(parent_id=claim.job.id, page_size=page, page_token=token)
        found = await timed(
            samples, f"ListJobs, a page of {page} children", lambda listing=listing: stub.ListJobs(listing)
        )
        token = found.next_page_token
        if not token:
            break
    child = found.jobs[-1]
    child_claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=child.id, worker_id="bench"))
    done = pb.CompleteJobRequest(
        job_id=child.id, attempt=child_claim.attempt, filename="a", output_path="a/a", size=1, sha256=SHA
    )
    await timed(samples, "CompleteJob of a child (with the parent's roll-up)", lambda: stub.CompleteJob(done))
    cancel = pb.ControlJobRequest(job_id=claim.job.id, action=pb.CONTROL_ACTION_CANCEL)
    await timed(samples, f"ControlJob cancel ({entries - 1} children)", lambda: stub.ControlJob(cancel))
    await asyncio.sleep(1.0)
    delete = pb.DeleteJobRequest(job_id=claim.job.id)
    await timed(samples, f"DeleteJob ({entries} children)", lambda: stub.DeleteJob(delete))


async def run(database_url: str, rounds: int, entries: int, page: int) -> dict[str, list[float]]:
    app = await start_jobstore(jobstore_settings(database_url, collection_max_items=entries))
    samples: dict[str, list[float]] = {}
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            stub = pb_grpc.JobStoreServiceStub(channel)
            for _ in range(rounds):
                await one_round(stub, entries, page, samples)
    finally:
        await app.stop()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--page", type=int, default=100, help="children per ListJobs page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, PostgresServer(Path(folder)) as server:
        server.create_database("bench")
        migrate(server.url("bench"))
        samples = asyncio.run(run(server.url("bench"), args.rounds, args.entries, args.page))
    print(f"\njobstore, PostgreSQL, {args.rounds} rounds (ms, as the gRPC client sees it)")
    print(f"{'step':58} {'median':>8} {'worst':>8}")
    for step, values in samples.items():
        print(f"{step:58} {statistics.median(values):8.1f} {max(values):8.1f}")


if __name__ == "__main__":
    main()
