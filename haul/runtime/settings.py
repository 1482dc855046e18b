"""What the settings of every haul service share: HAUL_* environment variables, the mode, the
log format, and the rules for secrets.

Each service declares its own fields on a subclass of `HaulSettings` and names the fields that
hold its secrets; the rules themselves live only here:

- an empty secret is no secret: `HAUL_API_TOKEN=` means "not set", never "the empty token";
- production mode needs real secrets;
- in any mode, a service reachable beyond loopback needs real secrets. The `dev-*`
  placeholders only suit a machine where nobody else can connect;
- a token that clients present (`rotating_secrets`: the API and service tokens) may list several
  values separated by commas, to rotate it without interruption: the first is the one a client
  sends, every one listed is accepted, and each one is held to the rules above.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import ClassVar, Literal, Self, get_args

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from haul.runtime.tokens import listed_tokens

# The workers' token out of the box, so a single machine runs without configuration. It is
# printed in the README, so production treats it like any other placeholder.
DEV_WORKER_TOKEN = "dev-worker-token"
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "token", "password", "example", DEV_WORKER_TOKEN}
)
# Development defaults are named dev-*; none of them is a secret anyone could rely on.
PLACEHOLDER_PREFIX = "dev-"
MIN_SECRET_LENGTH = 16
# jobstore's RQ timeout and the worker's time budget are the same limit: one default for both.
DEFAULT_MAX_JOB_DURATION = 6 * 3600.0


def is_real_secret(secret: SecretStr | None) -> bool:
    """False for a missing secret, a known placeholder, or one too short to resist guessing."""
    value = (secret.get_secret_value() if secret is not None else "").strip().lower()
    return (
        value not in PLACEHOLDER_SECRETS
        and not value.startswith(PLACEHOLDER_PREFIX)
        and len(value) >= MIN_SECRET_LENGTH
    )


def secret_values(secret: SecretStr | None) -> tuple[str, ...]:
    """The values a rotating secret lists, first the one to send (see `listed_tokens`)."""
    return listed_tokens(secret.get_secret_value() if secret is not None else None)


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and loopback addresses; False for anything others could reach,
    the wildcards (`0.0.0.0`, `::`, empty) and any other name included."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(address: str) -> str:
    """The host of a `host:port` listen address (`[::]:50051` gives `::`, `:50051` gives "")."""
    return address.rpartition(":")[0].strip("[]")


def comma_separated(value: object) -> object:
    """Turn "a, b,c" (how a list arrives from the environment) into ["a", "b", "c"]."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class HaulSettings(BaseSettings):
    """The base of every service's settings: one typed object read from HAUL_* variables."""

    model_config = SettingsConfigDict(env_prefix="HAUL_", extra="ignore")

    # The fields holding this service's secrets, checked in this order in production mode.
    production_secrets: ClassVar[tuple[str, ...]] = ()
    # The secrets this service needs, in any mode, once `exposure()` names a way in from
    # beyond loopback; checked in this order.
    exposed_secrets: ClassVar[tuple[str, ...]] = ()
    # The secret fields that may list several comma-separated values (see `secret_values`).
    rotating_secrets: ClassVar[tuple[str, ...]] = ()
    # What else an operator may do about a missing exposed secret, by field (an explicit opt-out).
    missing_secret_hints: ClassVar[Mapping[str, str]] = {}
    # Variables this service no longer reads, and what replaced them. Setting one stops the
    # start: an operator's value would otherwise be ignored without a word.
    renamed_variables: ClassVar[Mapping[str, str]] = {}

    # "production" refuses to start without real secrets.
    mode: Literal["development", "production"] = "development"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _refuse_renamed_variables(cls, values: object) -> object:
        for old, new in cls.renamed_variables.items():
            if old in os.environ:
                raise ValueError(f"{old} is no longer read; set {new} instead")
        return values

    @model_validator(mode="before")
    @classmethod
    def _empty_secrets_are_absent(cls, values: object) -> object:
        # Dropping the key lets the field's default apply: None, or a loopback-only placeholder.
        if not isinstance(values, dict):
            return values
        for name, field in cls.model_fields.items():
            if SecretStr not in (field.annotation, *get_args(field.annotation)):
                continue
            value = values.get(name)
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if name in cls.rotating_secrets and isinstance(text, str):
                text = text.replace(",", "")  # a list of nothing but blanks lists no value
            if isinstance(text, str) and not text.strip():
                values = {key: item for key, item in values.items() if key != name}
        return values

    def _unreal_secret(self, name: str) -> str | None:
        """Why the secret field `name` is not real, or None when it is (every value it lists is)."""
        secret = getattr(self, name)
        if name not in self.rotating_secrets:
            return None if is_real_secret(secret) else "it"
        values = secret_values(secret)
        if not values:
            return "it"
        for position, value in enumerate(values, 1):
            if not is_real_secret(SecretStr(value)):
                return "it" if len(values) == 1 else f"its value number {position}"
        return None

    def exposure(self) -> str | None:
        """The setting that lets other machines connect, as `HAUL_X=value`; None on loopback."""
        return None

    def secrets_needed_when_exposed(self) -> tuple[str, ...]:
        """The secret fields `exposure()` makes mandatory; a service may waive one explicitly."""
        return self.exposed_secrets

    def secrets_needed_in_production(self) -> tuple[str, ...]:
        """The secret fields production mode makes mandatory; a service may waive one explicitly."""
        return self.production_secrets

    @model_validator(mode="after")
    def _exposure_needs_real_secrets(self) -> Self:
        exposure = self.exposure()
        if exposure is None:
            return self
        for name in self.secrets_needed_when_exposed():
            secret = getattr(self, name)
            which = self._unreal_secret(name)
            if which is not None:
                hint = self.missing_secret_hints.get(name) if secret is None else None
                raise ValueError(
                    f"HAUL_{name.upper()} must be a real secret of {MIN_SECRET_LENGTH}+ characters "
                    f"(not empty, not a dev-* placeholder) when {exposure} lets other machines connect"
                    + (f", and {which} is not" if which != "it" else "")
                    + (f"; {hint}" if hint else "")
                )
        return self

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Self:
        if self.mode != "production":
            return self
        for name in self.secrets_needed_in_production():
            which = self._unreal_secret(name)
            if which is not None:
                raise ValueError(
                    f"HAUL_{name.upper()} must be a real secret of "
                    f"{MIN_SECRET_LENGTH}+ characters in production mode"
                    + (f", and {which} is not" if which != "it" else "")
                )
        return self
