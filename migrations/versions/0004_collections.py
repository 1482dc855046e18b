"""Collections: a job may be a collection's child (parent_id, entry_index, entry_key) or a
collection itself (collection, its summary).

Children are unique per (parent_id, entry_key), so a resent report or a second attempt never
duplicates one, and are listed by (parent_id, entry_index). Top-level jobs are listed by
(parent_id, created_at): parent_id IS NULL is the leading key.

The foreign key from parent_id to jobs.id (deferred to commit) is PostgreSQL's only: SQLite can add a column but
not a constraint, and rebuilding jobs (batch mode) would cascade-delete job_events through
their own foreign key. jobstore removes children itself before their parent in any case.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_jobs_parent_id"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("parent_id", sa.Uuid(), nullable=True))
    op.add_column("jobs", sa.Column("entry_index", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("entry_key", sa.Text(), nullable=True))
    op.add_column(
        "jobs",
        sa.Column("collection", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")),
    )
    if _postgresql():
        # Checked at commit: `haul admin copy-db` copies jobs in id order, children before their
        # parent as often as not, all in one transaction.
        op.create_foreign_key(
            FOREIGN_KEY, "jobs", "jobs", ["parent_id"], ["id"], deferrable=True, initially="DEFERRED"
        )
    # A unique index rather than a constraint: SQLite can create one without rebuilding the table.
    op.create_index("uq_jobs_parent_entry_key", "jobs", ["parent_id", "entry_key"], unique=True)
    op.create_index("ix_jobs_parent_entry", "jobs", ["parent_id", "entry_index", "id"])
    op.create_index("ix_jobs_parent_created", "jobs", ["parent_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_parent_created", table_name="jobs")
    op.drop_index("ix_jobs_parent_entry", table_name="jobs")
    op.drop_index("uq_jobs_parent_entry_key", table_name="jobs")
    if _postgresql():
        op.drop_constraint(FOREIGN_KEY, "jobs", type_="foreignkey")
    # Children would outlive their parent as top-level jobs that no longer know it: remove them.
    op.execute("DELETE FROM job_events WHERE job_id IN (SELECT id FROM jobs WHERE parent_id IS NOT NULL)")
    op.execute("DELETE FROM jobs WHERE parent_id IS NOT NULL")
    for column in ("collection", "entry_key", "entry_index", "parent_id"):
        op.drop_column("jobs", column)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"
