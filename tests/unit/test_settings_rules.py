"""The settings every service shares: one secret rule, and names that say which limit they set."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings
from haul.runtime.settings import HaulSettings
from jobstore.adapters.rqueue import rq_job_timeout
from jobstore.settings import JobstoreSettings
from worker.settings import WorkerSettings


@pytest.mark.parametrize("settings", [GatewaySettings, JobstoreSettings, WorkerSettings])
def test_every_service_reads_its_settings_through_the_shared_base(settings: type[HaulSettings]) -> None:
    assert issubclass(settings, HaulSettings)
    assert settings.production_secrets, "each service names the secrets production checks"


@pytest.mark.parametrize("token", [None, "changeme", "dev-worker-token", "short-token"])
def test_jobstore_in_production_refuses_a_missing_or_placeholder_service_token(token: str | None) -> None:
    with pytest.raises(ValidationError, match="HAUL_SERVICE_TOKEN must be a real secret"):
        JobstoreSettings(mode="production", service_token=token)  # type: ignore[arg-type]
    assert JobstoreSettings(mode="production", service_token="a-real-service-token")  # type: ignore[arg-type]


def test_development_mode_runs_without_secrets() -> None:
    assert JobstoreSettings().service_token is None
    assert WorkerSettings().worker_token.get_secret_value() == "dev-worker-token"


def test_the_reapers_heartbeat_timeout_and_the_workers_stall_watchdog_are_separate_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HAUL_HEARTBEAT_TIMEOUT", "7")
    monkeypatch.setenv("HAUL_STALL_TIMEOUT", "3")
    assert JobstoreSettings().heartbeat_timeout == 7
    assert WorkerSettings().stall_timeout == 3


def test_one_maximum_job_duration_sets_the_workers_budget_and_rqs_timeout_behind_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HAUL_MAX_JOB_DURATION", "90.5")
    jobstore, worker = JobstoreSettings(), WorkerSettings()
    assert jobstore.max_job_duration == worker.max_job_duration == 90.5
    assert rq_job_timeout(jobstore.max_job_duration) > worker.max_job_duration
    assert JobstoreSettings.model_fields["max_job_duration"].default == (
        WorkerSettings.model_fields["max_job_duration"].default
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [("HAUL_JOB_TIMEOUT", "HAUL_MAX_JOB_DURATION"), ("HAUL_METRICS_INTERVAL", "HAUL_DAILY_STATS_INTERVAL")],
)
def test_jobstore_refuses_a_renamed_variable_and_names_its_replacement(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    monkeypatch.setenv(old, "60")
    with pytest.raises(ValidationError, match=f"{old} is no longer read; set {new}"):
        JobstoreSettings()


@pytest.mark.parametrize("settings", [GatewaySettings, JobstoreSettings, WorkerSettings])
def test_an_empty_secret_is_no_secret_in_every_service(
    monkeypatch: pytest.MonkeyPatch, settings: type[HaulSettings]
) -> None:
    for name in settings.model_fields:
        if "token" in name:
            monkeypatch.setenv(f"HAUL_{name.upper()}", "")
    loaded = settings()
    for name in settings.model_fields:
        if "token" in name:
            assert settings.model_fields[name].default == getattr(loaded, name), name


@pytest.mark.parametrize("listen", ["0.0.0.0:50051", "[::]:50051", ":50051", "192.168.1.10:50051"])
@pytest.mark.parametrize("token", [None, "", "dev-service-token", "changeme", "short-token"])
def test_jobstore_listening_beyond_loopback_needs_a_real_service_token_in_any_mode(
    listen: str, token: str | None
) -> None:
    with pytest.raises(
        ValidationError, match=f"HAUL_SERVICE_TOKEN must be a real secret.*{re.escape(listen)}"
    ):
        JobstoreSettings(jobstore_listen=listen, service_token=token)  # type: ignore[arg-type]
    real = JobstoreSettings(jobstore_listen=listen, service_token="a-real-service-token")  # type: ignore[arg-type]
    assert real.jobstore_listen == listen


@pytest.mark.parametrize(
    "listen", ["127.0.0.1:50051", "localhost:50051", "[::1]:50051", "unix:/run/haul.sock"]
)
def test_jobstore_on_loopback_runs_without_a_service_token(listen: str) -> None:
    assert JobstoreSettings(jobstore_listen=listen).service_token is None


def test_a_worker_sends_the_development_token_only_to_a_gateway_on_this_machine() -> None:
    assert WorkerSettings(gateway_url="http://localhost:8080").worker_token.get_secret_value()
    with pytest.raises(ValidationError, match=r"HAUL_WORKER_TOKEN must be a real secret.*HAUL_GATEWAY_URL"):
        WorkerSettings(gateway_url="http://gateway.example:8080")
    remote = WorkerSettings(gateway_url="http://gateway.example:8080", worker_token="a-real-worker-token")  # type: ignore[arg-type]
    assert remote.gateway_url == "http://gateway.example:8080"
