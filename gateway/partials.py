"""Partial files of jobs no worker holds: removed by the gateway, which mounts TMP_DIR.

A running job's partials are the worker's: it removes them when the job is cancelled or fails
for good. A paused or queued job has no worker, so a cancel or a DELETE of it leaves its
`TMP_DIR/{jobId}` to the gateway; so does a cancel of a collection for its entries. Jobstore never touches files; it may not even mount them.

The sweep of leftovers (a worker killed before it could clean up, a stale attempt whose
report was refused) runs in the gateway at start-up, not in the worker: a worker speaks only
Socket.IO and cannot ask for a job's state, while the gateway asks jobstore. It removes a
folder only when its job is gone or terminal (completed, failed, cancelled); a queued,
running or paused job's partials, and anything that is not a job's folder (aria2's `.aria2`
runtime folders), are never touched. Gateways sharing TMP_DIR may all sweep: each removal is
idempotent.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import grpc
import structlog

from gateway.jobstore_client import JobstoreClient
from haul.contract.events import MAX_COLLECTION_ENTRIES
from haul.contract.limits import MAX_PAGE_SIZE
from haul.jobstore.v1 import jobstore_pb2 as pb

log = structlog.get_logger(__name__)

TERMINAL = frozenset({pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, pb.JOB_STATUS_CANCELLED})


async def remove_partials(tmp_dir: Path, job_id: str) -> None:
    """Remove TMP_DIR/{jobId}; `job_id` must already be a checked UUID."""
    await asyncio.to_thread(shutil.rmtree, tmp_dir / job_id, True)


async def remove_cancelled_entries_partials(tmp_dir: Path, jobstore: JobstoreClient, parent_id: str) -> int:
    """After a cancel of a collection: remove the partials of its cancelled entries, the paused
    ones' above all, which no worker holds; returns how many entries were looked at.

    A running entry's worker removes its own as well; both removals are idempotent.
    """
    seen, token = 0, ""
    for _ in range(MAX_COLLECTION_ENTRIES // MAX_PAGE_SIZE + 1):
        page = await jobstore.list_jobs(
            pb.ListJobsRequest(
                parent_id=parent_id,
                statuses=[pb.JOB_STATUS_CANCELLED],
                page_size=MAX_PAGE_SIZE,
                page_token=token,
            )
        )
        for job in page.jobs:
            await remove_partials(tmp_dir, job.id)
        seen += len(page.jobs)
        token = page.next_page_token
        if not token:
            break
    return seen


def _job_folders(tmp_dir: Path) -> list[str]:
    names = []
    for entry in tmp_dir.iterdir() if tmp_dir.is_dir() else []:
        try:
            if entry.is_dir() and not entry.is_symlink() and str(uuid.UUID(entry.name)) == entry.name:
                names.append(entry.name)
        except ValueError:
            continue
    return names


async def sweep_partials(tmp_dir: Path, jobstore: JobstoreClient) -> list[str]:
    """Remove the partial folders of jobs that are gone or terminal; returns the removed ids.

    A job jobstore cannot answer for (jobstore down) is kept: only a clear answer removes files.
    """
    removed = []
    for job_id in await asyncio.to_thread(_job_folders, tmp_dir):
        try:
            status = (await jobstore.get(job_id)).job.status
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.NOT_FOUND:
                log.warning(
                    "partial files kept: jobstore did not answer", job_id=job_id, code=str(exc.code())
                )
                continue
            status = None
        if status is None or status in TERMINAL:
            await remove_partials(tmp_dir, job_id)
            removed.append(job_id)
    if removed:
        log.info("partial files of ended jobs removed", jobs=len(removed))
    return removed
