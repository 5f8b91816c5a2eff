"""UTC time helpers: aware UTC datetimes everywhere, rendered ISO 8601 with a Z."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware one: SQLite gives times back without their zone, and they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def json_datetime(value: datetime) -> str:
    """A datetime as pydantic writes it in JSON (ISO 8601, microseconds kept, UTC as Z): for documents built
    without pydantic that must equal the API's own.

    The last one written is remembered by identity: the invoices of a batch (or the events of an upload) share
    one ``now``, and writing it anew took a tenth of presenting them. Holding the object keeps its identity
    from being reused by another."""
    global _last_written
    last = _last_written  # one read: another thread may replace it meanwhile, never half of it
    if last[0] is value:
        return last[1]
    text = value.isoformat()
    text = text[:-6] + "Z" if text.endswith("+00:00") else text
    _last_written = (value, text)
    return text


_last_written: tuple[object, str] = (object(), "")
