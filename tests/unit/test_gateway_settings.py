from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings


def test_defaults_listen_on_loopback_port_8080() -> None:
    settings = GatewaySettings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_listening_beyond_loopback_needs_a_token(host: str) -> None:
    with pytest.raises(ValidationError, match="HAUL_API_TOKEN"):
        GatewaySettings(host=host)
    assert GatewaySettings(host=host, api_token="t" * 20).host == host
    assert GatewaySettings(host=host, allow_unauthenticated_public=True).host == host


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
