"""The download archive's table (jobstore.domain.archive), as SQLAlchemy Core on PostgreSQL and SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from jobstore.adapters.repository import as_utc
from jobstore.adapters.tables import archive
from jobstore.domain.archive import ArchiveEntry
from jobstore.ports import ListCursor

# Identities looked up per statement: far under either database's limit on bound parameters.
LOOKUP_CHUNK = 500


class SqlArchiveRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, entry: ArchiveEntry) -> bool:
        """Store the entry unless its identity is already archived; True when it was stored."""
        insert = (postgresql.insert if self._conn.dialect.name == "postgresql" else sqlite.insert)(archive)
        statement = insert.values(_to_row(entry)).on_conflict_do_nothing(index_elements=["archive_id"])
        result = await self._conn.execute(statement)
        return bool(result.rowcount)

    async def held(self, archive_ids: Iterable[str]) -> set[str]:
        """Which of these identities the archive holds."""
        wanted = sorted({a for a in archive_ids if a})
        found: set[str] = set()
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            rows = await self._conn.execute(
                sa.select(archive.c.archive_id).where(archive.c.archive_id.in_(chunk))
            )
            found.update(rows.scalars())
        return found

    async def list_page(self, limit: int, after: ListCursor | None) -> list[ArchiveEntry]:
        query = archive.select().order_by(archive.c.created_at.desc(), archive.c.id.desc()).limit(limit)
        if after is not None:
            created, entry_id = after
            query = query.where(
                sa.or_(
                    archive.c.created_at < created,
                    sa.and_(archive.c.created_at == created, archive.c.id < entry_id),
                )
            )
        rows = await self._conn.execute(query)
        return [_from_row(row) for row in rows.mappings()]

    async def get(self, entry_id: uuid.UUID) -> ArchiveEntry | None:
        row = (await self._conn.execute(archive.select().where(archive.c.id == entry_id))).mappings().first()
        return _from_row(row) if row is not None else None

    async def delete(self, entry_id: uuid.UUID) -> None:
        await self._conn.execute(archive.delete().where(archive.c.id == entry_id))


def _to_row(entry: ArchiveEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "archive_id": entry.archive_id,
        "extractor": entry.extractor[:128],
        "media_id": entry.media_id,
        "url": entry.url,
        "title": entry.title,
        "job_id": entry.job_id,
        "created_at": entry.created_at,
    }


def _from_row(row: sa.RowMapping) -> ArchiveEntry:
    created = as_utc(row["created_at"])
    assert created is not None
    return ArchiveEntry(
        id=row["id"],
        archive_id=row["archive_id"],
        extractor=row["extractor"],
        media_id=row["media_id"],
        url=row["url"],
        title=row["title"],
        job_id=row["job_id"],
        created_at=created,
    )
