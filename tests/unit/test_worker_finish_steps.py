"""Finishing a download whose file another attempt already moved: complete it, do not crash.

This is issue 11's FileNotFoundError in `check_complete`: two attempts of one job shared
TMP_DIR/{jobId}; the other one moved `download.part` into DATA_DIR first.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any, cast

import pytest

from haul.contract.events import JobSpec, MediaMeta, TerminalReply
from worker import joblock
from worker.engines.base import Downloaded
from worker.finish import RECORD_NAME, load_record
from worker.joblock import job_folder_lock
from worker.link import GatewayLink
from worker.settings import WorkerSettings
from worker.tasks import JobRunner
from worker.tools import Tools

BODY = b"haul" * 100_000


class RecordingLink:
    """The part of GatewayLink a JobRunner's finish uses; it acknowledges or refuses outcomes."""

    attempt = 5
    on_stop: Any = None
    stop_request = None

    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.outcomes: list[tuple[str, dict[str, Any]]] = []

    def progress(self, _sample: Any, force: bool = False) -> None:
        return None

    def next_seq(self) -> int:
        return len(self.outcomes) + 1

    def send_outcome(self, event: str, payload: dict[str, Any], _window: float) -> TerminalReply:
        self.outcomes.append((event, payload))
        return TerminalReply(ok=self.accept, refusal=None if self.accept else "stale_attempt")


def runner(tmp_path: Path, link: RecordingLink) -> tuple[JobRunner, str]:
    job_id = str(uuid.uuid4())
    settings = WorkerSettings(data_dir=tmp_path / "data", tmp_dir=tmp_path / "tmp")
    tools = Tools(ffmpeg_tool=None, ffprobe_tool=None, aria2c_tool=None)
    spec = JobSpec.model_validate({"url": "http://127.0.0.1/large.bin", "type": "file"})
    job_runner = JobRunner(settings, cast(GatewayLink, link), tools, job_id, spec)
    job_runner.work_dir.mkdir(parents=True)
    return job_runner, job_id


def test_a_file_another_attempt_already_moved_is_reported_completed(tmp_path: Path) -> None:
    link = RecordingLink()
    job_runner, job_id = runner(tmp_path, link)
    part = job_runner.work_dir / "download.part"
    moved = tmp_path / "data" / job_id / "large.bin"
    moved.parent.mkdir(parents=True)
    moved.write_bytes(BODY)  # the other attempt's os.replace came first
    result = job_runner._finish(Downloaded(part, "large.bin", "bin", MediaMeta(), len(BODY)))
    assert result == "completed: large.bin"
    [(event, payload)] = link.outcomes
    assert event == "completed" and payload["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert payload["size"] == len(BODY) and moved.read_bytes() == BODY
    assert not job_runner.work_dir.exists()


def test_a_refused_report_keeps_the_record_for_the_attempt_that_owns_the_job(tmp_path: Path) -> None:
    link = RecordingLink(accept=False)
    job_runner, job_id = runner(tmp_path, link)
    part = job_runner.work_dir / "download.part"
    part.write_bytes(BODY)
    result = job_runner._finish(Downloaded(part, "large.bin", "bin", MediaMeta(), len(BODY)))
    assert result == "completed, not recorded: stale_attempt"
    assert (tmp_path / "data" / job_id / "large.bin").read_bytes() == BODY
    assert (job_runner.work_dir / RECORD_NAME).is_file()
    pending = load_record(job_runner.work_dir)
    assert pending is not None and pending.filename == "large.bin"


def test_an_attempt_whose_folder_another_attempt_holds_fails_retryably_without_touching_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(joblock, "WAIT_SECONDS", 0.3)
    link = RecordingLink()
    job_runner, _job_id = runner(tmp_path, link)
    part = job_runner.work_dir / "download.part"
    part.write_bytes(BODY)
    with job_folder_lock(job_runner.work_dir):  # the older attempt's horse, still alive
        assert job_runner.run() == "failed: JOB_BUSY"
    [(event, payload)] = link.outcomes
    assert (event, payload["errorCode"], payload["retryable"]) == ("failed", "JOB_BUSY", True)
    assert part.read_bytes() == BODY
