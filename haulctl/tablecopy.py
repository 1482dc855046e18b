"""Copying haul's tables between databases, row by row, and the checksum that proves a copy.

Rows are read in pages in primary-key order and turned into canonical Python values (UTC-aware
datetimes, UUIDs, floats for float columns, parsed JSON), which is what gets compared, written
and hashed. So a row read back from the other database compares equal exactly when every
value survived: SQLite's naive timestamps and PostgreSQL's timestamptz, JSON text and JSONB,
CHAR(32) and native UUIDs all meet in the same form.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from jobstore.adapters.tables import metadata

# Every table haul has, parents first (job_events.job_id refers to jobs.id). Each has a
# one-column primary key, by which rows are matched.
TABLES = tuple(metadata.sorted_tables)
PAGE_ROWS = 500

Row = dict[str, Any]


def canonical_value(column: sa.Column[Any], value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(kind, sa.Float):
        return float(value)
    if isinstance(kind, sa.Integer):
        return int(value)
    if isinstance(kind, sa.Uuid):
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return value


def canonical_row(table: sa.Table, row: Mapping[Any, Any]) -> Row:
    return {column.name: canonical_value(column, row[column.name]) for column in table.columns}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def row_text(row: Row) -> str:
    """One line per row for the checksum: every column, in table order, as canonical JSON."""
    return json.dumps(
        [_plain(v) for v in row.values()], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def key_of(table: sa.Table) -> sa.Column[Any]:
    (key,) = table.primary_key.columns
    return key


async def pages(
    conn: AsyncConnection, table: sa.Table, page_rows: int = PAGE_ROWS
) -> AsyncIterator[list[Row]]:
    """The whole table in primary-key order, a page at a time (keyset paging, constant memory)."""
    key = key_of(table)
    last: Any = None
    while True:
        query = sa.select(table).order_by(key).limit(page_rows)
        if last is not None:
            query = query.where(key > last)
        rows = [canonical_row(table, row) for row in (await conn.execute(query)).mappings()]
        if not rows:
            return
        yield rows
        last = rows[-1][key.name]


@dataclass
class TableCopy:
    """What copying one table did to the target."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    # Rows the target has and the source has not (left alone unless pruning).
    extra: int = 0


async def copy_table(
    source: AsyncConnection, target: AsyncConnection, table: sa.Table, tally: TableCopy
) -> None:
    """Upsert every source row into the target by primary key; identical rows are not written."""
    key = key_of(table)
    values = [c for c in table.columns if c is not key]
    update = (
        table.update()
        .where(key == sa.bindparam("k_key"))
        .values({c.name: sa.bindparam(f"v_{c.name}") for c in values})
    )
    async for rows in pages(source, table):
        found = await target.execute(sa.select(table).where(key.in_([r[key.name] for r in rows])))
        existing = {row[key.name]: canonical_row(table, row) for row in found.mappings()}
        inserts, updates = [], []
        for row in rows:
            before = existing.get(row[key.name])
            if before is None:
                inserts.append(row)
            elif before != row:
                updates.append({"k_key": row[key.name], **{f"v_{c.name}": row[c.name] for c in values}})
        if inserts:
            await target.execute(table.insert(), inserts)
        if updates:
            await target.execute(update, updates)
        tally.inserted += len(inserts)
        tally.updated += len(updates)
        tally.unchanged += len(rows) - len(inserts) - len(updates)


async def extra_keys(source: AsyncConnection, target: AsyncConnection, table: sa.Table) -> list[Any]:
    """Primary keys the target holds and the source does not."""
    key = key_of(table)
    extra: list[Any] = []
    last: Any = None
    while True:
        query = sa.select(key).order_by(key).limit(PAGE_ROWS)
        if last is not None:
            query = query.where(key > last)
        keys = list((await target.execute(query)).scalars())
        if not keys:
            return extra
        present = set((await source.execute(sa.select(key).where(key.in_(keys)))).scalars())
        extra += [k for k in keys if k not in present]
        last = keys[-1]


async def delete_keys(target: AsyncConnection, table: sa.Table, keys: list[Any]) -> None:
    key = key_of(table)
    for start in range(0, len(keys), PAGE_ROWS):
        await target.execute(table.delete().where(key.in_(keys[start : start + PAGE_ROWS])))


@dataclass(frozen=True)
class TableSum:
    rows: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "sha256": self.sha256}


async def table_sum(conn: AsyncConnection, table: sa.Table) -> TableSum:
    """The row count and a SHA-256 over every column of every row, in primary-key order."""
    digest, count = hashlib.sha256(), 0
    async for rows in pages(conn, table):
        for row in rows:
            digest.update(row_text(row).encode() + b"\n")
        count += len(rows)
    return TableSum(count, digest.hexdigest())


async def reset_sequences(target: AsyncConnection) -> None:
    """PostgreSQL: move job_events' id sequence past the copied ids, so new events never collide.
    (SQLite needs nothing: an INTEGER PRIMARY KEY continues from the largest id.)"""
    if target.dialect.name != "postgresql":
        return
    await target.execute(
        sa.text(
            "SELECT setval(pg_get_serial_sequence('job_events', 'id'),"
            " COALESCE((SELECT MAX(id) FROM job_events), 0) + 1, false)"
        )
    )
