"""Alembic environment: async engines, PostgreSQL or SQLite, URL from jobstore's settings."""

from __future__ import annotations

import asyncio
import logging.config

from alembic import context
from sqlalchemy.engine import Connection

from jobstore.adapters.db import create_engine, is_sqlite
from jobstore.settings import JobstoreSettings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """`-x url=...`, else a URL set by a calling program, else HAUL_DATABASE_URL."""
    given = context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("database_url")
    return str(given or JobstoreSettings().database_url)


def run_migrations(connection: Connection) -> None:
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables when a migration needs it.
    context.configure(connection=connection, render_as_batch=is_sqlite(database_url()))
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async_migrations())
