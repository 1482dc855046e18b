"""The gateway's settings: one typed object, read from HAUL_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from haul.runtime.settings import (
    DEV_WORKER_TOKEN,
    MIN_SECRET_LENGTH,
    HaulSettings,
    comma_separated,
    is_loopback_host,
    is_real_secret,
    secret_values,
)


class GatewaySettings(HaulSettings):
    production_secrets = ("worker_token", "api_token")
    exposed_secrets = ("api_token", "worker_token", "service_token")
    rotating_secrets = ("api_token", "service_token")
    missing_secret_hints = {
        "api_token": "or set HAUL_ALLOW_UNAUTHENTICATED_PUBLIC=true if you really mean it"
    }

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # Where jobstore listens, and the service token it wants (if any). Of several, comma-separated,
    # the first is sent (see `service_token_to_send`).
    jobstore_address: str = "127.0.0.1:50051"
    service_token: SecretStr | None = None
    # Browsers and REST clients: when set, required as `Authorization: Bearer` and as `auth.token`
    # on /jobs. Several, comma-separated, are all accepted: how the token is rotated.
    api_token: SecretStr | None = None
    # Listening beyond loopback without an API token is refused unless this says so; the
    # workers' and the service token are still required there.
    allow_unauthenticated_public: bool = False
    # Workers authenticate on /worker with this. The development default only suits loopback.
    worker_token: SecretStr = SecretStr(DEV_WORKER_TOKEN)
    # Per-worker tokens, `ID=TOKEN,ID=TOKEN`: a connection with one may only speak as that worker
    # id. One id may have two tokens while it moves to a new one (rotation). With these set and
    # HAUL_WORKER_TOKEN left unset, no shared token is accepted.
    worker_tokens: Annotated[list[tuple[str, SecretStr]], NoDecode] = []
    # Origins allowed by CORS and by Socket.IO; empty means same-origin only.
    cors_origins: Annotated[list[str], NoDecode] = []
    # Shared Socket.IO rooms across gateway instances, and the Redis health check.
    redis_url: str | None = None
    # Finished files live in DATA_DIR/{jobId}/.
    data_dir: Path = Path("var/data")
    # Partial files live in TMP_DIR/{jobId}/ (the workers' HAUL_TMP_DIR): removed on cancel and delete.
    tmp_dir: Path = Path("var/tmp")
    # How often coalesced progress goes to jobstore: 0.25-0.5 s gives 2-4 updates per second per job.
    flush_interval: float = Field(0.3, ge=0.05, le=5.0)
    # Deadline of every jobstore call, in seconds.
    jobstore_deadline: float = Field(5.0, gt=0)
    # Progress events one /worker connection may send per second, after a burst; the excess is
    # dropped and counted. Legitimate senders stay far below (see gateway.ratelimit).
    worker_events_per_second: float = Field(2000.0, gt=0)
    worker_events_burst: float = Field(4000.0, ge=1)
    # Jobs whose progress the gateway remembers at most (the least recently reported go first).
    progress_max_jobs: int = Field(10_000, ge=100)
    # Largest accepted REST request body, in bytes.
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    # A connection has this long to deliver a request's line and headers, counted from when it
    # opened or from the end of its previous response (so it is also the keep-alive idle limit).
    header_timeout: float = Field(10.0, gt=0, le=300)
    # A request has this long to deliver its whole body once its headers are in.
    body_timeout: float = Field(30.0, gt=0, le=3600)
    # Where the built web UI is; served at / when it exists.
    web_dir: Path = Path("gateway/web/dist")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return comma_separated(value)

    @field_validator("worker_tokens", mode="before")
    @classmethod
    def _split_worker_tokens(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = []
        for entry in value.split(","):
            if not entry.strip():
                continue
            worker_id, equals, token = (part.strip() for part in entry.partition("="))
            if not equals or not worker_id or not token:
                raise ValueError("HAUL_WORKER_TOKENS takes ID=TOKEN pairs separated by commas")
            pairs.append((worker_id, token))
        return pairs

    @model_validator(mode="after")
    def _worker_tokens_are_real_and_unambiguous(self) -> Self:
        strict = self.mode == "production" or self.exposure() is not None
        bound: dict[str, str] = {}
        for worker_id, token in self.worker_tokens:
            if strict and not is_real_secret(token):
                raise ValueError(
                    f"HAUL_WORKER_TOKENS: the token of {worker_id} must be a real secret of "
                    f"{MIN_SECRET_LENGTH}+ characters (not a dev-* placeholder) in production mode "
                    "or when other machines can connect"
                )
            text = token.get_secret_value()
            if bound.setdefault(text, worker_id) != worker_id:
                raise ValueError(f"HAUL_WORKER_TOKENS: {bound[text]} and {worker_id} share a token")
            if self.shared_worker_token() == text:
                raise ValueError(
                    f"HAUL_WORKER_TOKENS: the token of {worker_id} is the shared HAUL_WORKER_TOKEN"
                )
        return self

    def api_tokens(self) -> tuple[str, ...]:
        """Every API token REST and /jobs accept; none means the API is open."""
        return secret_values(self.api_token)

    def service_token_to_send(self) -> str | None:
        """The service token the gateway's calls to jobstore carry: the first one listed."""
        return next(iter(secret_values(self.service_token)), None)

    def shared_worker_token(self) -> str | None:
        """The token any worker may use, or None when only per-worker tokens are accepted."""
        if self.worker_tokens and "worker_token" not in self.model_fields_set:
            return None
        return self.worker_token.get_secret_value()

    def _without_unused_shared_token(self, names: tuple[str, ...]) -> tuple[str, ...]:
        if self.shared_worker_token() is None:
            return tuple(name for name in names if name != "worker_token")
        return names

    def secrets_needed_in_production(self) -> tuple[str, ...]:
        return self._without_unused_shared_token(self.production_secrets)

    def exposure(self) -> str | None:
        return None if is_loopback_host(self.host) else f"HAUL_HOST={self.host}"

    def secrets_needed_when_exposed(self) -> tuple[str, ...]:
        if self.api_token is None and self.allow_unauthenticated_public:
            return self._without_unused_shared_token(
                tuple(name for name in self.exposed_secrets if name != "api_token")
            )
        return self._without_unused_shared_token(self.exposed_secrets)
