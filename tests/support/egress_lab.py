"""The egress guard's test lab: the canary, the origin on 127.0.0.2, a closed guard and one that
allows only the origin. `tests.support.egress_fixtures` builds one per test module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support.egress_targets import Canary, Origin
from worker.egress.proxy import EgressProxyThread
from worker.egress.tools import ToolEgress


@dataclass
class Lab:
    origin: Origin
    canary: Canary
    closed: EgressProxyThread  # allows nothing
    guard: EgressProxyThread  # allows 127.0.0.2/32 (the origin) only
    tmp: Path

    def proxy(self, closed: bool = False) -> str:
        return (self.closed if closed else self.guard).proxy.url_for("job-1")

    def egress(self, closed: bool = False) -> ToolEgress:
        """What a job's tools are given by the guard: the object the worker's engines take."""
        return (self.closed if closed else self.guard).proxy.tool_egress("job-1")

    def refused(self) -> int:
        return self.closed.proxy.stats.refused + self.guard.proxy.stats.refused
