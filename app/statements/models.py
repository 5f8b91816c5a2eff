"""Tables for received bank statement files (CODA, camt.053), their statements and every booked movement."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import Money, partial_index
from app.core.timeutil import utcnow


class StatementFile(SQLModel, table=True):
    """A bank statement file as received, whatever its format (the table keeps its first name)."""

    __tablename__ = "coda_files"

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    sha256: str = Field(max_length=64, index=True)
    size: int
    encoding: str = Field(max_length=20)
    source: str = Field(default="upload", max_length=20)  # "upload" | "codabox": its source's name (sources.py)
    content: bytes = Field(sa_type=LargeBinary)  # the bytes exactly as received
    warnings: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    received_at: datetime = Field(default_factory=utcnow)


class Statement(SQLModel, table=True):
    __tablename__ = "statements"
    __table_args__ = (
        # One statement = account + currency + CODA sequence + date; re-sent statements are skipped.
        UniqueConstraint("account_iban", "currency", "sequence", "date", name="uq_statements_identity"),
    )

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    bank_account_id: str = Field(foreign_key="bank_accounts.id", max_length=40)
    coda_file_id: str = Field(foreign_key="coda_files.id", max_length=40)
    account_iban: str = Field(max_length=40)
    currency: str = Field(max_length=3)
    sequence: int
    paper_sequence: str | None = Field(default=None, max_length=10)
    date: date
    opening_date: date
    opening_balance: Decimal = Field(sa_type=Money)
    closing_balance: Decimal = Field(sa_type=Money)
    transaction_count: int = 0
    warnings: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)


class BankTransaction(SQLModel, table=True):
    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_company_status", "company_id", "status", "id"),
        Index("ix_transactions_company_id_order", "company_id", "id"),
        Index("ix_transactions_company_reference", "company_id", "structured_reference"),
        # A returned collection is traced to its original by mandate (issue 40): few movements have one.
        Index(
            "ix_transactions_company_mandate",
            "company_id",
            "mandate_reference",
            **partial_index("mandate_reference IS NOT NULL"),
        ),
        # How a return finds its original (app/reconciliation/returns.py): by end-to-end id or by account.
        Index(
            "ix_transactions_company_end_to_end",
            "company_id",
            "end_to_end_reference",
            **partial_index("end_to_end_reference IS NOT NULL"),
        ),
        Index(
            "ix_transactions_company_counterparty",
            "company_id",
            "counterparty_iban",
            **partial_index("counterparty_iban IS NOT NULL"),
        ),
        Index(
            "ix_transactions_returns", "returns_transaction_id", **partial_index("returns_transaction_id IS NOT NULL")
        ),
    )

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", max_length=40)
    statement_id: str = Field(foreign_key="statements.id", index=True, max_length=40)
    line: int
    sequence: int
    detail: int = 0
    kind: str = Field(max_length=10)  # movement | total | detail (totals are kept, never exposed)
    bank_reference: str = Field(max_length=40)
    booking_date: date
    value_date: date
    amount: Decimal = Field(sa_type=Money)  # signed: + money in
    currency: str = Field(max_length=3)
    transaction_code: str = Field(max_length=8)
    counterparty_name: str | None = Field(default=None, max_length=70)
    counterparty_iban: str | None = Field(default=None, max_length=40)
    counterparty_bic: str | None = Field(default=None, max_length=11)
    communication: str = ""
    structured_type: str | None = Field(default=None, max_length=3)
    structured_content: str | None = Field(default=None, max_length=200)
    structured_reference: str | None = Field(default=None, max_length=40)
    end_to_end_reference: str | None = Field(default=None, max_length=40)
    #: A SEPA direct debit (a collection, or an R-transaction undoing one): its mandate, and all its fields as
    #: the API shows them (``DirectDebitPublic``); null for every other movement.
    mandate_reference: str | None = Field(default=None, max_length=35)
    direct_debit: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    #: A transfer that came back or a booking the bank reversed (not a direct debit): ``TransferReturnPublic``.
    transfer_return: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    #: An R-transaction (money that came back): the original payment or collection it reverses, once found.
    returns_transaction_id: str | None = Field(default=None, max_length=40)
    #: matched | partially_matched | suggested | unmatched | ignored (totals, and what a person set aside) |
    #: returned (an R-transaction whose money is all accounted for by the original it reverses).
    status: str = Field(default="unmatched", max_length=20)
    #: Signed like ``amount``: what allocations take of it (credit notes count against invoices).
    amount_allocated: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    #: Signed like ``amount``: what write-offs without an invoice account for.
    amount_written_off: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    created_at: datetime = Field(default_factory=utcnow)


class MovementTwin(SQLModel, table=True):
    """A movement (``twins.py``) of a statement that is a payment stored before from the other kind of source."""

    __tablename__ = "movement_twins"
    __table_args__ = (Index("ix_movement_twins_transaction", "transaction_id"),)

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    #: The statement it appeared in again, and where in it.
    statement_id: str = Field(foreign_key="statements.id", max_length=40)
    line: int
    bank_reference: str = Field(max_length=40)
    #: The transaction it is: stored from the first source that brought it.
    transaction_id: str = Field(foreign_key="transactions.id", max_length=40)
    booking_date: date
    amount: Decimal = Field(sa_type=Money)
    created_at: datetime = Field(default_factory=utcnow)


class PendingPayment(SQLModel, table=True):
    """A payment the bank shows as pending (Ponto's pending transactions): not booked, never money on an
    invoice. One with a reference to an open invoice counts in its ``pending_amount`` until it is booked (its
    booked twin settles the invoice), or until it expires unbooked (``pending.py``)."""

    __tablename__ = "pending_payments"
    __table_args__ = (
        UniqueConstraint("company_id", "source", "external_id", name="uq_pending_payments_external"),
        Index("ix_pending_payments_company_state", "company_id", "state"),
        Index("ix_pending_payments_invoice", "invoice_id", **partial_index("invoice_id IS NOT NULL")),
    )

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", max_length=40)
    source: str = Field(max_length=20)  # "ponto"
    external_id: str = Field(max_length=64)  # the source's id of the pending item
    account_iban: str = Field(max_length=40)
    currency: str = Field(max_length=3)
    amount: Decimal = Field(sa_type=Money)
    execution_date: date
    counterparty_name: str | None = Field(default=None, max_length=70)
    counterparty_iban: str | None = Field(default=None, max_length=40)
    communication: str = ""
    structured_reference: str | None = Field(default=None, max_length=40)
    end_to_end_reference: str | None = Field(default=None, max_length=40)
    #: The open invoice its reference names; None when it names none.
    invoice_id: str | None = Field(default=None, foreign_key="invoices.id", max_length=40)
    #: pending | booked (its booked twin is ``transaction_id``) | expired (never booked within the limit)
    state: str = Field(default="pending", max_length=10)
    #: No foreign key: it is noted as its booked twin is stored, before the ledger writes that row.
    transaction_id: str | None = Field(default=None, max_length=40)
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    first_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    settled_at: datetime | None = None
