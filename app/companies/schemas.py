"""API shapes for companies and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from app.core.schemas import AddressIn, AddressPublic, MoneyIn, MoneyOut, PercentIn, StrictInput, checked_email
from app.identifiers.iban import IbanError, normalize_iban
from app.identifiers.vat import VatError, normalize_vat


def _vat(value: str) -> str:
    try:
        return normalize_vat(value)
    except VatError as exc:
        raise ValueError(str(exc)) from None


def _ibans(values: list[str]) -> list[str]:
    try:
        return list(dict.fromkeys(normalize_iban(v) for v in values))
    except IbanError as exc:
        raise ValueError(str(exc)) from None


class PaymentTolerance(StrictInput):
    """How far short of the amount due a payment may be and still settle the invoice (the difference is
    written off as ``payment_difference``). With both, the difference must be within both."""

    amount: MoneyIn | None = Field(default=None, description='A fixed amount, e.g. "1.00".')
    percent: PercentIn | None = Field(default=None, description='A share of the invoice total, e.g. "0.5" (%).')

    @model_validator(mode="after")
    def _something(self) -> PaymentTolerance:
        if self.amount is None and self.percent is None:
            raise ValueError("give amount, percent or both (or null for no tolerance)")
        return self


class PaymentTolerancePublic(BaseModel):
    amount: MoneyOut | None
    percent: str | None


class CompanyCreate(StrictInput):
    vat: str = Field(description="Belgian enterprise/VAT number in any usual notation.", examples=["BE0403200393"])
    name: str = Field(min_length=1, max_length=200)
    bank_accounts: list[str] = Field(default_factory=list, max_length=100, description="IBANs of the company.")
    payment_tolerance: PaymentTolerance | None = Field(default=None, description="Default none: payments are exact.")
    address: AddressIn | None = Field(default=None, description="The seller's address on generated Peppol invoices.")
    email: str | None = Field(default=None, max_length=320)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return checked_email(value)

    @field_validator("vat")
    @classmethod
    def _vat(cls, value: str) -> str:
        return _vat(value)

    @field_validator("bank_accounts")
    @classmethod
    def _accounts(cls, values: list[str]) -> list[str]:
        return _ibans(values)


class CompanyUpdate(StrictInput):
    """Fields to change; omitted fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    bank_accounts: list[str] | None = Field(
        default=None, max_length=100, description="The company's IBANs, all of them (accounts left out are removed)."
    )
    payment_tolerance: PaymentTolerance | None = Field(
        default=None, description="null: payments must be exact (the default)."
    )
    address: AddressIn | None = Field(default=None, description="The seller's address on generated Peppol invoices.")
    email: str | None = Field(default=None, max_length=320)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return checked_email(value)

    @field_validator("bank_accounts")
    @classmethod
    def _accounts(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _ibans(values)


class CompanyPublic(BaseModel):
    id: str
    vat: str
    name: str
    address: AddressPublic | None = None
    email: str | None = None
    bank_accounts: list[str]
    payment_tolerance: PaymentTolerancePublic | None = Field(
        description="How far short a payment may be and still settle an invoice; null: exact."
    )
    created_at: datetime


class ApiKeyCreate(StrictInput):
    scope: Literal["read", "write"]
    name: str | None = Field(default=None, min_length=1, max_length=100, description="What the key is for.")


class ApiKeyRotate(StrictInput):
    grace_seconds: int = Field(
        default=86_400,
        ge=0,
        le=30 * 86_400,
        description="How long the old key keeps working (default a day, at most 30 days; 0: not at all).",
    )


class ApiKeyPublic(BaseModel):
    """A company key as the admin lists it: never its secret."""

    id: str
    name: str | None
    scope: Literal["read", "write"]
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = Field(description="A rotated key works until then.")
    last_used_at: datetime | None = Field(
        description="When a request last came with it (recorded each minute, so up to a minute late); null if never."
    )
    active: bool = Field(description="Accepted now: neither revoked nor past its grace period.")


class ApiKeyCreated(BaseModel):
    id: str
    key: str | None = Field(
        description="The secret key; shown once, store it now. Null in an answer replayed for the same "
        "Idempotency-Key (header Idempotent-Replayed: true): the key is never stored."
    )
    scope: str
    company_vat: str
    name: str | None = None


class MatchingConfigIn(StrictInput):
    """Per-company overrides of the matching policy (see docs/matching.md); omitted fields keep the default."""

    auto_threshold: float | None = Field(default=None, ge=0.5, le=1.0)
    suggest_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    name_threshold: float | None = Field(default=None, ge=50, le=100)


class BankAccountMove(StrictInput):
    """Where a bank account goes (admin): the company that really holds it."""

    to: str = Field(description="VAT number of the company the account moves to.", examples=["BE0417497106"])

    @field_validator("to")
    @classmethod
    def _to(cls, value: str) -> str:
        return _vat(value)


class BankAccountMoved(BaseModel):
    iban: str
    company_vat: str = Field(description="The company that holds the account now.")
    transactions: int = Field(description="Movements of its statements that moved with it (and were matched there).")
