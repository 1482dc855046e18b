"""`make run` skips the migrations only when the SQLite file is already at the newest revision:
the launcher reads that itself (no alembic, no second interpreter), so it must agree with alembic."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.support.databases import migrate

ROOT = Path(__file__).resolve().parents[2]


def launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_local_under_test", ROOT / "deploy" / "run_local.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_head_the_launcher_reads_is_alembics() -> None:
    heads = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads()
    assert [launcher().migration_head()] == heads


def test_only_a_sqlite_file_at_the_head_skips_the_migrations(sqlite_template: Path, tmp_path: Path) -> None:
    run_local = launcher()
    current = tmp_path / "current.db"
    shutil.copy(sqlite_template, current)
    assert run_local.schema_is_current(f"sqlite+aiosqlite:///{current}")
    assert run_local.schema_is_current(f"sqlite:///{current}")

    older = tmp_path / "older.db"
    migrate(f"sqlite+aiosqlite:///{older}", "0005_archive")
    assert not run_local.schema_is_current(f"sqlite+aiosqlite:///{older}")

    empty = tmp_path / "empty.db"
    empty.touch()  # no alembic_version table
    assert not run_local.schema_is_current(f"sqlite+aiosqlite:///{empty}")
    assert not run_local.schema_is_current(f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists(), "reading must not create the file"
    # Anything but an SQLite file: alembic decides.
    assert not run_local.schema_is_current("postgresql+asyncpg://haul@127.0.0.1:1/haul")
