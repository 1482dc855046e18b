"""The finish record a crashed attempt leaves: read back whole, or not at all."""

from __future__ import annotations

import json
from pathlib import Path

from haul.contract.events import MediaMeta
from worker.finish import RECORD_NAME, Pending, drop_record, load_record, save_record


def test_a_saved_record_reads_back_the_same(tmp_path: Path) -> None:
    pending = Pending(tmp_path / "download.part", "large.bin", 1234, MediaMeta(title="t", duration=2.5))
    save_record(tmp_path, pending)
    assert load_record(tmp_path) == pending
    assert [p.name for p in tmp_path.iterdir()] == [RECORD_NAME], "no temporary file is left"


def test_no_record_a_torn_one_or_one_naming_a_path_elsewhere_reads_as_none(tmp_path: Path) -> None:
    assert load_record(tmp_path) is None
    (tmp_path / RECORD_NAME).write_text('{"source": "download.pa')
    assert load_record(tmp_path) is None
    for source in ("../../etc/passwd", "/etc/passwd", "..", ""):
        (tmp_path / RECORD_NAME).write_text(json.dumps({"source": source, "filename": "x.bin"}))
        assert load_record(tmp_path) is None, source
    drop_record(tmp_path)
    drop_record(tmp_path)  # twice: nothing to drop is fine
    assert not (tmp_path / RECORD_NAME).exists()
