"""Opaque keyset cursors: a page continues after the last id it returned, stable under inserts."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Query

from app.core.errors import ValidationFailed

MAX_LIMIT = 500

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (at most 500).")]
CursorQuery = Annotated[str | None, Query(description="Opaque cursor from the previous page's next_cursor.")]


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


def next_cursor(ids: list[str], limit: int) -> str | None:
    """Callers fetch limit + 1 rows; a next page exists only when the extra row came back."""
    return encode_cursor(ids[limit - 1]) if len(ids) > limit else None
