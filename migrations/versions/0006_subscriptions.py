"""Subscriptions: a source (channel, playlist, feed) checked every interval, each check a
collection job.

The due time (next_check_at) lives in the row, so every jobstore replica agrees on it and a
restart keeps it; due rows are found by (enabled, next_check_at). A check job knows its
subscription through jobs.subscription_id, with no foreign key: deleting a subscription keeps
its downloads (jobstore clears their subscription_id), and SQLite could not add one anyway.

Revision ID: 0006_subscriptions
Revises: 0005_archive
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_subscriptions"
down_revision = "0005_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    timestamp = sa.DateTime(timezone=True)
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False, server_default=""),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column(
            "options", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("max_items", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("next_check_at", timestamp, nullable=False),
        sa.Column("last_checked_at", timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("last_job_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
    )
    op.create_index("ix_subscriptions_due", "subscriptions", ["enabled", "next_check_at"])
    op.create_index("ix_subscriptions_created", "subscriptions", ["created_at", "id"])
    op.add_column("jobs", sa.Column("subscription_id", sa.Uuid(), nullable=True))
    op.create_index("ix_jobs_subscription_id", "jobs", ["subscription_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_subscription_id", table_name="jobs")
    op.drop_column("jobs", "subscription_id")
    op.drop_index("ix_subscriptions_created", table_name="subscriptions")
    op.drop_index("ix_subscriptions_due", table_name="subscriptions")
    op.drop_table("subscriptions")
