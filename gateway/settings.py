"""The gateway's settings: one typed object, read from HAUL_* environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from haul.runtime.settings import DEV_WORKER_TOKEN, HaulSettings, comma_separated


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GatewaySettings(HaulSettings):
    production_secrets = ("worker_token", "api_token")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # Where jobstore listens, and the service token it wants (if any).
    jobstore_address: str = "127.0.0.1:50051"
    service_token: SecretStr | None = None
    # Browsers and REST clients: when set, required as `Authorization: Bearer` and as `auth.token` on /jobs.
    api_token: SecretStr | None = None
    # Listening beyond loopback without an API token is refused unless this says so.
    allow_unauthenticated_public: bool = False
    # Workers authenticate on /worker with this. The development default only suits loopback.
    worker_token: SecretStr = SecretStr(DEV_WORKER_TOKEN)
    # Origins allowed by CORS and by Socket.IO; empty means same-origin only.
    cors_origins: Annotated[list[str], NoDecode] = []
    # Shared Socket.IO rooms across gateway instances, and the Redis health check.
    redis_url: str | None = None
    # Finished files live in DATA_DIR/{jobId}/.
    data_dir: Path = Path("var/data")
    # How often coalesced progress goes to jobstore: 0.25-0.5 s gives 2-4 updates per second per job.
    flush_interval: float = Field(0.3, ge=0.05, le=5.0)
    # Deadline of every jobstore call, in seconds.
    jobstore_deadline: float = Field(5.0, gt=0)
    # Largest accepted REST request body, in bytes.
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    # Where the built web UI is; served at / when it exists.
    web_dir: Path = Path("gateway/web/dist")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return comma_separated(value)

    @model_validator(mode="after")
    def _refuse_public_without_token(self) -> GatewaySettings:
        if not _is_loopback(self.host) and self.api_token is None and not self.allow_unauthenticated_public:
            raise ValueError(
                f"refusing to listen on {self.host} without HAUL_API_TOKEN; "
                "set one, or set HAUL_ALLOW_UNAUTHENTICATED_PUBLIC=true if you really mean it"
            )
        return self
