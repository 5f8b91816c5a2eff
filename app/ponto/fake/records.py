"""What the stand-in holds (organizations, accounts, transactions, tokens, codes, synchronizations) and the two
error answers of its real-API routes (JSON:API and OAuth2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass
class FakeOrganization:
    id: str
    name: str
    account_ids: list[str] = field(default_factory=list)
    integration_id: str | None = None  # None: no active integration with our application


@dataclass
class FakeAccount:
    id: str
    organization_id: str
    iban: str
    currency: str
    holder_name: str
    description: str
    product: str
    financial_institution_id: str
    internal_reference: str
    bank_balance: Decimal  # what the bank holds now
    shown_balance: Decimal  # what the API shows (refreshed by an accountDetails synchronization)
    balance_changed_at: datetime
    authorized_at: datetime
    expires_at: datetime  # authorizationExpirationExpectedAt
    consent_revoked: bool = False
    availability: str = "available"
    synchronized_at: datetime | None = None


@dataclass
class FakeTransaction:
    """One movement: what the bank holds (``fields``/``raw``, ``version``) and what Ponto shows (``shown_*``),
    copied over by a successful synchronization."""

    id: str
    account_id: str
    pending: bool
    fields: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    seq: int | None = None  # Ponto's creation order; None until a synchronization brought it in
    shown_fields: dict[str, Any] = field(default_factory=dict)
    shown_raw: dict[str, Any] = field(default_factory=dict)
    shown_version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    settled: bool = False  # pending only: booked at the bank, leaves the list at the next WithUnsettled sync
    gone: bool = False  # pending only: left the list
    booked_as: str | None = None  # pending only: the booked transaction the bank made of it


@dataclass
class FakeToken:
    value: str
    kind: str  # access | refresh
    client: bool  # a client-credentials token
    organization_id: str | None
    integration_id: str | None
    scope: str
    expires_at: datetime | None
    revoked: bool = False


@dataclass
class FakeCode:
    value: str
    organization_id: str
    integration_id: str
    redirect_uri: str
    challenge: str
    scope: str
    expires_at: datetime
    used: bool = False


@dataclass
class FakeSynchronization:
    id: str
    account_id: str
    organization_id: str
    subtype: str
    status: str
    created_at: datetime
    updated_at: datetime
    steps_left: int
    customer_ip: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    updated_transactions: list[str] = field(default_factory=list)  # created or changed by it
    updated_pending: list[str] = field(default_factory=list)


class FakeError(Exception):
    """A JSON:API error answer of the stand-in's real-API routes."""

    def __init__(
        self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **meta: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers, self.meta = status, code, detail, headers, meta


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
