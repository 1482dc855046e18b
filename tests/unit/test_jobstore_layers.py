"""jobstore's dependencies point one way: entry points -> service -> ports -> domain, and
adapters -> ports and domain. An adapter that imports the service layer (or a domain module that
imports an adapter) ties storage to use cases; this test fails when one does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

JOBSTORE = Path(__file__).resolve().parents[2] / "jobstore"
ABOVE_ADAPTERS = ("jobstore.service", "jobstore.loops", "jobstore.server", "jobstore.grpcapi")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("path", sorted((JOBSTORE / "adapters").glob("*.py")), ids=lambda p: p.name)
def test_adapters_do_not_import_the_layers_above_them(path: Path) -> None:
    assert not {m for m in imported_modules(path) if within(m, ABOVE_ADAPTERS)}


@pytest.mark.parametrize("path", sorted((JOBSTORE / "domain").glob("*.py")), ids=lambda p: p.name)
def test_the_domain_imports_only_the_domain_and_the_shared_contract(path: Path) -> None:
    jobstore_imports = {m for m in imported_modules(path) if within(m, ("jobstore",))}
    assert all(within(m, ("jobstore.domain",)) for m in jobstore_imports), jobstore_imports


def test_the_ports_depend_on_the_domain_alone() -> None:
    jobstore_imports = {m for m in imported_modules(JOBSTORE / "ports.py") if within(m, ("jobstore",))}
    assert all(within(m, ("jobstore.domain",)) for m in jobstore_imports), jobstore_imports
