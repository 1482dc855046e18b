"""The coalescing buffer of the progress path: latest wins, stale is dropped, memory is bounded."""

from __future__ import annotations

from gateway.progress import ProgressBuffer
from haul.contract.events import ProgressEvent

JOB_A = "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"
JOB_B = "0b7e8f60-1c2d-4e3f-8a9b-0c1d2e3f4a5b"


def event(job_id: str, seq: int, attempt: int = 1, progress: float = 1.0) -> ProgressEvent:
    return ProgressEvent(job_id=job_id, attempt=attempt, seq=seq, stage="downloading", progress=progress)

    return ProgressBuffer()


def test_the_latest_update_per_job_wins() -> None:
    buf = ProgressBuffer()
    for seq in range(1, 21):
        assert buf.offer(event(JOB_A, seq, progress=seq))
    buf.offer(event(JOB_B, 1))
    batch = {e.job_id: e for e in buf.take_all()}
    assert batch[JOB_A].seq == 20 and batch[JOB_A].progress == 20
    assert len(batch) == 2 and len(buf) == 0


def test_stale_seq_and_old_attempts_are_dropped() -> None:
    buf = ProgressBuffer()
    assert buf.offer(event(JOB_A, 5, attempt=2))
    assert not buf.offer(event(JOB_A, 4, attempt=2))
    assert not buf.offer(event(JOB_A, 5, attempt=2))
    assert not buf.offer(event(JOB_A, 99, attempt=1))
    assert buf.offer(event(JOB_A, 1, attempt=3))
    assert [e.attempt for e in buf.take_all()] == [3]


def test_a_failed_flush_is_put_back_unless_superseded() -> None:
    buf = ProgressBuffer()
    buf.offer(event(JOB_A, 1))
    buf.offer(event(JOB_B, 1))
    failed = buf.take_all()
    buf.offer(event(JOB_B, 2))
    buf.put_back(failed)
    pending = {e.job_id: e.seq for e in buf.take_all()}
    assert pending == {JOB_A: 1, JOB_B: 2}


def test_take_one_job_leaves_the_others() -> None:
    buf = ProgressBuffer()
    buf.offer(event(JOB_A, 1))
    buf.offer(event(JOB_B, 1))
    taken = buf.take(JOB_A)
    assert taken is not None and taken.job_id == JOB_A
    assert buf.take(JOB_A) is None
    assert [e.job_id for e in buf.take_all()] == [JOB_B]


def test_forget_bounds_memory_and_allows_a_fresh_start() -> None:
    buf = ProgressBuffer()
    buf.offer(event(JOB_A, 9))
    buf.forget(JOB_A)
    assert len(buf) == 0
    assert buf.offer(event(JOB_A, 1))
