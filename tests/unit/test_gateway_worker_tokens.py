"""Per-worker tokens: what HAUL_WORKER_TOKENS accepts, and which worker id a token proves."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings
from gateway.worker_tokens import WorkerCredential, WorkerTokens

OLD, NEW, OTHER = "a-old-token-of-20-chars", "a-new-token-of-20-chars", "b-token-of-twenty-chars"
PUBLIC = {"host": "0.0.0.0", "api_token": "t" * 20, "service_token": "s" * 20}


def test_a_per_worker_token_proves_its_id_and_the_shared_one_proves_none() -> None:
    tokens = WorkerTokens("shared-token-of-20-chars", [("a", OLD), ("a", NEW), ("b", OTHER)])
    assert tokens.identify({"token": OLD}) == tokens.identify({"token": NEW}) == WorkerCredential("a")
    assert tokens.identify({"token": OTHER}) == WorkerCredential("b")
    assert tokens.identify({"token": "shared-token-of-20-chars"}) == WorkerCredential(None)
    for wrong in ({"token": "a-old-token-of-20-char"}, {"token": 1}, {}, None, "text"):
        assert tokens.identify(wrong) is None


def test_without_a_shared_token_only_per_worker_tokens_open_the_door() -> None:
    tokens = WorkerTokens(None, [("a", OLD)])
    assert tokens.identify({"token": OLD}) == WorkerCredential("a")
    assert tokens.identify({"token": "dev-worker-token"}) is None


def test_worker_tokens_are_read_as_id_token_pairs_with_empty_entries_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HAUL_WORKER_TOKENS", f" a={OLD}, ,a={NEW},,b={OTHER}=")
    settings = GatewaySettings()
    pairs = [(worker_id, token.get_secret_value()) for worker_id, token in settings.worker_tokens]
    assert pairs == [("a", OLD), ("a", NEW), ("b", OTHER + "=")]
    assert settings.shared_worker_token() is None, "per-worker tokens alone replace the shared default"
    monkeypatch.setenv("HAUL_WORKER_TOKEN", "w" * 20)
    assert GatewaySettings().shared_worker_token() == "w" * 20, "both may be set"
    monkeypatch.setenv("HAUL_WORKER_TOKENS", "")
    monkeypatch.delenv("HAUL_WORKER_TOKEN")
    assert GatewaySettings().shared_worker_token() == "dev-worker-token"


@pytest.mark.parametrize("entry", ["a", "=token-of-twenty-chars", "a=", "a = "])
def test_a_malformed_entry_stops_the_start(entry: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAUL_WORKER_TOKENS", entry)
    with pytest.raises(ValidationError, match="ID=TOKEN"):
        GatewaySettings()


@pytest.mark.parametrize("token", ["short", "dev-worker-token", "dev-anything-long-enough", "changeme"])
def test_per_worker_tokens_follow_the_secret_rules_beyond_loopback_and_in_production(token: str) -> None:
    assert GatewaySettings(worker_tokens=f"a={token}")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="HAUL_WORKER_TOKENS: the token of a"):
        GatewaySettings(worker_tokens=f"a={token}", **PUBLIC)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="HAUL_WORKER_TOKENS: the token of a"):
        GatewaySettings(worker_tokens=f"a={token}", mode="production", api_token="t" * 20)  # type: ignore[arg-type]


def test_real_per_worker_tokens_are_enough_to_listen_publicly() -> None:
    settings = GatewaySettings(worker_tokens=f"a={OLD},b={OTHER}", **PUBLIC)  # type: ignore[arg-type]
    assert settings.shared_worker_token() is None
    with pytest.raises(ValidationError, match="HAUL_WORKER_TOKEN "):
        GatewaySettings(worker_tokens=f"a={OLD}", worker_token="dev-worker-token", **PUBLIC)  # type: ignore[arg-type]


def test_one_token_for_two_workers_or_equal_to_the_shared_one_is_refused() -> None:
    with pytest.raises(ValidationError, match="share a token"):
        GatewaySettings(worker_tokens=f"a={OLD},b={OLD}")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="is the shared"):
        GatewaySettings(worker_tokens=f"a={OLD}", worker_token=OLD)  # type: ignore[arg-type]
