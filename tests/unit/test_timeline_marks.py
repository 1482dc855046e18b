"""The timeline marks: one structured line per step when asked for, nothing otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from haul.runtime import timeline


@pytest.fixture
def marks_on() -> Iterator[None]:
    before = timeline.timeline_enabled()
    timeline.set_timeline_enabled(True)
    yield
    timeline.set_timeline_enabled(before)


def test_mark_logs_step_time_and_job_id_when_enabled(marks_on: None) -> None:
    started = time.time()
    with capture_logs() as logs:
        timeline.mark("claim", job_id="j1")
    assert len(logs) == 1
    line = logs[0]
    assert line["event"] == "timeline"
    assert line["step"] == "claim"
    assert line["job_id"] == "j1"
    assert started <= line["t"] <= time.time()


def test_mark_logs_nothing_when_disabled() -> None:
    before = timeline.timeline_enabled()
    timeline.set_timeline_enabled(False)
    try:
        with capture_logs() as logs:
            timeline.mark("claim", job_id="j1")
    finally:
        timeline.set_timeline_enabled(before)
    assert logs == []


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_environment_variable_is_read_at_import(value: str, expected: bool) -> None:
    env = {**os.environ, timeline.TIMELINE_ENV: value}
    code = "from haul.runtime.timeline import timeline_enabled; print(timeline_enabled())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(expected)
