"""Tables for what links money to invoices: allocations, write-offs, suggestions, and the audit trail."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.db import Money, partial_index
from app.core.timeutil import utcnow


class Allocation(SQLModel, table=True):
    """Money of a transaction that settles an invoice; or, with ``returns_allocation_id``, money that went back
    (a returned collection, a reversed payment): it takes that much of the named allocation off the invoice
    again, and counts against its own transaction in the opposite direction (app/reconciliation/status.py)."""

    __tablename__ = "allocations"
    __table_args__ = (
        # Returns are few: by invoice (is anything of it returned?), then by the allocation they take back.
        Index(
            "ix_allocations_returns",
            "invoice_id",
            "returns_allocation_id",
            **partial_index("returns_allocation_id IS NOT NULL"),
        ),
    )

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    transaction_id: str = Field(foreign_key="transactions.id", index=True, max_length=40)
    invoice_id: str = Field(foreign_key="invoices.id", index=True, max_length=40)
    #: The suggestion a person accepted to make it; undoing it reopens that suggestion.
    suggestion_id: str | None = Field(default=None, max_length=40)
    amount: Decimal = Field(sa_type=Money)  # money from the transaction that settles the invoice (positive)
    #: The allocation of the original payment that this return offsets (issue 40); None for a payment.
    returns_allocation_id: str | None = Field(default=None, max_length=40)
    method: str = Field(max_length=30)  # structured_reference | free_text_reference | ... | manual
    confidence: float = 1.0
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    #: Beside each reason, the signal and parameters it was rendered from (app/reconciliation/reasons.py), for
    #: other languages than the API's English; None on rows from before, and on a person's decisions.
    reason_codes: list[Any] | None = Field(default=None, sa_type=JSON)
    created_by: str = Field(default="matcher", max_length=80)
    created_at: datetime = Field(default_factory=utcnow)


#: What a person may write money off for.
WRITE_OFF_REASONS = ("payment_difference", "bank_fee", "discount", "manual")
#: What the service itself writes off: ``returned``, the part of a returned payment that no allocation took, on
#: the return and on its original (app/reconciliation/returns.py).
SERVICE_WRITE_OFF_REASONS = ("returned",)


class WriteOff(SQLModel, table=True):
    """Money settled without being received (on an invoice), or received without an invoice (on a transaction).

    With ``invoice_id``: that much of the invoice is settled although nobody paid it (an underpayment within
    the company's tolerance, a bank fee, a discount); ``transaction_id`` then names the payment it came with.
    Without ``invoice_id``: that much of the transaction's money is accounted for without an invoice.
    """

    __tablename__ = "write_offs"

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    invoice_id: str | None = Field(default=None, foreign_key="invoices.id", index=True, max_length=40)
    transaction_id: str | None = Field(default=None, foreign_key="transactions.id", index=True, max_length=40)
    #: The allocation it completes: undoing that allocation undoes this write-off too.
    allocation_id: str | None = Field(default=None, foreign_key="allocations.id", index=True, max_length=40)
    amount: Decimal = Field(sa_type=Money)  # positive
    reason: str = Field(max_length=30)  # one of WRITE_OFF_REASONS
    note: str | None = Field(default=None, max_length=500)
    created_by: str = Field(default="matcher", max_length=80)
    created_at: datetime = Field(default_factory=utcnow)


class Suggestion(SQLModel, table=True):
    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_company_status", "company_id", "status"),)

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", max_length=40)
    transaction_id: str = Field(foreign_key="transactions.id", index=True, max_length=40)
    score: float
    #: [{"invoice_id": ..., "amount": "12.00", "write_off"?: "0.50"}]
    allocations: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    #: As on Allocation: what the review page renders the reasons from in its reader's language.
    reason_codes: list[Any] | None = Field(default=None, sa_type=JSON)
    status: str = Field(default="open", max_length=10)  # open | accepted | rejected | superseded
    #: What superseded it (an allocation or an accepted suggestion): undoing that reopens it.
    closed_by: str | None = Field(default=None, max_length=40)
    decided_by: str | None = Field(default=None, max_length=80)
    decided_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", index=True, max_length=40)
    actor: str = Field(max_length=80)  # "matcher", "admin", "key:<id>"
    action: str = Field(max_length=40)  # allocation.created | allocation.undone | suggestion.accepted ...
    subject_id: str = Field(max_length=40)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    at: datetime = Field(default_factory=utcnow)


class LearnedPayer(SQLModel, table=True):
    """An account a customer has paid from: how many allocations link payments from ``iban`` to invoices of
    ``customer_key``. Kept by the Ledger as allocations are made and undone; a row at zero is removed."""

    __tablename__ = "learned_payers"

    company_id: str = Field(foreign_key="companies.id", primary_key=True, max_length=40)
    iban: str = Field(primary_key=True, max_length=40)
    customer_key: str = Field(primary_key=True, max_length=240)
    allocations: int = 0


#: What a rule does with a payment its conditions fit (app/reconciliation/rules.py).
RULE_ACTIONS = ("keep", "payer", "never_auto")
#: proposed (made from people's decisions, never applied), off (tried, not applied), on, dismissed (a proposal
#: a person turned down: never proposed again).
RULE_STATES = ("proposed", "off", "on", "dismissed")


class MatchingRule(SQLModel, table=True):
    """A rule a bookkeeper names: conditions on a payment, one action. It acts only on what no reference settled."""

    __tablename__ = "matching_rules"
    __table_args__ = (Index("ix_matching_rules_company_state", "company_id", "state"),)

    id: str = Field(primary_key=True, max_length=40)
    company_id: str = Field(foreign_key="companies.id", max_length=40)
    name: str = Field(max_length=100)
    state: str = Field(default="off", max_length=10)
    #: Conditions, all of which must hold; a condition left out holds for every payment.
    words: list[str] = Field(default_factory=list, sa_type=JSON)  # each in the communication (any case)
    counterparty_iban: str | None = Field(default=None, max_length=40)
    counterparty_name: str | None = Field(default=None, max_length=70)  # contained in the payer's name
    amount_min: Decimal | None = Field(default=None, sa_type=Money)  # of the amount's size, either direction
    amount_max: Decimal | None = Field(default=None, sa_type=Money)
    direction: str | None = Field(default=None, max_length=3)  # in | out
    action: str = Field(max_length=12)
    #: keep: the write-off reason; payer: the customer (by the invoices' customer key) and its name to show.
    reason: str | None = Field(default=None, max_length=30)
    customer_key: str | None = Field(default=None, max_length=240)
    customer_name: str | None = Field(default=None, max_length=200)
    #: A proposal: what it was made from (the decisions' subjects), and the key that keeps it from coming back.
    proposal_key: str | None = Field(default=None, max_length=300)
    proposed_from: list[str] = Field(default_factory=list, sa_type=JSON)
    created_by: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
