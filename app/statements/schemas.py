"""API shapes for statements and bank transactions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.schemas import MoneyIn, MoneyOut, StrictInput
from app.invoices.schemas import AllocationPublic, WriteOffPublic, WriteOffReason

TransactionStatus = Literal["matched", "partially_matched", "suggested", "unmatched", "ignored"]


class CounterpartyPublic(BaseModel):
    name: str | None
    iban: str | None
    bic: str | None


class SuggestedAllocation(BaseModel):
    invoice_id: str
    amount: MoneyOut
    write_off: MoneyOut = Field(
        default=Decimal("0.00"),
        description="What accepting writes off on that invoice (a shortfall within the payment tolerance).",
    )


class SuggestionPublic(BaseModel):
    id: str
    score: float
    status: str
    allocations: list[SuggestedAllocation]
    reasons: list[dict[str, Any]]


class TransactionPublic(BaseModel):
    id: str
    statement_id: str
    bank_reference: str
    booking_date: date
    value_date: date
    amount: MoneyOut = Field(description="Signed: positive is money in.")
    currency: str
    counterparty: CounterpartyPublic
    communication: str
    structured_reference: str | None
    structured_type: str | None
    structured_content: str | None
    end_to_end_reference: str | None
    transaction_code: str
    kind: str
    status: TransactionStatus
    allocated_amount: MoneyOut = Field(description="Signed like amount: what allocations take of it.")
    written_off_amount: MoneyOut = Field(description="Signed like amount: what write-offs without an invoice keep.")
    unallocated_amount: MoneyOut = Field(
        description="amount - allocated_amount - written_off_amount: money nobody has accounted for yet."
    )
    allocations: list[AllocationPublic]
    write_offs: list[WriteOffPublic]
    suggestions: list[SuggestionPublic]


class WarningPublic(BaseModel):
    code: str
    message: str
    line: int | None = None


class StatementPublic(BaseModel):
    id: str
    account_iban: str
    currency: str
    sequence: int
    date: date
    opening_balance: MoneyOut
    closing_balance: MoneyOut
    transactions: int = Field(description="Number of booked leaf transactions in the statement.")
    warnings: list[WarningPublic]
    duplicate: bool = Field(default=False, description="True when this statement was stored before and skipped.")


class MatchingCounts(BaseModel):
    matched: int
    suggested: int
    unmatched: int


class IngestResponse(BaseModel):
    statements: list[StatementPublic]
    transactions_created: int
    duplicates: int
    matching: MatchingCounts
    warnings: list[WarningPublic] = Field(default_factory=list, description="File-level warnings.")
    file_id: str | None = None


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
