"""A collection whose children finished with real files in DATA_DIR, made through jobstore's
public RPCs only (CreateJob, ClaimJob, ReportCollection, then ClaimJob and CompleteJob or FailJob
per child), for the tests and the benchmark of the collection ZIP."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc

FEED = "https://media.example/feed.xml"
WRITE_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    """What one child ends as: `completed` with `filename` holding `size` bytes (written unless
    `on_disk` is False), or `failed`."""

    filename: str
    size: int = 1000
    outcome: str = "completed"
    on_disk: bool = True


@dataclass(frozen=True)
class Finished:
    job: pb.Job
    entry: Entry
    sha256: str


def write_random(path: Path, size: int) -> str:
    """`size` random bytes at `path`, written in chunks; their SHA-256."""
    digest = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(left, WRITE_CHUNK))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


async def finished_collection(
    stub: pb_grpc.JobStoreServiceAsyncStub, data_dir: Path, title: str, entries: list[Entry]
) -> tuple[pb.Job, list[Finished]]:
    """The parent after its children ended as `entries` say, and each child as it ended."""
    parent = (await stub.CreateJob(pb.CreateJobRequest(url=FEED))).job
    assert (await stub.ClaimJob(pb.ClaimJobRequest(job_id=parent.id, worker_id="resolver"))).accepted
    report = pb.ReportCollectionRequest(
        job_id=parent.id,
        attempt=1,
        title=title,
        listed=len(entries),
        entries=[
            pb.CollectionEntry(
                key=f"item-{i}", url=f"https://media.example/{i}.mp3", title=f"Item {i}", index=i
            )
            for i in range(1, len(entries) + 1)
        ],
    )
    assert (await stub.ReportCollection(report)).accepted
    children = (await stub.ListJobs(pb.ListJobsRequest(parent_id=parent.id, page_size=500))).jobs
    finished = []
    for child, entry in zip(children, entries, strict=True):
        claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=child.id, worker_id="w"))
        assert claim.accepted
        if entry.outcome == "failed":
            request = pb.FailJobRequest(
                job_id=child.id, attempt=claim.attempt, error_code="HTTP_ERROR", error_message="404"
            )
            done = await stub.FailJob(request)
            finished.append(Finished(done.job, entry, ""))
            continue
        path = data_dir / child.id / entry.filename
        sha256 = write_random(path, entry.size) if entry.on_disk else "cd" * 32
        done = await stub.CompleteJob(
            pb.CompleteJobRequest(
                job_id=child.id,
                attempt=claim.attempt,
                filename=entry.filename,
                output_path=f"{child.id}/{entry.filename}",
                size=entry.size,
                sha256=sha256,
            )
        )
        assert done.accepted, done.refusal
        finished.append(Finished(done.job, entry, sha256))
    parent = (await stub.GetJob(pb.GetJobRequest(job_id=parent.id))).job
    return parent, finished
