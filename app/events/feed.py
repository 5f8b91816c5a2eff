"""The event feed (issue 41): the events webhooks carry, read by a client that polls instead of (or after being
down for) receiving them. Kept ``RETENTION`` (30 days) once fanned out; then purged by a periodic task."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.core.db import unit_of_work
from app.core.events import EVENT_RETENTION
from app.core.outbox_models import Event
from app.core.timeutil import utcnow
from app.events.resources import data_and_change

RETENTION = EVENT_RETENTION
#: Rows deleted per statement by the purge, so that it never holds the table long.
_PURGE_BATCH = 5000


def list_events(
    session: Session, company_id: str, *, after: str | None, limit: int, types: list[str] | None
) -> list[Event]:
    """The company's events after ``after`` (an event id), oldest first; ``limit`` + 1 rows tell a next page."""
    query = select(Event).where(Event.company_id == company_id)
    if after:
        query = query.where(col(Event.id) > after)
    if types:
        query = query.where(col(Event.type).in_(types))
    return list(session.exec(query.order_by(col(Event.id)).limit(limit + 1)).all())


def event_document(session: Session, event: Event) -> dict[str, Any]:
    """An event as the feed shows it (EventPublic): what a webhook delivery's body carries, with the event's id."""
    data, change = data_and_change(session, event)
    return {
        "id": event.id,
        "type": event.type,
        "subject_id": event.subject_id,
        "created_at": event.created_at,
        "data": data,
        "change": change,
    }


def purge_old_events() -> int:
    """Periodic: forget events fanned out more than RETENTION ago; returns how many."""
    cutoff = utcnow() - RETENTION
    removed = 0
    while True:
        with unit_of_work() as session:
            ids = session.exec(
                select(Event.id)
                .where(col(Event.created_at) < cutoff, col(Event.dispatched_at).is_not(None))
                .limit(_PURGE_BATCH)
            ).all()
            if not ids:
                return removed
            session.execute(delete(Event).where(col(Event.id).in_(ids)))
            removed += len(ids)
