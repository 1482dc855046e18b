"""The gateway's start-up sweep removes partial folders of ended jobs only."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any, cast

import grpc

from gateway.jobstore_client import JobstoreClient
from gateway.partials import sweep_partials
from haul.jobstore.v1 import jobstore_pb2 as pb


class StatusJobstore:
    """Answers `get` with a status per job; a job it does not list is NOT_FOUND."""

    def __init__(self, statuses: dict[str, Any], down: bool = False) -> None:
        self.statuses, self.down = statuses, down

    async def get(self, job_id: str, include_history: bool = False) -> Any:
        if self.down:
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata())
        if job_id not in self.statuses:
            raise grpc.aio.AioRpcError(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata())
        return pb.GetJobResponse(job=pb.Job(id=job_id, status=self.statuses[job_id]))


def partial_folder(tmp_dir: Path, name: str) -> str:
    (tmp_dir / name).mkdir()
    (tmp_dir / name / "download.part").write_bytes(b"\0" * 10)
    return name


def test_only_gone_and_terminal_jobs_lose_their_partials(tmp_path: Path) -> None:
    kept = {s: partial_folder(tmp_path, str(uuid.uuid4())) for s in ("queued", "running", "paused")}
    ended = {s: partial_folder(tmp_path, str(uuid.uuid4())) for s in ("completed", "failed", "cancelled")}
    gone = partial_folder(tmp_path, str(uuid.uuid4()))
    runtime = partial_folder(tmp_path, ".aria2")
    statuses = {job_id: getattr(pb, f"JOB_STATUS_{s.upper()}") for s, job_id in {**kept, **ended}.items()}
    jobstore = cast(JobstoreClient, StatusJobstore(statuses))
    removed = asyncio.run(sweep_partials(tmp_path, jobstore))
    assert sorted(removed) == sorted([*ended.values(), gone])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept.values(), runtime])


def test_nothing_is_removed_while_jobstore_does_not_answer(tmp_path: Path) -> None:
    job_id = partial_folder(tmp_path, str(uuid.uuid4()))
    jobstore = cast(JobstoreClient, StatusJobstore({}, down=True))
    assert asyncio.run(sweep_partials(tmp_path, jobstore)) == []
    assert (tmp_path / job_id / "download.part").is_file()
