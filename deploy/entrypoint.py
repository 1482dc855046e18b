#!/usr/bin/env python3
"""The container's entry point, installed in the image as `haul-entrypoint`: one role per container.

    ROLE is jobstore | gateway | worker    the long-running services (the default is gateway)
            migrate                        alembic upgrade head, once, then exit
            wait-for-migrations [SECONDS]  block until the database schema is at the latest
                                           revision: an init step for jobstore where nothing
                                           orders a migration before it (Kubernetes)
            COMMAND [ARGS...]              anything else runs as it is (`sh`, `haul ls`, `alembic current`)

The image's command is the role: `docker run haul worker`, `command: ["worker"]` in compose,
`args: ["worker"]` on Kubernetes.

A service replaces this process (exec), so it is PID 1 in its container and receives the
SIGTERM that starts its graceful shutdown. Settings are the usual HAUL_* variables; the
alembic configuration is HAUL_ALEMBIC_CONFIG (default: alembic.ini in the working directory).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

SERVICES = ("jobstore", "gateway", "worker")
POLL_SECONDS = 2.0


def alembic_config() -> str:
    return os.environ.get("HAUL_ALEMBIC_CONFIG", "alembic.ini")


def run(argv: list[str]) -> None:
    """Replace this process with `argv` (flushing first, so nothing printed is lost)."""
    sys.stdout.flush()
    os.execvp(argv[0], argv)


async def schema_revisions(database_url: str) -> set[str]:
    """The revisions the database is at (empty when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    from jobstore.adapters.db import create_engine

    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            heads = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_heads()
            )
            return set(heads)
    finally:
        await engine.dispose()


def wait_for_migrations(timeout: float | None) -> int:
    """Poll until the database is at the head revision(s) of the migration scripts."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from jobstore.settings import JobstoreSettings

    wanted = set(ScriptDirectory.from_config(Config(alembic_config())).get_heads())
    url = JobstoreSettings().database_url
    deadline = None if timeout is None else time.monotonic() + timeout
    last = ""
    while True:
        try:
            found = asyncio.run(schema_revisions(url))
            state = f"database at {sorted(found) or 'no revision'}, want {sorted(wanted)}"
            if found == wanted:
                print(f"migrations are current ({', '.join(sorted(wanted))})", flush=True)
                return 0
        except Exception as exc:  # the database may not be up yet: keep waiting, say why
            state = f"database not reachable: {type(exc).__name__}: {exc}"
        if state != last:
            print(f"waiting for migrations: {state}", flush=True)
            last = state
        if deadline is not None and time.monotonic() >= deadline:
            print("gave up waiting for migrations", file=sys.stderr, flush=True)
            return 1
        time.sleep(POLL_SECONDS)


def main(args: list[str]) -> int:
    role, rest = (args[0], args[1:]) if args else ("gateway", [])
    if role in SERVICES:
        run([sys.executable, "-m", role, *rest])
    elif role == "migrate":
        run([sys.executable, "-m", "alembic", "-c", alembic_config(), "upgrade", "head", *rest])
    elif role == "wait-for-migrations":
        return wait_for_migrations(float(rest[0]) if rest else None)
    else:
        run(args)
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
