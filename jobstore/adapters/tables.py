"""The SQL tables, as SQLAlchemy Core. Alembic migrations create them; the app never does."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

# Timestamps are stored in UTC; SQLite hands them back naive, the repository re-attaches UTC.
Timestamp = sa.DateTime(timezone=True)
# A 64-bit id on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonDoc = sa.JSON().with_variant(JSONB(), "postgresql")
# A document that may be absent: None is stored as SQL NULL (not JSON null), so `IS NULL` finds it.
OptionalJsonDoc = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("options", JsonDoc, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("progress", sa.Float(), nullable=False),
    sa.Column("downloaded_bytes", sa.BigInteger(), nullable=False),
    sa.Column("total_bytes", sa.BigInteger(), nullable=True),
    sa.Column("speed", sa.Float(), nullable=True),
    sa.Column("eta", sa.Float(), nullable=True),
    sa.Column("filename", sa.Text(), nullable=False),
    sa.Column("output_path", sa.Text(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("error_code", sa.String(64), nullable=False),
    sa.Column("error_message", sa.Text(), nullable=False),
    sa.Column("meta", JsonDoc, nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("attempt_base", sa.Integer(), nullable=False),
    sa.Column("max_attempts", sa.Integer(), nullable=False),
    sa.Column("progress_seq", sa.BigInteger(), nullable=False),
    sa.Column("worker_id", sa.String(256), nullable=False),
    sa.Column("idempotency_key", sa.String(256), nullable=True, unique=True),
    sa.Column("request_fingerprint", sa.String(64), nullable=True),
    sa.Column("heartbeat_at", Timestamp, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("started_at", Timestamp, nullable=True),
    sa.Column("finished_at", Timestamp, nullable=True),
    # A collection's child: its parent, position and key (unique within the parent, so a resent
    # report never makes a second child). The foreign key exists on PostgreSQL only (0004).
    sa.Column(
        "parent_id", sa.Uuid(), sa.ForeignKey("jobs.id", deferrable=True, initially="DEFERRED"), nullable=True
    ),
    sa.Column("entry_index", sa.Integer(), nullable=False),
    sa.Column("entry_key", sa.Text(), nullable=True),
    # A collection's summary (jobstore.domain.collections); null for a single download.
    sa.Column("collection", OptionalJsonDoc, nullable=True),
    sa.Index("uq_jobs_parent_entry_key", "parent_id", "entry_key", unique=True),
    # A subscription's check job (0006); no foreign key, so deleting the subscription keeps its jobs.
    sa.Column("subscription_id", sa.Uuid(), nullable=True, index=True),
)

job_events = sa.Table(
    "job_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.Uuid(), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("from_status", sa.String(16), nullable=True),
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(300), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
)

# The download archive (jobstore.domain.archive): one row per media identity, kept when its job
# is deleted (no foreign key), listed newest first (0005_archive).
archive = sa.Table(
    "archive",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("archive_id", sa.Text(), nullable=False, unique=True),
    sa.Column("extractor", sa.String(128), nullable=False),
    sa.Column("media_id", sa.Text(), nullable=False),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("job_id", sa.Uuid(), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_archive_created", "created_at", "id"),
)

# Daily figures of finished jobs (jobstore.domain.stats), one row per UTC day, upserted by the rollup.
daily_stats = sa.Table(
    "daily_stats",
    metadata,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("completed", sa.Integer(), nullable=False),
    sa.Column("failed", sa.Integer(), nullable=False),
    sa.Column("cancelled", sa.Integer(), nullable=False),
    sa.Column("bytes_downloaded", sa.BigInteger(), nullable=False),
    sa.Column("median_duration_seconds", sa.Float(), nullable=True),
    sa.Column("p95_duration_seconds", sa.Float(), nullable=True),
    sa.Column("retries", sa.Integer(), nullable=False),
    # When the row was last recomputed; the latest one tells the next rollup where to resume.
    sa.Column("computed_at", Timestamp, nullable=False),
)

# Subscriptions (jobstore.domain.subscriptions): a source checked every interval_seconds; the due
# time lives here, so every replica agrees on it and a restart keeps it (0006).
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("options", JsonDoc, nullable=False),
    sa.Column("max_items", sa.Integer(), nullable=False),
    sa.Column("interval_seconds", sa.Integer(), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("next_check_at", Timestamp, nullable=False),
    sa.Column("last_checked_at", Timestamp, nullable=True),
    sa.Column("last_error", sa.Text(), nullable=False),
    sa.Column("last_job_id", sa.Uuid(), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_subscriptions_due", "enabled", "next_check_at"),
    sa.Index("ix_subscriptions_created", "created_at", "id"),
)
