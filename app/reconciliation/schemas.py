"""API shapes of reconciliation's own resources: allocations, write-offs, suggestions, decisions, the audit trail.

Invoices and transactions show their allocations, write-offs and suggestions in these shapes. The models
describe the OpenAPI document (and check what clients send); app/reconciliation/presenter.py renders them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.schemas import MoneyIn, MoneyOut, StrictInput

#: What a person writes money off for.
WriteOffReason = Literal["payment_difference", "bank_fee", "discount", "manual"]
#: What a write-off shows: also ``returned``, the part of a returned payment no allocation took (the service's own).
WriteOffReasonShown = Literal["payment_difference", "bank_fee", "discount", "manual", "returned"]


class AllocationPublic(BaseModel):
    id: str
    transaction_id: str
    invoice_id: str
    amount: MoneyOut
    method: str
    confidence: float
    reasons: list[dict[str, Any]]
    returns: str | None = Field(
        default=None,
        description="Money that came back: the allocation of the original payment this one takes back off the "
        "invoice (its amount counts against the invoice's amount_paid). None for a payment.",
    )
    created_by: str
    created_at: datetime


class ReturnPublic(BaseModel):
    """Money that came back off an invoice: a returned collection, a reversed payment (issue 40)."""

    allocation_id: str = Field(description="The return allocation; undoing it pays the invoice again.")
    transaction_id: str = Field(description="The R-transaction: the money going back.")
    returns: str = Field(description="The allocation of the original payment it takes back.")
    amount: MoneyOut
    booking_date: str | None = Field(description="The day the bank booked the return (YYYY-MM-DD).")
    reason_code: str | None = Field(description="The ISO 20022 reason code the bank gave (AM04, MD06, ...).")
    reason: str | None = Field(description="That code's text in English; none for a code the code set does not list.")


class WriteOffPublic(BaseModel):
    id: str
    amount: MoneyOut
    reason: WriteOffReasonShown
    invoice_id: str | None = Field(description="The invoice it settles; none for money kept without an invoice.")
    transaction_id: str | None = Field(description="The payment it came with, if any.")
    allocation_id: str | None = Field(description="The allocation it completes; undoing that undoes this.")
    note: str | None
    created_by: str
    created_at: datetime


class SuggestedAllocation(BaseModel):
    invoice_id: str
    amount: MoneyOut
    write_off: MoneyOut = Field(
        default=Decimal("0.00"),
        description="What accepting writes off on that invoice (a shortfall within the payment tolerance).",
    )
    returns: str | None = Field(
        default=None,
        description="A proposed return: the allocation of the original payment that accepting takes back.",
    )


class SuggestionPublic(BaseModel):
    id: str
    score: float
    status: str
    allocations: list[SuggestedAllocation]
    reasons: list[dict[str, Any]]


class AuditEventPublic(BaseModel):
    id: str
    actor: str  # "matcher", "admin", "key:<id>", "ui:<key id>"
    action: str  # allocation.created | allocation.undone | write_off.created | suggestion.accepted | ...
    subject_id: str
    details: dict[str, Any]
    at: datetime


class WriteOffIn(StrictInput):
    amount: MoneyIn
    reason: WriteOffReason = "manual"
    transaction_id: str | None = Field(default=None, max_length=40, description="The payment it comes with.")
    note: str | None = Field(default=None, max_length=500)


class ManualAllocationIn(StrictInput):
    invoice_id: str = Field(min_length=1, max_length=40)
    amount: MoneyIn = Field(description="Positive: how much of the invoice this transaction settles.")
    allow_overpayment: bool = Field(default=False, description="Allow more than the invoice's amount due.")
    apply_tolerance: bool = Field(
        default=True, description="Write off a shortfall within the company's payment tolerance, settling the invoice."
    )


class TransactionWriteOffIn(StrictInput):
    amount: MoneyIn = Field(description="Positive, at most the transaction's unallocated amount.")
    reason: WriteOffReason = "manual"
    note: str | None = Field(default=None, max_length=500)
