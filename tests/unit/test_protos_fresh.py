"""The committed stubs are exactly what `make protos` generates from the committed .proto files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = "haul/jobstore/v1"


def test_generated_stubs_are_fresh(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "protos" / "generate.py"), str(tmp_path)], check=True, capture_output=True
    )
    fresh = {p.name: p.read_bytes() for p in (tmp_path / GENERATED).iterdir() if p.is_file()}
    committed = {p.name: p.read_bytes() for p in (ROOT / GENERATED).iterdir() if "_pb2" in p.name}
    assert set(fresh) == set(committed), "run `make protos` and commit the result"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated files {stale}: run `make protos` and commit the result"
