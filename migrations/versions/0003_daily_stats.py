"""Rename table metrics to daily_stats: it holds the daily figures of finished jobs, and
"metrics" already means jobstore's Prometheus metrics.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table("metrics", "daily_stats")
    _rename_primary_key("metrics_pkey", "daily_stats_pkey", table="daily_stats")


def downgrade() -> None:
    _rename_primary_key("daily_stats_pkey", "metrics_pkey", table="daily_stats")
    op.rename_table("daily_stats", "metrics")


def _rename_primary_key(old: str, new: str, table: str) -> None:
    # PostgreSQL named the key after the table it was created as; SQLite's keys have no name.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"')
