"""Opaque keyset cursors: a page continues after the last id it returned, stable under inserts."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from app.core.errors import ValidationFailed

MAX_LIMIT = 500

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (at most 500).")]
#: A cursor is url-safe base64 without padding; one the service did not issue is refused (422, "invalid cursor").
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{0,160}$"
CursorQuery = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        description="Opaque cursor from the previous page's next_cursor (url-safe base64); one the service did "
        "not issue is a 422.",
    ),
]


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = ""
    if "_" not in value or len(value) > 60:
        raise ValidationFailed("invalid cursor", errors=[{"loc": "query.cursor", "message": "invalid cursor"}])
    return value


def encode_change_cursor(changed_at: datetime, last_id: str) -> str:
    """A cursor for a listing ordered by change: the last row's change time and id."""
    return encode_cursor(f"{changed_at.astimezone(UTC).isoformat()}|{last_id}")


def decode_change_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, last_id = text.split("|")
        changed_at = datetime.fromisoformat(when)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        changed_at, last_id = None, ""
    if changed_at is None or changed_at.tzinfo is None or "_" not in last_id or len(last_id) > 60:
        raise ValidationFailed(
            "invalid cursor: a listing by change (updated_since) takes the cursor it gave",
            errors=[{"loc": "query.cursor", "message": "invalid cursor"}],
        )
    return changed_at, last_id


def next_cursor(ids: list[str], limit: int) -> str | None:
    """Callers fetch limit + 1 rows; a next page exists only when the extra row came back."""
    return encode_cursor(ids[limit - 1]) if len(ids) > limit else None
