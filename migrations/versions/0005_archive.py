"""Download archive: one row per media already downloaded, keyed by its identity (archive_id),
so a collection listed again skips what an earlier job already fetched.

archive_id is yt-dlp's download-archive form ("<extractor key lowercased> <media id>", or
"url <url>" for a file without a media id); it is unique, so recording a completion twice is a
no-op. job_id is not a foreign key: the archive outlives the job (and its files) on purpose, a
deleted download is still not fetched again unless its archive entry is deleted too. Listed
newest first by (created_at, id).

Revision ID: 0005_archive
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_archive"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("archive_id", sa.Text(), nullable=False),
        sa.Column("extractor", sa.String(128), nullable=False),
        sa.Column("media_id", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False, server_default=""),
        sa.Column("title", sa.Text(), nullable=False, server_default=""),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("archive_id", name="uq_archive_archive_id"),
    )
    op.create_index("ix_archive_created", "archive", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_archive_created", table_name="archive")
    op.drop_table("archive")
