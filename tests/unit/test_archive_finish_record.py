"""The media's identity survives a crash between download and report: the finish record
(worker.finish) keeps it, so the attempt that finishes from the record reports what yt-dlp read."""

from __future__ import annotations

import json
from pathlib import Path

from haul.contract.events import MediaMeta
from worker.finish import RECORD_NAME, Pending, load_record, save_record


def test_the_finish_record_keeps_the_archive_id(tmp_path: Path) -> None:
    pending = Pending(
        tmp_path / "media.m4a", "Episode 1.m4a", 1234, MediaMeta(title="Episode 1"), "generic guid-1"
    )
    save_record(tmp_path, pending)
    assert load_record(tmp_path) == pending


def test_a_record_written_before_identities_loads_without_one(tmp_path: Path) -> None:
    body = {"source": "media.m4a", "filename": "a.m4a", "announced_bytes": None, "meta": {}}
    (tmp_path / RECORD_NAME).write_text(json.dumps(body), encoding="utf-8")
    loaded = load_record(tmp_path)
    assert loaded is not None and loaded.archive_id == ""
