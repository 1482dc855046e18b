"""The pure parts of `make bench-latency`: marks read from mixed log output, a job's steps after
its submit, percentiles, the step table, and the origin's Range reading."""

from __future__ import annotations

import json
import math

import pytest

from tests.bench.latency_origin import _byte_range, first_byte_by_key, last_request_by_key
from tests.bench.latency_timeline import (
    offsets_ms,
    percentile,
    read_marks,
    summarize,
    timeline_table,
)

JOB = "0b7c4c1e-6a43-4d59-9a57-0c2f5f0f9a11"


def line(step: str, t: float, **fields: str) -> str:
    return json.dumps({"event": "timeline", "step": step, "t": t, "level": "info", **fields})


def test_marks_are_read_by_job_and_step_from_mixed_output() -> None:
    lines = [
        "not json at all, an RQ banner",
        json.dumps({"event": "job enqueued", "job_id": JOB}),
        line("commit", 100.0, job_id=JOB),
        line("fork", 100.2, rq_job_id=f"haul-{JOB}-a1"),
        line("enqueue", 100.1, job_id=JOB),
        line("enqueue", 105.1, job_id=JOB),  # the reconciler enqueued it again: the first counts
        '{"event": "timeline", "step": "claim", "t": ',  # a line cut short
        line("claim", 100.3, rq_job_id="not-an-rq-id"),
    ]
    marks = read_marks(lines)
    assert marks == {JOB: {"commit": 100.0, "fork": 100.2, "enqueue": 100.1}}


def test_reading_on_adds_to_the_marks_already_read() -> None:
    marks = read_marks([line("commit", 1.0, job_id=JOB)])
    read_marks([line("report", 3.0, job_id=JOB), line("commit", 9.0, job_id=JOB)], into=marks)
    assert marks[JOB] == {"commit": 1.0, "report": 3.0}


def test_offsets_are_milliseconds_after_the_submit() -> None:
    assert offsets_ms(10.0, {"commit": 10.25, "completed": 11.5}) == {"commit": 250.0, "completed": 1500.0}


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 0.5) == pytest.approx(10.5)
    assert percentile(values, 0.95) == pytest.approx(19.05)
    assert percentile([7.0], 0.95) == 7.0
    assert math.isnan(percentile([], 0.5))


def test_summary_orders_steps_by_median_and_counts_runs_that_reached_them() -> None:
    runs = [
        {"submit": 0.0, "claim": 300.0, "commit": 10.0, "downloading": 900.0},
        {"submit": 0.0, "claim": 320.0, "commit": 12.0},
        {"submit": 0.0, "claim": 280.0, "commit": 14.0, "downloading": 700.0},
    ]
    figures = summarize(runs, order=("submit", "commit", "claim", "downloading"))
    assert [f.step for f in figures] == ["submit", "commit", "claim", "downloading"]
    claim = figures[2]
    assert (claim.p50_ms, claim.seen) == (300.0, 3)
    assert figures[3].seen == 2 and figures[3].p50_ms == 800.0
    table = timeline_table("title", figures, 3, {"claim": "claim reply"})
    assert "claim reply" in table and "2/3" in table


def test_origin_reads_ranges_and_first_bytes() -> None:
    assert _byte_range(None, 100) is None
    assert _byte_range("bytes=0-", 100) == (0, 99)
    assert _byte_range("bytes=10-19", 100) == (10, 19)
    assert _byte_range("bytes=-10", 100) == (90, 99)
    assert _byte_range("bytes=200-", 100) is None
    records = [
        {"key": "a", "first_byte": 5.0},
        {"key": "a", "first_byte": 4.0},
        {"key": "b", "first_byte": None},
    ]
    assert first_byte_by_key(records) == {"a": 4.0}
    requests = [
        {"key": "a", "method": "GET", "arrived": 1.0},  # yt-dlp's probe
        {"key": "a", "method": "GET", "arrived": 2.0},  # the download
        {"key": "a", "method": "HEAD", "arrived": 3.0},
    ]
    assert last_request_by_key(requests) == {"a": 2.0}
