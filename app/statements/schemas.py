"""API shapes for statements and bank transactions."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from app.core.schemas import MoneyOut
from app.reconciliation.schemas import AllocationPublic, SuggestionPublic, WriteOffPublic

TransactionStatus = Literal["matched", "partially_matched", "suggested", "unmatched", "ignored"]


class CounterpartyPublic(BaseModel):
    name: str | None
    iban: str | None
    bic: str | None


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
