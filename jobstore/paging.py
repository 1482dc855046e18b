"""Pages of the jobstore's lists and their tokens.

Every list but a collection's children is newest first and continues after a (created_at, id)
cursor; a collection's children are in entry order after an (entry index, id) cursor. Tokens
are opaque to callers (url-safe base64 without padding) and each kind refuses the other's, so
a token from one list cannot silently page another.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from jobstore.domain.errors import InvalidInput
from jobstore.domain.model import Job
from jobstore.ports import EntryCursor, ListCursor

NOT_ISSUED = "page_token is not one this server issued"


class Dated(Protocol):
    """What a newest-first list orders by: a job, a subscription, an archive entry."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> uuid.UUID: ...


Row = TypeVar("Row")


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    next_page_token: str


def cut_page(rows: list[Row], page_size: int, token_of: Callable[[Row], str]) -> tuple[list[Row], str]:
    """The page out of `page_size + 1` rows read, and the token of what follows ("" at the end):
    the extra row only tells that there is more."""
    if len(rows) <= page_size:
        return rows, ""
    rows = rows[:page_size]
    return rows, token_of(rows[-1])


def after_newest(token: str) -> ListCursor | None:
    """Where a newest-first page starts: None for the first page."""
    return decode_page_token(token) if token else None


def newest_token(row: Dated) -> str:
    return encode_page_token((row.created_at, row.id))


def entry_token(child: Job) -> str:
    return encode_entry_token((child.entry_index, child.id))


def encode_page_token(cursor: ListCursor) -> str:
    raw = f"{cursor[0].isoformat()}|{cursor[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> ListCursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created, _, job_id = raw.partition("|")
        at = datetime.fromisoformat(created)
        return (at if at.tzinfo else at.replace(tzinfo=UTC), uuid.UUID(job_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(NOT_ISSUED) from None


def encode_entry_token(cursor: EntryCursor) -> str:
    raw = f"e{cursor[0]}|{cursor[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_entry_token(token: str) -> EntryCursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not raw.startswith("e"):
            raise ValueError(raw)
        index, _, job_id = raw[1:].partition("|")
        return (int(index), uuid.UUID(job_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(NOT_ISSUED) from None
