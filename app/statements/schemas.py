"""API shapes for statements and bank transactions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.schemas import MoneyOut
from app.reconciliation.schemas import AllocationPublic, SuggestionPublic, WriteOffPublic

TransactionStatus = Literal["matched", "partially_matched", "suggested", "unmatched", "ignored", "returned"]


class CounterpartyPublic(BaseModel):
    name: str | None
    iban: str | None
    bic: str | None


class DirectDebitPublic(BaseModel):
    """A SEPA direct debit: a collection (``r_transaction`` ``paid``), or an R-transaction that undoes one.

    Read from a CODA movement's structured communication 127 (Febelfin CODA 2.6), or from a camt.053 entry with
    a mandate (``MndtId``) or the bank transaction code family PMNT/IDDT or PMNT/RDDT (a return: ``RtrInf``; a
    reversal: ``RvslInd``; camt.053 gives no settlement date or sequence type). A code the standard does not
    list is null rather than guessed; ``reason`` is kept as the bank wrote it (ISO's external reason codes)."""

    r_transaction: Literal["paid", "reject", "return", "refund", "reversal", "cancellation"] | None = Field(
        description="paid: the collection itself; the others take its money back (or it never came)."
    )
    reason: str | None = Field(description="ISO reason code of an R-transaction: AM04, MD06, MS02, AC04...")
    mandate_reference: str | None
    creditor_id: str | None = Field(description="The creditor's SEPA identifier (e.g. BE69ZZZ0123456789).")
    settlement_date: date | None
    sequence_type: Literal["recurrent", "one_off", "first", "last"] | None
    scheme: Literal["core", "b2b"] | None
    refusal: Literal["technical", "unspecified", "debtor_disagrees", "debtor_account"] | None = Field(
        description="Why the debtor's bank refused it; null when paid."
    )


class TransferReturnPublic(BaseModel):
    r_transaction: Literal["return", "reversal"]
    reason: str | None = Field(description="The ISO 20022 reason code the bank gave (AC04 account closed, ...).")


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
    direct_debit: DirectDebitPublic | None = Field(
        description="For a SEPA direct debit (a collection or its return): its own fields; null otherwise."
    )
    transfer_return: TransferReturnPublic | None = Field(
        default=None,
        description="A credit transfer that came back (camt.053 RtrInf: a refund to a closed account) or a booking "
        "the bank reversed (RvslInd); null otherwise, and for direct debits (direct_debit says it).",
    )
    returns: str | None = Field(
        default=None,
        description="Money that came back (a returned collection, a reversal): the payment it reverses, once "
        "found. Its status is then returned, and its allocations take back what that payment settled.",
    )
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
    movements_known: int = Field(
        default=0,
        description="Movements not stored again: the same payments came before through the other kind of source "
        "(a Ponto transaction, then the bank's statement file, or the other way round). Each is one transaction.",
    )
    matching: MatchingCounts
    warnings: list[WarningPublic] = Field(default_factory=list, description="File-level warnings.")
    file_id: str | None = None


class StatementRead(BaseModel):
    """A stored bank statement, as GET .../statements lists it."""

    id: str
    account_iban: str
    currency: str
    sequence: int = Field(
        description="The bank's (CODA electronic, camt.053 legal) sequence number; negative (-1, -2, ...) for the "
        "batches the Ponto Connect feed brings, which a bank does not number."
    )
    paper_sequence: str | None
    date: date  # the statement's date: its new balance's
    opening_date: date
    opening_balance: MoneyOut
    closing_balance: MoneyOut
    transaction_count: int = Field(description="Booked leaf transactions.")
    warnings: list[WarningPublic]
    file_id: str = Field(description="The received file it came in.")
    created_at: datetime = Field(description="When it was stored.")


class StatementDetail(StatementRead):
    transactions: list[TransactionPublic] = Field(description="Its booked leaf transactions, in the bank's order.")
