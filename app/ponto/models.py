"""Tables for the Ponto Connect link: each company's connection, its accounts, every transaction seen."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.timeutil import utcnow


class PontoConnection(SQLModel, table=True):
    __tablename__ = "ponto_connections"
    __table_args__ = (Index("ix_ponto_connections_organization", "organization_id"),)

    company_id: str = Field(primary_key=True, foreign_key="companies.id", max_length=40)
    #: not_connected | authorizing (the link is out, its callback not back) | connected | revoked (the company or
    #: Ponto ended the integration, or its refresh token is dead: nothing syncs until it connects again)
    state: str = Field(default="not_connected", max_length=20)
    #: The OAuth ``state`` of the authorization under way (its SHA-256: the callback finds the company by it),
    #: its PKCE verifier (encrypted), and when the link stops working.
    authorization_state_hash: str | None = Field(default=None, max_length=64, index=True)
    code_verifier_encrypted: str | None = Field(default=None, max_length=1000)
    authorization_expires_at: datetime | None = None
    organization_id: str | None = Field(default=None, max_length=64)
    organization_name: str | None = Field(default=None, max_length=200)
    #: Tokens, encrypted at rest. The refresh token rotates: the new one is stored before anything else happens.
    refresh_token_encrypted: str | None = Field(default=None, max_length=4000)
    access_token_encrypted: str | None = Field(default=None, max_length=8000)
    access_token_expires_at: datetime | None = None
    revoked_reason: str | None = None
    last_sync_at: datetime | None = None
    #: When this service last asked Ponto to synchronize (spaced by CODARECON_PONTO_SYNC_SECONDS).
    last_synchronized_at: datetime | None = None
    #: A synchronization with the bank was asked for (the schedule, a person) and the next sync run makes it.
    synchronize_requested: bool = False
    last_error: str | None = None
    connected_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class PontoAccount(SQLModel, table=True):
    """One bank account the company's Ponto integration may read."""

    __tablename__ = "ponto_accounts"

    id: str = Field(primary_key=True, max_length=64)  # Ponto's account id
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    iban: str = Field(max_length=40)
    currency: str = Field(max_length=3)
    description: str | None = Field(default=None, max_length=200)
    #: active | consent_expired (PSD2 consent lapsed: synchronizations fail until the user reauthorizes) |
    #: revoked (taken out of the integration)
    state: str = Field(default="active", max_length=20)
    availability: str | None = Field(default=None, max_length=20)  # Ponto's meta.availability: readonly = maintenance
    authorized_at: datetime | None = None
    consent_expires_at: datetime | None = None
    #: The link where the company's user renews the consent, and the consent end it was made (and told) for.
    reauthorization_url: str | None = Field(default=None, max_length=2000)
    reauthorization_for: datetime | None = None
    #: The newest booked transaction read: the next read starts after it (by position, never by date).
    last_transaction_id: str | None = Field(default=None, max_length=64)
    #: How many batches were stored: batch n is statement -n (app/statements/ponto_reader.py).
    batches: int = 0
    #: The synchronization whose changed transactions were last applied (Ponto's updated-transactions).
    updates_read_for: str | None = Field(default=None, max_length=64)
    synchronized_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class PontoTransaction(SQLModel, table=True):
    """Every booked transaction Ponto gave, once, by Ponto's id (never by its digest, which repeats)."""

    __tablename__ = "ponto_transactions"

    id: str = Field(primary_key=True, max_length=64)  # Ponto's transaction id
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    account_id: str = Field(max_length=64)
    #: stored (a transaction of its own) | known (the same payment came before in a bank file: ``transaction_id``
    #: is that one) | set_aside (cannot be read: ``error`` says why; the feed went on)
    status: str = Field(max_length=12)
    transaction_id: str | None = Field(default=None, max_length=40)
    error: str | None = None
    booking_date: date | None = None
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    #: When Ponto last changed it (its updatedAt), and how often it was seen changed after it was stored.
    updates: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
