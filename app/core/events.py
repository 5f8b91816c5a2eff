"""Record webhook-worthy changes as events, in the same transaction as the change (outbox pattern)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from app.core.ids import new_id
from app.core.outbox_models import Event

#: How long recorded events are kept once fanned out (the event feed's promise; app/events/feed.py purges).
EVENT_RETENTION = timedelta(days=30)

INVOICE_STATUS_EVENTS = {
    "paid": "invoice.paid",
    "partially_paid": "invoice.partially_paid",
    "overpaid": "invoice.overpaid",
    "open": "invoice.reopened",
    "cancelled": "invoice.cancelled",
}


def record_event(session: Session, company_id: str, type_: str, subject_id: str, payload: dict[str, Any]) -> Event:
    event = Event(id=new_id("evt"), company_id=company_id, type=type_, subject_id=subject_id, payload=payload)
    session.add(event)
    return event
