"""How changes from jobstore's stream become browser events and worker control messages."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from gateway.assignments import WorkerAssignments
from gateway.fanout import Fanout
from gateway.metrics import GatewayMetrics
from gateway.progress import ProgressBuffer
from haul.contract.events import ControlMessage
from haul.jobstore.v1 import jobstore_pb2 as pb

JOB = "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"
UPDATED = Timestamp(seconds=1_700_000_000)  # jobstore stamps every job it sends


class RecordingServer:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, dict[str, Any]]] = []

    async def emit(self, event: str, data: dict[str, Any], **_kwargs: Any) -> None:
        self.emitted.append((event, data))


class RecordingControl:
    def __init__(self) -> None:
        self.controls: list[tuple[str, str]] = []

    async def send(self, _sid: str, message: ControlMessage) -> None:
        self.controls.append((message.job_id, message.action))


class Harness:
    def __init__(self, held_attempt: int | None) -> None:
        self.sio = RecordingServer()
        self.channel = RecordingControl()
        self.controls = self.channel.controls
        assignments = WorkerAssignments(self.channel, ProgressBuffer())
        if held_attempt is not None:
            assignments.claimed(JOB, "worker-sid", held_attempt)
        self.fanout = Fanout(self.sio, None, assignments, GatewayMetrics())  # type: ignore[arg-type]

    async def apply(self, status: int, attempt: int, seq: int = 0, stage: int = pb.JOB_STAGE_QUEUED) -> None:
        job = pb.Job(
            id=JOB, status=status, attempt=attempt, progress_seq=seq, stage=stage, updated_at=UPDATED
        )
        await self.fanout.apply(pb.JobChange(kind=pb.CHANGE_KIND_UPSERTED, job=job))


async def test_a_late_creation_event_does_not_stop_the_worker_that_already_claimed() -> None:
    harness = Harness(held_attempt=1)
    await harness.apply(pb.JOB_STATUS_QUEUED, attempt=0)
    assert harness.controls == []
    assert harness.sio.emitted[0][0] == "job-update"


async def test_cancel_pause_and_requeue_of_the_held_attempt_stop_the_worker() -> None:
    for status, action in (
        (pb.JOB_STATUS_CANCELLED, "cancel"),
        (pb.JOB_STATUS_PAUSED, "pause"),
        (pb.JOB_STATUS_QUEUED, "abort"),
    ):
        harness = Harness(held_attempt=1)
        await harness.apply(status, attempt=1)
        assert harness.controls == [(JOB, action)]


async def test_a_newer_attempt_running_elsewhere_aborts_the_old_holder() -> None:
    harness = Harness(held_attempt=1)
    await harness.apply(pb.JOB_STATUS_RUNNING, attempt=2, stage=pb.JOB_STAGE_RESOLVING)
    assert harness.controls == [(JOB, "abort")]


async def test_progress_changes_emit_progress_and_repeats_emit_nothing() -> None:
    harness = Harness(held_attempt=None)
    await harness.apply(pb.JOB_STATUS_RUNNING, attempt=1, seq=1, stage=pb.JOB_STAGE_DOWNLOADING)
    await harness.apply(pb.JOB_STATUS_RUNNING, attempt=1, seq=2, stage=pb.JOB_STAGE_DOWNLOADING)
    await harness.apply(pb.JOB_STATUS_RUNNING, attempt=1, seq=2, stage=pb.JOB_STAGE_DOWNLOADING)
    assert [event for event, _ in harness.sio.emitted] == ["job-update", "progress", "progress"]


async def test_a_deletion_tells_browsers_and_cancels_the_worker() -> None:
    harness = Harness(held_attempt=1)
    job = pb.Job(id=JOB, status=pb.JOB_STATUS_RUNNING)
    await harness.fanout.apply(pb.JobChange(kind=pb.CHANGE_KIND_DELETED, job=job))
    assert harness.sio.emitted == [("job-update", {"jobId": JOB, "deleted": True})]
    assert harness.controls == [(JOB, "cancel")]


class OneStream:
    """jobstore's `WatchJobs` call: yields the given changes, then stays open."""

    def __init__(self, changes: list[pb.JobChange]) -> None:
        self._changes = changes

    async def wait_for_connection(self) -> None:
        return None

    def cancel(self) -> None:
        return None

    async def __aiter__(self) -> Any:
        for change in self._changes:
            yield change
        await asyncio.Event().wait()


class StreamingJobstore:
    def __init__(self, changes: list[pb.JobChange]) -> None:
        self._changes = changes

    def watch(self) -> OneStream:
        return OneStream(self._changes)


async def test_a_change_that_breaks_its_shape_does_not_end_the_stream_for_other_jobs() -> None:
    other = "1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b"
    broken = pb.Job(
        id=JOB,
        status=pb.JOB_STATUS_RUNNING,
        attempt=1,
        progress=150.0,
        stage=pb.JOB_STAGE_DOWNLOADING,
        updated_at=UPDATED,
    )
    fine = pb.Job(
        id=other,
        status=pb.JOB_STATUS_RUNNING,
        attempt=1,
        progress=10.0,
        stage=pb.JOB_STAGE_DOWNLOADING,
        updated_at=UPDATED,
    )
    sio = RecordingServer()
    assignments = WorkerAssignments(RecordingControl(), ProgressBuffer())
    changes = [pb.JobChange(kind=pb.CHANGE_KIND_UPSERTED, job=job) for job in (broken, fine)]
    fanout = Fanout(sio, StreamingJobstore(changes), assignments, GatewayMetrics())  # type: ignore[arg-type]
    task = asyncio.create_task(fanout.run())
    try:
        for _ in range(100):
            if any(data.get("jobId") == other for _, data in sio.emitted):
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert any(event == "progress" and data["jobId"] == other for event, data in sio.emitted)
    assert not any(data.get("jobId") == JOB and event == "progress" for event, data in sio.emitted)
