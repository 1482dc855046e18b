"""jobstore's settings: one typed object, read from HAUL_* environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "token", "password", "example"})


class JobstoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAUL_", extra="ignore")

    # "production" refuses to start without real secrets.
    mode: Literal["development", "production"] = "development"
    # SQLite under var/ is the single-machine default; PostgreSQL is the real target.
    database_url: str = "sqlite+aiosqlite:///var/haul.db"
    # Without Redis nothing is dispatched to workers (jobs stay queued), which suits tests and tools.
    redis_url: str | None = None
    # host:port for the gRPC server.
    jobstore_listen: str = "127.0.0.1:50051"
    # When set, every call but health must carry `authorization: Bearer <token>`.
    service_token: SecretStr | None = None
    queue_name: str = "haul"
    # A running job with no heartbeat for this long is re-queued (or failed when out of attempts).
    stall_timeout: float = Field(60.0, gt=0)
    reap_interval: float = Field(5.0, gt=0)
    # The reconciler's period; new queued jobs are dispatched at once, not on this clock.
    dispatch_interval: float = Field(5.0, gt=0)
    default_max_attempts: int = Field(3, ge=1, le=20)
    # RQ's own timeout for one attempt: the maximum job duration.
    job_timeout: int = Field(6 * 3600, gt=0)
    # Seconds in-flight RPCs get to finish on shutdown.
    shutdown_grace: float = Field(10.0, ge=0)
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> JobstoreSettings:
        if self.mode == "production":
            token = self.service_token.get_secret_value() if self.service_token else ""
            if token.strip().lower() in PLACEHOLDER_SECRETS or len(token) < 16:
                raise ValueError(
                    "HAUL_SERVICE_TOKEN must be a real secret of 16+ characters in production mode"
                )
        return self
