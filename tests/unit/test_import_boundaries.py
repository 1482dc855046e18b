"""The gateway and the worker know each other only through the wire and `haul.contract` (DESIGN):
neither package may import the other, at module level or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each package, and the one it must never import.
FORBIDDEN = {"gateway": "worker", "worker": "gateway"}


def imported_packages(source: str) -> set[str]:
    """The top-level package of every absolute import in `source` (relative ones stay inside)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def modules_of(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "node_modules" not in p.parts)


def test_the_import_reader_sees_every_form_of_import() -> None:
    source = (
        "import os.path\n"
        "from worker.naming import safe_filename\n"
        "from . import sibling\n"
        "def late():\n"
        "    import gateway.rest as rest\n"
    )
    assert imported_packages(source) == {"os", "worker", "gateway"}


@pytest.mark.parametrize(("package", "other"), sorted(FORBIDDEN.items()))
def test_a_package_never_imports_the_other(package: str, other: str) -> None:
    modules = modules_of(package)
    assert len(modules) > 5, f"found too few modules under {package}/ to trust this check"
    offenders = [
        str(path.relative_to(ROOT))
        for path in modules
        if other in imported_packages(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"{package}/ imports {other}: {offenders}"
