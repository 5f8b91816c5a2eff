"""API shapes for outbound webhook endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from pydantic import BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from app.core.config import get_settings
from app.core.schemas import StrictInput
from app.events.schemas import EventType
from app.webhooks.network import Policy, TargetRefused, check_syntax

#: The event types an endpoint subscribes to: every type the service records (app/events/schemas.py).
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


class EndpointCreate(StrictInput):
    url: str = Field(min_length=8, max_length=2000, examples=["https://app.example/hooks/codarecon"])
    events: list[str] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        json_schema_extra={"items": {"type": "string", "enum": ["*", *EVENT_TYPES]}},
        description='Event types, or ["*"] for all. An invoice.reopened caused by money that came back (a '
        'returned collection, a reversal) has change.reason "returned" and change.return {amount, booking_date, '
        "reason_code, reason, transaction_id, ...}.",
    )
    company_vat: str | None = Field(default=None, description="Admin only: limit to one company (default all).")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str:
        if value is None:  # only an explicit null gets here: PATCH leaves out what it does not change
            raise ValueError("must be a URL, not null")
        if not 8 <= len(value) <= 2000:
            raise ValueError("must be a URL of 8 to 2000 characters")
        # The form only; where the host resolves to is checked when the endpoint is stored.
        try:
            check_syntax(value, Policy.from_settings(get_settings()))
        except TargetRefused as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str]:
        if value is None:
            raise ValueError("must be a list of event types, not null")
        unknown = [e for e in value if e != "*" and e not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
        if not value:
            raise ValueError("subscribe to at least one event type (or '*')")
        return sorted(set(value))


class EndpointUpdate(StrictInput):
    """What changes; a field left out stays as it is. ``events`` and ``url`` have no null (documented so): an
    explicit null is refused, as there is no endpoint without them."""

    enabled: bool | None = None
    # The bounds are the validators' (a Field bound on an explicit null raised a TypeError: a 500), shown in
    # the document as on EndpointCreate.
    events: list[str] | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra={"minItems": 1, "items": {"type": "string", "enum": ["*", *EVENT_TYPES]}},
    )
    url: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra={"minLength": 8, "maxLength": 2000})

    _url = field_validator("url")(EndpointCreate._url.__func__)  # type: ignore[attr-defined]
    _events = field_validator("events")(EndpointCreate._events.__func__)  # type: ignore[attr-defined]


class EndpointPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    company_vat: str | None
    enabled: bool
    consecutive_failures: int
    disabled_reason: str | None
    created_at: datetime


class EndpointCreated(EndpointPublic):
    secret: str | None = Field(
        description="Signing secret (Standard Webhooks, whsec_...). Shown once: null in an answer replayed for "
        "the same Idempotency-Key (header Idempotent-Replayed: true)."
    )


class DeliveryPublic(BaseModel):
    id: str
    event_id: str
    event_type: str
    subject_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    history: list[dict[str, Any]]
    created_at: datetime
