"""Which worker holds which job, and every rule that tells it to stop, without Socket.IO."""

from __future__ import annotations

from gateway.assignments import Holding, WorkerAssignments
from gateway.progress import ProgressBuffer, Refused
from haul.contract.events import ControlMessage, ProgressEvent
from haul.jobstore.v1 import jobstore_pb2 as pb

JOB = "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"
OTHER_JOB = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"


class RecordingControl:
    """Stands in for the `/worker` namespace: keeps (sid, jobId, action, reason) per message."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, str]] = []

    async def send(self, sid: str, message: ControlMessage) -> None:
        self.sent.append((sid, message.job_id, message.action, message.reason))


class Harness:
    def __init__(self) -> None:
        self.channel = RecordingControl()
        self.buffer = ProgressBuffer()
        self.assignments = WorkerAssignments(self.channel, self.buffer)

    def actions(self) -> list[tuple[str, str, str]]:
        return [(sid, job_id, action) for sid, job_id, action, _reason in self.channel.sent]

    def buffer_progress(self, attempt: int, seq: int) -> None:
        event = ProgressEvent.model_validate(
            {"jobId": JOB, "attempt": attempt, "seq": seq, "stage": "downloading", "progress": 10.0}
        )
        assert self.buffer.offer(event)

    async def change(self, status: int, attempt: int, status_changed: bool = True) -> None:
        job = pb.Job(id=JOB, status=status, attempt=attempt)
        await self.assignments.job_changed(job, status_changed=status_changed)


async def test_a_claim_makes_the_connection_the_holder_of_that_attempt() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "sid-a", 3)
    assert harness.assignments.holder_of(JOB) == Holding("sid-a", 3)
    assert harness.assignments.holder_of(OTHER_JOB) is None


async def test_cancel_tells_the_holder_and_forgets_its_buffered_progress() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "sid-a", 1)
    harness.buffer_progress(attempt=1, seq=1)
    await harness.change(pb.JOB_STATUS_CANCELLED, attempt=1)
    assert harness.channel.sent == [("sid-a", JOB, "cancel", "the job is now cancelled")]
    assert len(harness.buffer) == 0
    assert harness.assignments.holder_of(JOB) is None


async def test_pause_tells_the_holder_and_keeps_its_buffered_progress() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "sid-a", 1)
    harness.buffer_progress(attempt=1, seq=1)
    await harness.change(pb.JOB_STATUS_PAUSED, attempt=1)
    assert harness.actions() == [("sid-a", JOB, "pause")]
    assert len(harness.buffer) == 1
    assert harness.assignments.holder_of(JOB) is None


async def test_an_outcome_or_requeue_the_holder_did_not_report_aborts_it() -> None:
    for status in (pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, pb.JOB_STATUS_QUEUED):
        harness = Harness()
        harness.assignments.claimed(JOB, "sid-a", 2)
        await harness.change(status, attempt=2)
        assert harness.actions() == [("sid-a", JOB, "abort")]


async def test_a_worker_that_reported_its_outcome_is_not_told_to_stop_by_it() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "sid-a", 1)
    harness.assignments.released(JOB)
    await harness.change(pb.JOB_STATUS_COMPLETED, attempt=1)
    assert harness.channel.sent == []


async def test_a_change_from_before_the_claim_does_not_stop_the_holder() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "sid-a", 1)
    await harness.change(pb.JOB_STATUS_QUEUED, attempt=0)
    assert harness.channel.sent == []
    assert harness.assignments.holder_of(JOB) == Holding("sid-a", 1)


async def test_a_change_that_keeps_the_status_does_not_repeat_a_stop() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "sid-a", 1)
    await harness.change(pb.JOB_STATUS_PAUSED, attempt=1, status_changed=False)
    assert harness.channel.sent == []


async def test_a_newer_attempt_running_aborts_the_older_holder_only() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "sid-a", 1)
    await harness.change(pb.JOB_STATUS_RUNNING, attempt=1, status_changed=False)
    assert harness.channel.sent == []
    await harness.change(pb.JOB_STATUS_RUNNING, attempt=2, status_changed=False)
    assert harness.channel.sent == [("sid-a", JOB, "abort", "attempt 2 now owns the job")]
    assert harness.assignments.holder_of(JOB) is None


async def test_a_deletion_cancels_the_holder() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "sid-a", 1)
    await harness.assignments.job_deleted(JOB)
    assert harness.channel.sent == [("sid-a", JOB, "cancel", "the job was deleted")]


async def test_refused_progress_cancels_a_vanished_job_and_aborts_anything_else() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "sid-a", 1)
    harness.assignments.claimed(OTHER_JOB, "sid-b", 4)
    await harness.assignments.progress_refused(
        [Refused(JOB, 1, pb.REFUSAL_JOB_NOT_FOUND), Refused(OTHER_JOB, 4, pb.REFUSAL_STALE_ATTEMPT)]
    )
    assert harness.actions() == [("sid-a", JOB, "cancel"), ("sid-b", OTHER_JOB, "abort")]
    assert harness.channel.sent[0][3] == "jobstore refused this attempt's progress"


async def test_nothing_is_sent_for_a_job_no_local_worker_holds() -> None:
    harness = Harness()
    await harness.assignments.job_deleted(JOB)
    await harness.change(pb.JOB_STATUS_CANCELLED, attempt=1)
    await harness.assignments.progress_refused([Refused(JOB, 1, pb.REFUSAL_JOB_NOT_FOUND)])
    assert harness.channel.sent == []


async def test_a_disconnected_worker_holds_nothing_and_is_told_nothing() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "sid-a", 1)
    harness.assignments.claimed(OTHER_JOB, "sid-a", 1)
    harness.assignments.disconnected("sid-a")
    assert harness.assignments.holder_of(JOB) is None
    assert harness.assignments.holder_of(OTHER_JOB) is None
    await harness.change(pb.JOB_STATUS_CANCELLED, attempt=1)
    assert harness.channel.sent == []


async def test_progress_from_a_reconnected_worker_moves_the_job_to_its_new_connection() -> None:
    harness = Harness()
    harness.assignments.claimed(JOB, "old-sid", 1)
    harness.assignments.reported_progress(JOB, "new-sid", 1)
    assert harness.assignments.holder_of(JOB) == Holding("new-sid", 1)
    harness.assignments.disconnected("old-sid")  # the old connection's drop must not take the job
    await harness.change(pb.JOB_STATUS_CANCELLED, attempt=1)
    assert harness.actions() == [("new-sid", JOB, "cancel")]
