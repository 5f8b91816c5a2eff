"""Tables for the CodaBox link: each company's connection and every feed entry seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from app.core.timeutil import utcnow


class CodaboxConnection(SQLModel, table=True):
    __tablename__ = "codabox_connections"

    company_id: str = Field(primary_key=True, foreign_key="companies.id", max_length=40)
    #: not_connected | token_requested | connected | mismatch (a statement of another enterprise came through
    #: the feed: syncing stops until an admin resumes or disconnects)
    state: str = Field(default="not_connected", max_length=20)
    username: str | None = Field(default=None, max_length=200)
    password_encrypted: str | None = Field(default=None, max_length=1000)
    #: Whom CodaBox says the credentials serve: [{id, name, code}] from pod-client's feed_clients.
    feed_clients: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    #: Set when no feed client's name resembles the company's (a warning for a person, never a refusal).
    name_warning: str | None = None
    #: Why the connection is in ``mismatch``: the foreign holder and the feed entry that named it.
    mismatch: str | None = None
    #: CodaBox's fetch_delay (seconds): the least interval between two polls of this company's feed.
    fetch_delay: int | None = None
    #: When the feed was last listed (the poll that fetch_delay spaces out).
    last_polled_at: datetime | None = None
    #: The statement format downloaded: the preferred one when CodaBox offers it for CODA, else "cod".
    statement_format: str | None = Field(default=None, max_length=10)
    last_sync_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class CodaboxFeedEntry(SQLModel, table=True):
    """One entry of a company's CodaBox feed: a bank statement ingested exactly once, or recorded with why it
    was not (the offset moves past an entry only once it is one or the other)."""

    __tablename__ = "codabox_feed_entries"

    feed_index: str = Field(primary_key=True, max_length=64)
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    feed_id: str = Field(max_length=64)
    #: pending | ingested | failed (unreadable, or could not be stored) | skipped (not a bank statement) |
    #: foreign (a statement of another enterprise: nothing of it stored)
    status: str = Field(default="pending", max_length=10)
    document_model: str | None = Field(default=None, max_length=40)  # CodaBox's, e.g. coda, sales_invoice
    #: The enterprise number a foreign statement named.
    holder_number: str | None = Field(default=None, max_length=20)
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
