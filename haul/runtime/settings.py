"""What the settings of every haul service share: HAUL_* environment variables, the mode, the
log format, and the one rule for secrets in production.

Each service declares its own fields on a subclass of `HaulSettings` and names the fields that
hold its secrets; the rule itself lives only here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The workers' token out of the box, so a single machine runs without configuration. It is
# printed in the README, so production treats it like any other placeholder.
DEV_WORKER_TOKEN = "dev-worker-token"
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "token", "password", "example", DEV_WORKER_TOKEN}
)
MIN_SECRET_LENGTH = 16
# jobstore's RQ timeout and the worker's time budget are the same limit: one default for both.
DEFAULT_MAX_JOB_DURATION = 6 * 3600.0


def is_real_secret(secret: SecretStr | None) -> bool:
    """False for a missing secret, a known placeholder, or one too short to resist guessing."""
    value = secret.get_secret_value() if secret is not None else ""
    return value.strip().lower() not in PLACEHOLDER_SECRETS and len(value) >= MIN_SECRET_LENGTH


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

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Self:
        if self.mode != "production":
            return self
        for name in self.production_secrets:
            if not is_real_secret(getattr(self, name)):
                raise ValueError(
                    f"HAUL_{name.upper()} must be a real secret of "
                    f"{MIN_SECRET_LENGTH}+ characters in production mode"
                )
        return self
