"""API shapes for invoices: what clients send, what they get back."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from app.iban import IbanError, normalize_iban
from app.money import CENT
from app.references import ReferenceError_, normalize_reference
from app.schemas import MoneyIn, MoneyOut, StrictInput
from app.vat import VatError, normalize_customer_vat

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class CustomerIn(StrictInput):
    name: str = Field(min_length=1, max_length=200)
    vat: str | None = Field(default=None, max_length=20)
    iban: str | None = None
    email: str | None = Field(default=None, max_length=320)

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return normalize_iban(value)
        except IbanError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value and not _EMAIL.match(value):
            raise ValueError("not an e-mail address")
        return value or None

    @field_validator("vat")
    @classmethod
    def _vat(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return normalize_customer_vat(value)
        except VatError as exc:
            raise ValueError(str(exc)) from None


class DocumentIn(StrictInput):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=100, examples=["application/pdf"])
    content_base64: str = Field(min_length=1)

    @field_validator("content_base64")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise ValueError(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
        return value

    def content(self) -> bytes:
        return base64.b64decode(self.content_base64)


class InvoiceCreate(StrictInput):
    external_id: str = Field(min_length=1, max_length=200, description="The invoicing app's own id; idempotency key.")
    number: str = Field(min_length=1, max_length=100)
    kind: Literal["invoice", "credit_note"] = "invoice"
    issue_date: date
    due_date: date
    currency: str = Field(default="EUR", description="ISO 4217 code.")
    total_amount: MoneyIn
    customer: CustomerIn
    structured_reference: str | None = Field(
        default=None,
        description="OGM/VCS in any usual notation or an ISO 11649 RF reference; generated when absent.",
        examples=["+++090/9337/55493+++"],
    )
    documents: list[DocumentIn] = Field(default_factory=list, max_length=10)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.upper()
        if not _CURRENCY.match(value):
            raise ValueError("must be an ISO 4217 currency code such as EUR")
        return value

    @field_validator("total_amount")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value < CENT:
            raise ValueError("must be greater than zero")
        return value

    @field_validator("structured_reference")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return normalize_reference(value)
        except ReferenceError_ as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _dates(self) -> InvoiceCreate:
        if self.due_date < self.issue_date:
            raise ValueError("due_date must not be before issue_date")
        return self


class BatchCreate(StrictInput):
    invoices: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class AllocationPublic(BaseModel):
    id: str
    transaction_id: str
    invoice_id: str
    amount: MoneyOut
    method: str
    confidence: float
    reasons: list[dict[str, Any]]
    created_by: str
    created_at: datetime


WriteOffReason = Literal["payment_difference", "bank_fee", "discount", "manual"]


class WriteOffPublic(BaseModel):
    id: str
    amount: MoneyOut
    reason: WriteOffReason
    invoice_id: str | None = Field(description="The invoice it settles; none for money kept without an invoice.")
    transaction_id: str | None = Field(description="The payment it came with, if any.")
    allocation_id: str | None = Field(description="The allocation it completes; undoing that undoes this.")
    note: str | None
    created_by: str
    created_at: datetime


class WriteOffIn(StrictInput):
    amount: MoneyIn
    reason: WriteOffReason = "manual"
    transaction_id: str | None = Field(default=None, max_length=40, description="The payment it comes with.")
    note: str | None = Field(default=None, max_length=500)


class CustomerPublic(BaseModel):
    name: str
    vat: str | None
    iban: str | None
    email: str | None


class DeliveryPublic(BaseModel):
    status: Literal["pending", "delivered", "failed", "disabled"]
    attempts: int
    last_error: str | None


class DocumentPublic(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str


class InvoicePublic(BaseModel):
    id: str
    external_id: str
    number: str
    kind: str
    issue_date: date
    due_date: date
    currency: str
    total_amount: MoneyOut
    customer: CustomerPublic
    structured_reference: str
    status: Literal["open", "partially_paid", "paid", "overpaid", "cancelled"]
    amount_paid: MoneyOut = Field(description="Money received: the sum of the allocations.")
    write_off_amount: MoneyOut = Field(description="Settled without money: the sum of the write-offs.")
    amount_due: MoneyOut = Field(description="total_amount - amount_paid - write_off_amount, never below zero.")
    paid_at: date | None
    cancelled_at: datetime | None
    allocations: list[AllocationPublic]
    write_offs: list[WriteOffPublic]
    documents: list[DocumentPublic]
    delivery: DeliveryPublic
    created_at: datetime
    updated_at: datetime


class BatchResult(BaseModel):
    index: int
    external_id: str | None
    status: int
    invoice: InvoicePublic | None = None
    problem: dict[str, Any] | None = None


class BatchResponse(BaseModel):
    results: list[BatchResult]
