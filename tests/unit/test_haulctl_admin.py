"""`haul-admin copy-db`'s pure parts: canonical values, the checksum text and the report."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from haulctl import dbcopy
from haulctl.errors import CliError
from haulctl.tablecopy import TableCopy, TableSum, canonical_row, row_text
from jobstore.adapters.tables import job_events

AT = datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=UTC)


def test_values_from_either_database_meet_in_one_form() -> None:
    job_id = uuid.UUID("0b9e3f0e-8a57-4b8e-9a39-5f3c2d1e0a11")
    from_sqlite = {"id": 7, "job_id": job_id.hex, "at": AT.replace(tzinfo=None), "from_status": None,
                   "to_status": "queued", "actor": "api", "reason": "created"}  # fmt: skip
    plus_two = timezone(timedelta(hours=2))
    from_postgres = {**from_sqlite, "job_id": job_id, "at": AT.astimezone(plus_two)}
    assert canonical_row(job_events, from_sqlite) == canonical_row(job_events, from_postgres)
    assert row_text(canonical_row(job_events, from_sqlite)) == (
        '[7,"0b9e3f0e-8a57-4b8e-9a39-5f3c2d1e0a11","2026-11-24T10:00:00.123456+00:00",null,"queued","api","created"]'
    )


def test_dates_and_nulls_have_a_checksum_form_too() -> None:
    daily = sa.Table("daily", sa.MetaData(), sa.Column("day", sa.Date(), primary_key=True),
                     sa.Column("share", sa.Float()), sa.Column("count", sa.Integer()))  # fmt: skip
    row = canonical_row(daily, {"day": date(2026, 11, 24), "share": 1, "count": None})
    assert row_text(row) == '["2026-11-24",1.0,null]', "an integer in a float column is a float"


def test_the_report_redacts_passwords_and_says_what_differs() -> None:
    report = dbcopy.CopyReport(
        "sqlite+aiosqlite:///var/haul.db",
        "postgresql+asyncpg://haul:s3cret@db/haul",
        "0001",
        running_jobs=2,
        forced=True,
    )
    report.tables["jobs"] = dbcopy.TableReport(
        TableCopy(inserted=3, extra=1), TableSum(3, "a" * 64), TableSum(4, "b" * 64)
    )
    text = report.text()
    assert "s3cret" not in text and "haul:***@db" in text
    assert "only in the target (--prune removes them)" in text and "MISMATCH" in text
    assert "2 running job(s)" in text and text.endswith("NOT verified: the databases differ")
    assert report.as_json()["verified"] is False and "s3cret" not in str(report.as_json())


@pytest.mark.parametrize(
    ("source", "target", "complaint"),
    [
        ("mysql://u@h/db", "sqlite+aiosqlite:///t.db", "only sqlite+aiosqlite and postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql://u@h/db", "same database"),
        ("postgresql+asyncpg://u@h/db", "not a url", "not a database URL"),
    ],
)
def test_urls_are_checked_before_anything_connects(source: str, target: str, complaint: str) -> None:
    with pytest.raises(CliError) as caught:
        dbcopy.check_urls(source, target)
    assert complaint in caught.value.message
