"""Tables for tenants: companies and their bank accounts (API keys: app/core/auth.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from app.core.timeutil import utcnow


class Company(SQLModel, table=True):
    __tablename__ = "companies"

    id: str = Field(primary_key=True, max_length=40)
    vat: str = Field(unique=True, max_length=12)  # normalised BE0123456789
    name: str = Field(max_length=200)
    #: {street?, city?, postal_code?, country}: the seller's address on generated Peppol invoices.
    address: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    email: str | None = Field(default=None, max_length=320)
    #: Per-company overrides of the matching thresholds (see docs/matching.md).
    match_config: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    #: {"amount": "1.00", "percent": "0.5"}: how far short a payment may be and still settle an invoice,
    #: the difference recorded as a write-off. None: payments must be exact.
    payment_tolerance: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)


class BankAccount(SQLModel, table=True):
    __tablename__ = "bank_accounts"

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    #: An account belongs to one company: statements for it are refused for every other company.
    iban: str = Field(unique=True, max_length=40)
    created_at: datetime = Field(default_factory=utcnow)
