"""The committed OpenAPI document and the web UI's types generated from it are what `make types`
writes from the contract's models now, like the gRPC stubs are checked in test_protos_fresh."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from gateway.openapi_export import document

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "gateway" / "web"
DOCUMENT = "openapi.json"
GENERATED = "src/api/schema.gen.ts"
STALE = "run `make types` and commit the result"


def test_committed_openapi_document_is_fresh() -> None:
    assert (WEB / DOCUMENT).read_text(encoding="utf-8") == document(), STALE


def test_committed_typescript_types_are_fresh(tmp_path: Path) -> None:
    tool = WEB / "node_modules" / ".bin" / "openapi-typescript"
    if not tool.exists():
        pytest.skip("gateway/web/node_modules is not installed (make setup installs it)")
    (tmp_path / DOCUMENT).write_text(document(), encoding="utf-8")
    # The command package.json's `types` script runs, with the paths moved to tmp_path.
    script = json.loads((WEB / "package.json").read_text(encoding="utf-8"))["scripts"]["types"]
    moved = {DOCUMENT: str(tmp_path / DOCUMENT), GENERATED: str(tmp_path / "schema.gen.ts")}
    command = [moved.get(arg, arg) for arg in shlex.split(script)]
    assert command[0] == tool.name, f"unexpected `types` script: {script}"
    subprocess.run([str(tool), *command[1:]], cwd=WEB, check=True, capture_output=True, timeout=120)
    fresh = (tmp_path / "schema.gen.ts").read_text(encoding="utf-8")
    assert (WEB / GENERATED).read_text(encoding="utf-8") == fresh, STALE
