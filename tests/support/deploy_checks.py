"""What the deployment tests share: where the files are, the secrets a deployment is given
(`SECRETS`), the settings class of each role a haul container plays, `loaded_settings` to load a
container's environment in that class as the container would at start (refusing variables no
service reads), `dockerfile_stages` and `image_env` to read the Dockerfile with BuildKit's parser
(the image's ENV is where every container's environment starts), and `run` for command-line checkers.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import dockerfile
import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from gateway.settings import GatewaySettings
from jobstore.settings import JobstoreSettings
from worker.settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SECRETS = {
    "POSTGRES_PASSWORD": "5f1b0c9a2e7d4c3b8a",
    "HAUL_SERVICE_TOKEN": "svc-0b7e5d7f6a2c4e1f",
    "HAUL_WORKER_TOKEN": "wrk-9c2d4e6f8a0b1c3d",
    "HAUL_API_TOKEN": "api-3e5f7a9b1c2d4e6f",
}
SETTINGS_OF_ROLE: dict[str, type[BaseSettings]] = {
    "migrate": JobstoreSettings,  # migrations/env.py loads jobstore's settings
    "wait-for-migrations": JobstoreSettings,
    "jobstore": JobstoreSettings,
    "gateway": GatewaySettings,
    "worker": WorkerSettings,
}
KNOWN_VARIABLES = {
    f"HAUL_{name.upper()}" for cls in SETTINGS_OF_ROLE.values() for name in cls.model_fields
} | {"HAUL_ALEMBIC_CONFIG"}  # read by deploy/entrypoint.py


def run(args: list[str | Path], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)


def settings_for(role: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The role's settings object, loaded from exactly `env` (as its container would)."""
    for name in list(os.environ):
        if name.startswith("HAUL_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return SETTINGS_OF_ROLE[role]()


def loaded_settings(where: str, role: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    unknown = {name for name in env if name.startswith("HAUL_")} - KNOWN_VARIABLES
    assert not unknown, f"{where}: no service reads {sorted(unknown)}"
    try:
        return settings_for(role, env, monkeypatch)
    except ValidationError as exc:
        pytest.fail(f"{where} would not start: {exc}")


def dockerfile_stages() -> list[list[Any]]:
    stages: list[list[Any]] = []
    for command in dockerfile.parse_file(str(ROOT / "Dockerfile")):
        if command.cmd == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(command)
    return stages


def image_env() -> dict[str, str]:
    pairs = [c.value for c in dockerfile_stages()[-1] if c.cmd == "ENV"]
    return {v[i]: v[i + 1] for v in pairs for i in range(0, len(v), 2) if v[i].startswith("HAUL_")}
