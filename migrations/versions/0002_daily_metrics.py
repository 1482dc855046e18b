"""Create metrics (daily figures of finished jobs) and the indexes its rollup reads through.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("completed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cancelled", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("bytes_downloaded", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("median_duration_seconds", sa.Float(), nullable=True),
        sa.Column("p95_duration_seconds", sa.Float(), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )
    # A day's figures are range reads: jobs by status and finished_at (status first, so SQLite
    # picks it over ix_jobs_status_heartbeat), retries by the history's status and `at`.
    op.create_index("ix_jobs_status_finished", "jobs", ["status", "finished_at"])
    op.create_index("ix_job_events_to_status_at", "job_events", ["to_status", "at"])


def downgrade() -> None:
    op.drop_index("ix_job_events_to_status_at", table_name="job_events")
    op.drop_index("ix_jobs_status_finished", table_name="jobs")
    op.drop_table("metrics")
