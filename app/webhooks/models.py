"""Tables for outbound webhooks: subscribed endpoints and each delivery of an event to one of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.timeutil import utcnow


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: str = Field(primary_key=True, max_length=40)
    #: None: an integrator endpoint that receives the events of every company.
    company_id: str | None = Field(default=None, foreign_key="companies.id", index=True, max_length=40)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_type=JSON)  # ["*"] for all
    secret_encrypted: str = Field(max_length=500)
    enabled: bool = True
    consecutive_failures: int = 0
    disabled_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_order", "endpoint_id", "subject_id", "status", "created_at"),)

    id: str = Field(primary_key=True, max_length=40)
    endpoint_id: str = Field(foreign_key="webhook_endpoints.id", index=True, max_length=40)
    event_id: str = Field(max_length=40)
    event_type: str = Field(max_length=60)
    subject_id: str = Field(max_length=40)
    #: pending (waiting its turn or retrying) | delivered | failed | skipped (endpoint disabled)
    status: str = Field(default="pending", max_length=10)
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    history: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
