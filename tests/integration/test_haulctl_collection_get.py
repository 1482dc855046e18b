"""`haul get` following a collection, against real services: the real `haul` command against
an in-process gateway and jobstore on PostgreSQL, with the worker's side played over jobstore's
gRPC (claim the parent, report its entries, finish each child with a real file), so the CLI's
following is proved whatever runs the downloads; and a whole stack with workers that expand the
media origin's podcast feed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from haulctl.errors import EXIT_JOB_FAILED, EXIT_OK
from tests.integration.haul_stack import Haul
from tests.integration.test_haulctl_client import ROOT, haul_command
from tests.support.collection_files import write_random
from tests.support.inprocess import Stack

FEED = "https://media.example/podcast.rss"


@pytest.fixture
async def grpc_stub(stack: Stack) -> AsyncIterator[pb_grpc.JobStoreServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.jobstore.port}") as channel:
        yield pb_grpc.JobStoreServiceStub(channel)


def start_get(base_url: str, *argv: str) -> subprocess.Popen[str]:
    command = [*haul_command(), "get", FEED, "--url", base_url, *argv]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def submitted_job(stub: pb_grpc.JobStoreServiceStub) -> pb.Job:
    for _ in range(200):
        jobs = (await stub.ListJobs(pb.ListJobsRequest(page_size=10))).jobs
        if jobs:
            return jobs[0]
        await asyncio.sleep(0.05)
    raise AssertionError("haul get never submitted the feed")


async def play_worker(
    stub: pb_grpc.JobStoreServiceStub, data_dir: Path, fail_second: bool
) -> tuple[pb.Job, dict[str, str]]:
    """Resolve the submitted job into 3 entries and finish them one by one, slowly enough for
    the follower to see the collection between them; the completed children's sha256 by name."""
    parent = await submitted_job(stub)
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=parent.id, worker_id="scripted"))
    assert claim.accepted
    await asyncio.sleep(1.0)  # haul get is following a job that is resolving
    entries = [
        pb.CollectionEntry(key=f"e{i}", url=f"https://media.example/{i}.m4a", title=f"Episode {i}", index=i)
        for i in (1, 2, 3)
    ]
    report = pb.ReportCollectionRequest(
        job_id=parent.id, attempt=claim.attempt, title="A podcast", entries=entries, listed=3
    )
    assert (await stub.ReportCollection(report)).accepted
    children = (await stub.ListJobs(pb.ListJobsRequest(parent_id=parent.id))).jobs
    digests = {}
    for number, child in enumerate(children, start=1):
        await asyncio.sleep(0.7)
        taken = await stub.ClaimJob(pb.ClaimJobRequest(job_id=child.id, worker_id="scripted"))
        if fail_second and number == 2:
            failed = pb.FailJobRequest(
                job_id=child.id,
                attempt=taken.attempt,
                error_code="HTTP_ERROR",
                error_message="HTTP Error 404",
            )
            assert (await stub.FailJob(failed)).accepted
            continue
        name = f"Episode {number}.m4a"
        digests[name] = write_random(data_dir / child.id / name, 100_000 * number)
        done = pb.CompleteJobRequest(
            job_id=child.id,
            attempt=taken.attempt,
            filename=name,
            output_path=f"{child.id}/{name}",
            size=100_000 * number,
            sha256=digests[name],
        )
        assert (await stub.CompleteJob(done)).accepted
    return parent, digests


async def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = await asyncio.to_thread(process.communicate, timeout=60)
    return process.returncode, out, err


@pytest.mark.parametrize("over", ["rest", "grpc"])
async def test_get_reports_each_entry_as_json_lines_and_fails_when_one_failed(
    stack: Stack, grpc_stub: pb_grpc.JobStoreServiceStub, tmp_path: Path, over: str
) -> None:
    where = ["--grpc", f"127.0.0.1:{stack.jobstore.port}"] if over == "grpc" else []
    process = start_get(stack.base_url, "--json", "-o", str(tmp_path), *where)
    try:
        parent, digests = await play_worker(grpc_stub, stack.data_dir, fail_second=True)
    finally:
        code, out, err = await finished(process)
    assert code == EXIT_JOB_FAILED, (out, err)
    lines = [json.loads(line) for line in out.splitlines()]
    items = [line["job"] for line in lines if line["event"] == "item"]
    assert [(job["entryIndex"], job["status"]) for job in items] == [
        (1, "completed"),
        (2, "failed"),
        (3, "completed"),
    ]
    assert items[1]["errorCode"] == "HTTP_ERROR" and items[0]["filename"] == "Episode 1.m4a"
    last = lines[-1]
    assert last["event"] == "collection" and last["job"]["id"] == parent.id
    assert last["job"]["collection"]["completed"] == 2 and last["job"]["collection"]["failed"] == 1
    with zipfile.ZipFile(last["savedTo"]) as archive:
        members = {
            info.filename: hashlib.sha256(archive.read(info)).hexdigest() for info in archive.infolist()
        }
    assert members == {f"000{name[8]} - {name}": sha for name, sha in digests.items()}


async def test_get_prints_a_line_per_entry_and_succeeds_when_all_completed(
    stack: Stack, grpc_stub: pb_grpc.JobStoreServiceStub
) -> None:
    process = start_get(stack.base_url)
    try:
        parent, _ = await play_worker(grpc_stub, stack.data_dir, fail_second=False)
    finally:
        code, out, err = await finished(process)
    assert code == EXIT_OK, (out, err)
    lines = out.splitlines()
    assert lines[:3] == [
        "completed  0001  Episode 1.m4a (97.7 KiB)",
        "completed  0002  Episode 2.m4a (195.3 KiB)",
        "completed  0003  Episode 3.m4a (293.0 KiB)",
    ]
    assert lines[3] == "completed  A podcast: 3 of 3 completed"
    assert lines[4] == f"zip        {stack.base_url}/files/{parent.id}/download"
    assert "3/3 done" in err, err  # the aggregate bar, a line per change off a terminal


# -- a whole stack ----------------------------------------------------------------------------


@pytest.mark.slow
def test_get_follows_the_podcast_feed_to_every_episode(haul: Haul, tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    feed = haul.media.url("/feeds/podcast.rss")
    started = time.monotonic()
    done = subprocess.run(
        [
            *haul_command(),
            "get",
            feed,
            "--type",
            "audio",
            "--url",
            haul.base_url,
            "--json",
            "-o",
            str(saved),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == EXIT_OK, (done.stdout, done.stderr[-3000:], time.monotonic() - started)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    items = [line["job"] for line in lines if line["event"] == "item"]
    assert [job["entryIndex"] for job in items] == [1, 2, 3]
    assert all(job["status"] == "completed" and job["filename"] for job in items)
    assert Path(lines[-1]["savedTo"]).parent == saved
    with zipfile.ZipFile(lines[-1]["savedTo"]) as archive:
        members = {
            info.filename: hashlib.sha256(archive.read(info)).hexdigest() for info in archive.infolist()
        }
    assert members == {f"000{job['entryIndex']} - {job['filename']}": job["sha256"] for job in items}
