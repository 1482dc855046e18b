"""Shared rooms fail loudly when they cannot work."""

from __future__ import annotations

import sys

import pytest

from gateway.rooms import CheckedRedisManager, RoomsUnavailable


def test_a_missing_redis_package_fails_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)  # makes `import redis.asyncio` raise ImportError
    with pytest.raises(RoomsUnavailable, match="redis package is not installed"):
        CheckedRedisManager("redis://127.0.0.1:6379/0")


def test_the_gateway_refuses_to_build_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(RoomsUnavailable):
        create_app(GatewaySettings(redis_url="redis://127.0.0.1:6379/0"))
