"""Tables for the CodaBox link: each company's connection and every feed entry seen."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.timeutil import utcnow


class CodaboxConnection(SQLModel, table=True):
    __tablename__ = "codabox_connections"

    company_id: str = Field(primary_key=True, foreign_key="companies.id", max_length=40)
    #: not_connected | token_requested | connected
    state: str = Field(default="not_connected", max_length=20)
    username: str | None = Field(default=None, max_length=200)
    password_encrypted: str | None = Field(default=None, max_length=1000)
    last_sync_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class CodaboxFeedEntry(SQLModel, table=True):
    """One CODA document in a company's CodaBox feed: ingested exactly once, then the offset moves past it."""

    __tablename__ = "codabox_feed_entries"

    feed_index: str = Field(primary_key=True, max_length=64)
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    feed_id: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=10)  # pending | ingested | failed
    attempts: int = 0
    last_error: str | None = None
    coda_file_id: str | None = Field(default=None, max_length=40)
    ingested_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class InboundWebhook(SQLModel, table=True):
    """Inbound webhook ids already processed, so a re-delivered webhook does nothing twice."""

    __tablename__ = "inbound_webhooks"

    id: str = Field(primary_key=True, max_length=200)  # the sender's webhook-id
    type: str = Field(max_length=60)
    received_at: datetime = Field(default_factory=utcnow)
