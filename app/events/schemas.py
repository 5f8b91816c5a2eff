"""API shapes of the event feed: an event as webhooks deliver it, with its id."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

#: Every event type the service records (webhook endpoints subscribe to these; app/webhooks/schemas.py).
EventType = Literal[
    "invoice.paid",
    "invoice.partially_paid",
    "invoice.overpaid",
    "invoice.reopened",
    "invoice.cancelled",
    "invoice.delivered",
    "invoice.delivery_failed",
    "invoice.payment_pending",
    "invoice.pending_expired",
    "transaction.unmatched",
    "transaction.partially_matched",
    "suggestion.created",
    "account.added",
    "codabox.mismatch",
    "account.revoked",
    "consent.expiring",
    "webhook.test",
]


class EventPublic(BaseModel):
    id: str
    type: EventType
    subject_id: str = Field(description="The invoice, transaction or account the event is about.")
    created_at: datetime
    data: dict[str, Any] | None = Field(
        description="The resource as the API showed it when the event happened (null for webhook.test)."
    )
    change: dict[str, Any] = Field(description="What changed (for invoice.reopened by a return: reason).")


class EventFeed(BaseModel):
    items: list[EventPublic]
    has_more: bool = Field(description="More events follow: ask again with after = the last item's id.")
