"""Which worker a `/worker` connection speaks for, by the token it presented.

The shared `HAUL_WORKER_TOKEN` lets a connection name any worker id. A per-worker token from
`HAUL_WORKER_TOKENS` binds the connection to one id: it may not claim as another worker. Several
tokens may be valid at once (two for one id while it moves to a new one), which is how rotation works.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorkerCredential:
    """What a valid token proves: `worker_id` is the only id it may use, or None for the shared token."""

    worker_id: str | None


class WorkerTokens:
    """Every token `/worker` accepts, each with the worker id it is bound to (None: shared)."""

    def __init__(self, shared: str | None, per_worker: Iterable[tuple[str, str]] = ()) -> None:
        self._tokens: list[tuple[bytes, str | None]] = [
            (token.encode(), worker_id) for worker_id, token in per_worker
        ]
        if shared is not None:
            self._tokens.append((shared.encode(), None))

    def identify(self, auth: Any) -> WorkerCredential | None:
        """The credential behind `auth.token`, or None when it is no valid token."""
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str):
            return None
        presented = token.encode()
        found: WorkerCredential | None = None
        # Compare with every token, without stopping at a match, so timing says nothing about which one.
        for expected, worker_id in self._tokens:
            if hmac.compare_digest(presented, expected):
                found = WorkerCredential(worker_id)
        return found
