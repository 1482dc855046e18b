"""Writes the OpenAPI document to a file without starting a server:
`python -m gateway.openapi_export gateway/web/openapi.json`.

The web UI's types are generated from that file (`npm run types` in `gateway/web`), and
`tests/unit/test_web_types_fresh.py` fails when the committed copies are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gateway.openapi import SPEC


def document() -> str:
    """The document as committed: stable key order, two-space indent, one trailing newline."""
    return json.dumps(SPEC, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m gateway.openapi_export OUT.json", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(document(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
