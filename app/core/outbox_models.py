"""Tables for reliable background work: domain events and the job queue (transactional outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.db import partial_index
from app.core.timeutil import utcnow


class Event(SQLModel, table=True):
    """A webhook-worthy change, written in the same transaction as the change itself."""

    __tablename__ = "events"
    __table_args__ = (
        # The event feed (GET .../events?after=): one company's events by id (ids are time-ordered). It replaced
        # (company_id, created_at), which no query read: every event written kept one index fewer.
        Index("ix_events_company_id", "company_id", "id"),
        # The dispatcher's queue: only events not yet fanned out, in the order it takes them. An index of
        # dispatched_at held every event ever recorded, and each poll sorted the whole backlog to take the
        # oldest few hundred (29 ms a poll at 20,000 waiting, growing with the backlog); this one is read in order.
        Index("ix_events_pending", "created_at", "id", **partial_index("dispatched_at IS NULL")),
    )

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", max_length=40)
    type: str = Field(max_length=60)  # invoice.paid, transaction.unmatched, ...
    subject_id: str = Field(max_length=40)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
    #: Set once the event has been fanned out to the webhook endpoints that want it.
    dispatched_at: datetime | None = Field(default=None)


class Job(SQLModel, table=True):
    """One unit of background work, claimed by exactly one worker at a time."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "run_at"),
        # The claim's round-robin: waiting jobs by company, oldest first (app/core/outbox.py, _next_in_turn); partial,
        # as finished jobs stay in the table as history.
        Index("ix_jobs_pending", "company_id", "run_at", "id", **partial_index("status = 'pending'")),
    )

    id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=40)
    company_id: str | None = Field(default=None, max_length=40, index=True)
    #: Only one pending/running job per key (e.g. "deliver:<invoice id>").
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending", max_length=10)  # pending | running | done | failed
    attempts: int = 0
    #: The same work was asked for while this job ran (and may already have passed the point that would see
    #: it): once done, the job runs again instead of ending, so no request is lost to the dedupe key.
    rerun: bool = False
    run_at: datetime = Field(default_factory=utcnow)
    locked_until: datetime | None = None
    locked_by: str | None = Field(default=None, max_length=80)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class IdempotencyRecord(SQLModel, table=True):
    """A POST answered under an Idempotency-Key, replayed when the same request comes again."""

    __tablename__ = "idempotency_records"

    id: str = Field(primary_key=True, max_length=40)
    #: Hash of credential + key, so two tenants never share a key space.
    scope_key: str = Field(max_length=64, unique=True)
    request_hash: str = Field(max_length=64)
    method: str = Field(max_length=10)
    path: str = Field(max_length=500)
    status_code: int | None = None  # None while the first request is in flight
    response_body: bytes | None = None
    content_type: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
