"""The coalescing buffer of the progress path: latest wins, stale is dropped, memory is bounded."""

from __future__ import annotations

from gateway.progress import Offered, ProgressBuffer
from gateway.ratelimit import SenderRateCap
from haul.contract.enums import JobStage
from haul.contract.events import ProgressEvent

JOB_A = "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"
JOB_B = "0b7e8f60-1c2d-4e3f-8a9b-0c1d2e3f4a5b"


def event(
    job_id: str, seq: int, attempt: int = 1, progress: float = 1.0, stage: JobStage = JobStage.DOWNLOADING
) -> ProgressEvent:
    return ProgressEvent(job_id=job_id, attempt=attempt, seq=seq, stage=stage, progress=progress)


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


def distinct_job(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def test_a_departed_senders_jobs_are_all_forgotten() -> None:
    """The /worker flood: one connection reports many made-up job ids and leaves."""
    buf = ProgressBuffer(max_jobs=100_000, rate_cap=SenderRateCap(rate=1e9, burst=1e9))
    assert buf.admit("honest") and buf.offer(event(JOB_A, 1), "honest")
    for number in range(20_000):
        assert buf.admit("flood")
        assert buf.offer(event(distinct_job(number), 1), "flood")
    buf.take_all()  # some were flushed, some still pending: both are forgotten
    for number in range(20_000, 25_000):
        buf.offer(event(distinct_job(number), 1), "flood")
    buf.sender_left("flood")
    assert len(buf.rate_cap) == 1, "only the honest connection's bucket is left"
    buf.sender_left("honest")
    assert buf.remembered == 0 and len(buf) == 0 and len(buf.rate_cap) == 0


def test_a_job_reported_again_by_another_connection_stays_with_it() -> None:
    buf = ProgressBuffer()
    buf.offer(event(JOB_A, 1), "first")
    buf.offer(event(JOB_A, 2), "second")  # the worker reconnected
    buf.sender_left("first")
    assert not buf.offer(event(JOB_A, 2), "second"), "the newer connection's memory is kept"


def test_memory_is_capped_even_while_the_sender_stays() -> None:
    buf = ProgressBuffer(max_jobs=100)
    for number in range(5_000):
        buf.offer(event(distinct_job(number), 1), "flood")
    assert len(buf) <= 100 and buf.remembered <= 4 * 100 + 1
    newest = {e.job_id for e in buf.take_all()}
    assert distinct_job(4_999) in newest and distinct_job(0) not in newest


def test_a_connection_over_its_rate_is_dropped_and_counted_then_refills() -> None:
    now = [0.0]
    cap = SenderRateCap(rate=50, burst=100, clock=lambda: now[0])
    assert sum(cap.admit("sid") for _ in range(150)) == 100
    assert cap.dropped == 50
    assert cap.admit("other"), "one connection's flood does not touch another's budget"
    now[0] = 1.0
    assert sum(cap.admit("sid") for _ in range(100)) == 50


def test_the_default_cap_leaves_the_heaviest_legitimate_sender_alone() -> None:
    """The throttle load test: 50 claimed jobs at 20 Hz on one connection, 1,000 events/s."""
    now = [0.0]
    cap = SenderRateCap(clock=lambda: now[0])
    for tick in range(20 * 10):  # ten seconds, 20 ticks a second, 50 events each
        now[0] = tick / 20
        assert all(cap.admit("load-test") for _ in range(50))
    assert cap.dropped == 0


def test_the_first_event_of_each_stage_of_an_attempt_is_new_and_flipping_back_is_not() -> None:
    buf = ProgressBuffer()
    flips = [JobStage.RESOLVING, JobStage.DOWNLOADING, JobStage.MERGING]
    offered = [buf.offer(event(JOB_A, seq, stage=flips[seq % 3])) for seq in range(1, 301)]
    assert offered[:3] == [Offered.NEW_STAGE] * 3
    assert set(offered[3:]) == {Offered.KEPT}, "a worker flipping stages makes no more new ones"
    assert buf.offer(event(JOB_A, 301, stage=JobStage.FINALIZING)) is Offered.NEW_STAGE
    assert buf.offer(event(JOB_A, 301, stage=JobStage.POSTPROCESSING)) is Offered.STALE, (
        "stale says nothing new"
    )
    assert buf.offer(event(JOB_B, 1, stage=JobStage.MERGING)) is Offered.NEW_STAGE, "stages are per job"


def test_a_new_attempt_or_a_forgotten_job_starts_with_no_stage_seen() -> None:
    buf = ProgressBuffer()
    assert buf.offer(event(JOB_A, 1)) is Offered.NEW_STAGE
    assert buf.offer(event(JOB_A, 2)) is Offered.KEPT
    assert buf.offer(event(JOB_A, 1, attempt=2)) is Offered.NEW_STAGE
    assert buf.offer(event(JOB_A, 2, attempt=2)) is Offered.KEPT
    buf.forget(JOB_A)
    assert buf.offer(event(JOB_A, 3, attempt=2)) is Offered.NEW_STAGE
