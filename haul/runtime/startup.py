"""Start-up checks shared by the services: fail fast, with a message that says what to change."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError, ResponseError


class StartupProblem(SystemExit):
    """A setting or a dependency that would lose data or fail later; the service must not start."""


def redis_eviction_problem(redis_url: str) -> str | None:
    """Why this Redis could silently drop queued jobs, or None when it cannot.

    RQ keeps the queue in Redis: any `maxmemory-policy` but `noeviction` lets Redis delete
    queued jobs under memory pressure. A server that refuses CONFIG (some managed services)
    cannot be checked and passes; the worker and jobstore log that."""
    client = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except ResponseError:
        return None
    except RedisError as exc:
        return f"cannot reach Redis at the configured HAUL_REDIS_URL: {exc}"
    finally:
        client.close()
    if policy not in (None, "noeviction"):
        return (
            f"Redis has maxmemory-policy {policy}: it may evict queued jobs. "
            "Set `maxmemory-policy noeviction` (redis.conf or CONFIG SET)."
        )
    return None


def check_redis(redis_url: str) -> None:
    problem = redis_eviction_problem(redis_url)
    if problem is not None:
        raise StartupProblem(problem)
