from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings

# What a public gateway needs besides the API token: real workers' and service tokens.
OTHER_SECRETS = {"worker_token": "w" * 24, "service_token": "s" * 24}


def test_defaults_listen_on_loopback_port_8080() -> None:
    settings = GatewaySettings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_listening_beyond_loopback_needs_a_token(host: str) -> None:
    with pytest.raises(ValidationError, match="HAUL_API_TOKEN"):
        GatewaySettings(host=host)
    with pytest.raises(ValidationError, match="HAUL_API_TOKEN"):
        GatewaySettings(host=host, **OTHER_SECRETS)  # type: ignore[arg-type]
    assert GatewaySettings(host=host, api_token="t" * 20, **OTHER_SECRETS).host == host  # type: ignore[arg-type]
    opted_out = GatewaySettings(host=host, allow_unauthenticated_public=True, **OTHER_SECRETS)  # type: ignore[arg-type]
    assert opted_out.host == host


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValidationError, match="HAUL_WORKER_TOKEN"):
        GatewaySettings(mode="production", api_token="a-real-api-token-123")
    with pytest.raises(ValidationError, match="HAUL_API_TOKEN"):
        GatewaySettings(mode="production", worker_token="a-real-worker-token", api_token="changeme")
    ok = GatewaySettings(
        mode="production", worker_token="a-real-worker-token", api_token="a-real-api-token-123"
    )
    assert ok.mode == "production"


def test_cors_origins_come_as_a_comma_separated_list() -> None:
    settings = GatewaySettings(cors_origins="https://a.example, https://b.example")  # type: ignore[arg-type]
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", "10.0.0.5"])
def test_an_empty_api_token_does_not_turn_auth_off_on_a_public_address(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("HAUL_HOST", host)
    monkeypatch.setenv("HAUL_API_TOKEN", "")
    monkeypatch.setenv("HAUL_WORKER_TOKEN", OTHER_SECRETS["worker_token"])
    monkeypatch.setenv("HAUL_SERVICE_TOKEN", OTHER_SECRETS["service_token"])
    with pytest.raises(ValidationError, match=r"HAUL_API_TOKEN .*HAUL_ALLOW_UNAUTHENTICATED_PUBLIC"):
        GatewaySettings()
    monkeypatch.setenv("HAUL_API_TOKEN", "   ")
    with pytest.raises(ValidationError, match="HAUL_API_TOKEN"):
        GatewaySettings()


def test_an_empty_api_token_on_loopback_means_no_token() -> None:
    assert GatewaySettings(api_token="").api_token is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("worker_token", None),  # the development default, dev-worker-token
        ("worker_token", "dev-worker-token"),
        ("worker_token", ""),
        ("worker_token", "dev-anything-long-enough"),
        ("service_token", None),
        ("service_token", ""),
        ("service_token", "short"),
        ("api_token", "changeme"),
    ],
)
@pytest.mark.parametrize("mode", ["development", "production"])
def test_a_public_gateway_refuses_placeholder_secrets_in_any_mode(
    name: str, value: str | None, mode: str
) -> None:
    values: dict[str, object] = {"host": "0.0.0.0", "api_token": "a" * 24, **OTHER_SECRETS, "mode": mode}
    if value is None:
        del values[name]
    else:
        values[name] = value
    with pytest.raises(ValidationError, match=f"HAUL_{name.upper()} must be a real secret"):
        GatewaySettings(**values)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=f"HAUL_{name.upper()} must be a real secret"):
        GatewaySettings(**{**values, "allow_unauthenticated_public": True})  # type: ignore[arg-type]


def test_the_development_worker_token_still_works_on_loopback() -> None:
    assert GatewaySettings(host="localhost").worker_token.get_secret_value() == "dev-worker-token"
    assert GatewaySettings(host="::1").worker_token.get_secret_value() == "dev-worker-token"
