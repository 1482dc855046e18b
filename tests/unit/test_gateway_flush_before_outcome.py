"""A job's progress reaches jobstore before its terminal event, even when a flush in flight
holds the job's last event as the outcome arrives (gateway.progress.ProgressFlusher.flush_job)."""

from __future__ import annotations

import asyncio
import contextlib

import grpc

from gateway.progress import ProgressBuffer, ProgressFlusher, Refused
from haul.contract.enums import JobStage
from haul.contract.events import ProgressEvent
from haul.jobstore.v1 import jobstore_pb2 as pb

JOB = "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"


class NoRefusals:
    async def progress_refused(self, refused: list[Refused]) -> None:
        raise AssertionError(f"nothing is refused here: {refused}")


class HeldReport:
    """jobstore's ReportProgress, whose first call waits until released (a flush in flight);
    it notes what it got, and may fail that first call as a lost connection does."""

    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.in_flight = asyncio.Event()
        self.release = asyncio.Event()
        self._fail_first = fail_first

    async def __call__(self, updates: list[pb.ProgressUpdate]) -> pb.ReportProgressResponse:
        first = not self.calls
        self.calls.append([update.seq for update in updates])
        if first:
            self.in_flight.set()
            await self.release.wait()
            if self._fail_first:
                raise grpc.aio.AioRpcError(
                    grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "connection lost"
                )
        results = [pb.ProgressResult(accepted=True) for _ in updates]
        return pb.ReportProgressResponse(results=results)


def finalizing(seq: int) -> ProgressEvent:
    return ProgressEvent(job_id=JOB, attempt=1, seq=seq, stage=JobStage.FINALIZING, progress=100.0)


async def outcome_after_a_flush_in_flight(report: HeldReport) -> list[str]:
    """The job's last event goes out in a flush that is still in flight when the outcome comes;
    the order in which the flush, the outcome's own flush_job and the outcome end."""
    buffer = ProgressBuffer()
    flusher = ProgressFlusher(buffer, report, interval=3600.0, refusals=NoRefusals())
    order: list[str] = []
    buffer.offer(finalizing(5))

    async def in_flight() -> None:
        with contextlib.suppress(grpc.aio.AioRpcError):  # a failed flush puts its events back
            await flusher.flush(buffer.take_all())
        order.append("flush in flight ended")

    async def outcome() -> None:
        await flusher.flush_job(JOB)
        order.append("outcome sent")

    flight = asyncio.create_task(in_flight())
    await asyncio.wait_for(report.in_flight.wait(), 5)
    sending = asyncio.create_task(outcome())
    for _ in range(20):  # give the outcome every chance to overtake the flush
        await asyncio.sleep(0)
    report.release.set()
    await asyncio.wait_for(asyncio.gather(flight, sending), 5)
    return order


async def test_the_outcome_waits_for_a_flush_in_flight_that_holds_the_jobs_last_event() -> None:
    report = HeldReport()
    assert await outcome_after_a_flush_in_flight(report) == ["flush in flight ended", "outcome sent"]
    assert report.calls == [[5]], "sent once: the outcome had nothing more to send"


async def test_a_failed_flush_in_flight_is_sent_again_before_the_outcome() -> None:
    report = HeldReport(fail_first=True)
    assert await outcome_after_a_flush_in_flight(report) == ["flush in flight ended", "outcome sent"]
    assert report.calls == [[5], [5]], "put back by the failed flush, then sent before the outcome"
