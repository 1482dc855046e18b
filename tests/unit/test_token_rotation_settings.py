"""HAUL_API_TOKEN and HAUL_SERVICE_TOKEN may list several values (rotation): the first is sent,
every one is accepted, and each is held to the secret rules."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from gateway.settings import GatewaySettings
from haul.runtime.settings import secret_values
from haul.runtime.tokens import token_accepted
from jobstore.grpcapi.auth import ServiceTokenInterceptor
from jobstore.settings import JobstoreSettings

NEW, OLD = "new-token-0123456789abcdef", "old-token-0123456789abcdef"
OTHER_SECRETS = {"worker_token": "w" * 24}


@pytest.mark.parametrize(
    ("text", "values"),
    [
        (None, ()),
        ("", ()),
        (" , ,", ()),
        ("one", ("one",)),
        (f" {NEW} , {OLD},", (NEW, OLD)),
    ],
)
def test_a_rotating_secret_lists_its_values_first_the_one_to_send(
    text: str | None, values: tuple[str, ...]
) -> None:
    assert secret_values(SecretStr(text) if text is not None else None) == values


def test_the_gateway_accepts_every_api_token_and_sends_the_first_service_token() -> None:
    settings = GatewaySettings(api_token=f"{NEW},{OLD}", service_token=f"{NEW}, {OLD}")  # type: ignore[arg-type]
    assert settings.api_tokens() == (NEW, OLD)
    assert settings.service_token_to_send() == NEW
    assert GatewaySettings().api_tokens() == () and GatewaySettings().service_token_to_send() is None


def test_jobstore_accepts_every_listed_service_token() -> None:
    settings = JobstoreSettings(service_token=f"{NEW},{OLD}")  # type: ignore[arg-type]
    assert settings.accepted_service_tokens() == (NEW, OLD)
    assert JobstoreSettings().accepted_service_tokens() == ()


@pytest.mark.parametrize("text", ["", ",", " , "])
def test_a_list_of_nothing_is_no_token(text: str) -> None:
    assert GatewaySettings(api_token=text).api_token is None  # type: ignore[arg-type]
    assert JobstoreSettings(service_token=text).service_token is None  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"HAUL_API_TOKEN must be a real secret.*ALLOW_UNAUTHENTICATED"):
        GatewaySettings(host="0.0.0.0", api_token=text, service_token=NEW, **OTHER_SECRETS)  # type: ignore[arg-type]


@pytest.mark.parametrize("weak", ["short", "dev-rotated-but-a-placeholder", "changeme"])
@pytest.mark.parametrize("position", [0, 1])
def test_beyond_loopback_every_listed_api_token_must_be_real(weak: str, position: int) -> None:
    tokens = [NEW, NEW.replace("new", "two")]
    tokens[position] = weak
    with pytest.raises(
        ValidationError, match=rf"HAUL_API_TOKEN must be a real secret.*value number {position + 1}"
    ):
        GatewaySettings(host="0.0.0.0", api_token=",".join(tokens), service_token=NEW, **OTHER_SECRETS)  # type: ignore[arg-type]
    assert GatewaySettings(api_token=",".join(tokens)).api_tokens() == tuple(tokens), "loopback: no rule"


@pytest.mark.parametrize("mode_or_listen", ["production", "0.0.0.0:50051"])
def test_jobstore_holds_every_listed_service_token_to_the_rules(mode_or_listen: str) -> None:
    where = {"mode": "production"} if mode_or_listen == "production" else {"jobstore_listen": mode_or_listen}
    with pytest.raises(ValidationError, match=r"HAUL_SERVICE_TOKEN must be a real secret.*value number 2"):
        JobstoreSettings(service_token=f"{NEW},dev-service-token-0123", **where)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="HAUL_SERVICE_TOKEN must be a real secret"):
        JobstoreSettings(service_token=" , ", **where)  # type: ignore[arg-type]
    assert JobstoreSettings(service_token=f"{NEW},{OLD}", **where).accepted_service_tokens() == (NEW, OLD)  # type: ignore[arg-type]


def test_the_shared_worker_token_is_not_split() -> None:
    # Only the API and service tokens rotate this way; workers rotate with HAUL_WORKER_TOKENS.
    settings = GatewaySettings(worker_token=f"{NEW},{OLD}")  # type: ignore[arg-type]
    assert settings.shared_worker_token() == f"{NEW},{OLD}"


def test_a_presented_token_is_accepted_only_when_listed() -> None:
    assert token_accepted(NEW, (NEW, OLD)) and token_accepted(OLD.encode(), (NEW.encode(), OLD.encode()))
    assert not token_accepted("revoked-token-0123456789", (NEW, OLD))
    assert not token_accepted(NEW[:-1], (NEW, OLD)) and not token_accepted(NEW + "x", (NEW, OLD))
    assert not token_accepted("", (NEW,)) and not token_accepted(NEW, ())
    assert not token_accepted("\udcff" + NEW, (NEW,)), "an undecodable header is refused, not a crash"


def test_the_service_token_interceptor_needs_a_token() -> None:
    with pytest.raises(ValueError, match="at least one token"):
        ServiceTokenInterceptor(())
