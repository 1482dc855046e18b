"""The egress lab as pytest fixtures. A test module loads them with
`pytest_plugins = ["tests.support.egress_fixtures"]`; each module gets its own lab, and its
teardown proves that nothing reached the canary and no relay thread was left running.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support.egress_lab import Lab
from tests.support.egress_targets import ORIGIN_HOST, Canary, Origin, make_media
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("egress-media")
    make_media(folder)
    origin, canary = Origin(folder), Canary()
    origin.start()
    closed = EgressProxy(EgressPolicy([])).run_in_thread()
    guard = EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"])).run_in_thread()
    try:
        yield Lab(origin, canary, closed, guard, folder)
    finally:
        closed.stop()
        guard.stop()
        origin.stop()
        canary.close()
    assert canary.accepted == 0, "something reached the canary"
    assert not [t for t in threading.enumerate() if t.name.startswith("egress")], "relay threads left running"


@pytest.fixture
def control() -> Iterator[Canary]:
    canary = Canary()
    yield canary
    canary.close()
