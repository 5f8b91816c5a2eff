"""UTC time helpers: aware UTC datetimes everywhere, rendered ISO 8601 with a Z."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def json_datetime(value: datetime) -> str:
    """A datetime as pydantic writes it in JSON (ISO 8601, microseconds kept, UTC as Z): for documents built
    without pydantic that must equal the API's own."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
