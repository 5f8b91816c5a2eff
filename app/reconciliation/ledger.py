"""The one place that changes who paid what: allocations in and out, derived paid states, and their events.

An allocation's ``amount`` is positive and settles that much of its invoice. Against the transaction it
counts as money in for an invoice and as money out for a credit note, so one transfer of 80 can settle an
invoice of 100 and a credit note of 20 (100 - 20), and a refund of -20 settles a credit note of 20.

Work is set-wise: allocations are queued and written in bulk, and ``settle()`` recomputes the derived state
of every touched invoice and transaction with a few grouped queries, so matching 100,000 payments costs a
handful of statements per thousand rows, not several per payment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, type_coerce, update
from sqlmodel import Session, col, select

from app.db import Money
from app.events import INVOICE_STATUS_EVENTS
from app.ids import new_id
from app.invoices.models import Invoice
from app.money import format_amount
from app.outbox_models import Event
from app.reconciliation.models import Allocation, AuditEvent, Suggestion
from app.statements.models import BankTransaction
from app.timeutil import utcnow

ZERO = Decimal("0.00")
_CHUNK = 500
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_EVENTS = Event.__table__  # type: ignore[attr-defined]


def signed_effect(invoice_kind: str, amount: Decimal) -> Decimal:
    """What an allocation of ``amount`` to a document of this kind means for the transaction's balance."""
    return -amount if invoice_kind == "credit_note" else amount


def invoice_status(total: Decimal, paid: Decimal, cancelled: bool) -> str:
    if cancelled:
        return "cancelled"
    if paid <= 0:
        return "open"
    if paid < total:
        return "partially_paid"
    return "paid" if paid == total else "overpaid"


def invoice_snapshot(row: Any, status: str, paid: Decimal, paid_at: date | None) -> dict[str, Any]:
    """What an invoice event records: the change itself (senders attach the full resource when they send)."""
    due = ZERO if status == "cancelled" else max(row.total_amount - paid, ZERO)
    return {
        "id": row.id,
        "external_id": row.external_id,
        "number": row.number,
        "status": status,
        "total_amount": format_amount(row.total_amount),
        "amount_paid": format_amount(paid),
        "amount_due": format_amount(due),
        "paid_at": paid_at.isoformat() if paid_at else None,
    }


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


class Ledger:
    """Collects allocation changes in one unit of work, then settles derived states once per touched row."""

    def __init__(self, session: Session, company_id: str, actor: str) -> None:
        self.session = session
        self.company_id = company_id
        self.actor = actor
        self._allocations: list[dict[str, Any]] = []
        self._audits: list[dict[str, Any]] = []
        self._invoices: set[str] = set()
        self._transactions: set[str] = set()

    def audit(self, action: str, subject_id: str, details: dict[str, Any]) -> None:
        self._audits.append(
            {
                "id": new_id("aud"),
                "company_id": self.company_id,
                "actor": self.actor,
                "action": action,
                "subject_id": subject_id,
                "details": details,
                "at": utcnow(),
            }
        )

    def allocate(
        self,
        transaction_id: str,
        invoice_id: str,
        amount: Decimal,
        *,
        method: str,
        confidence: float,
        reasons: list[dict[str, Any]],
        fee: Decimal = ZERO,
    ) -> str:
        allocation_id = new_id("alc")
        self._allocations.append(
            {
                "id": allocation_id,
                "company_id": self.company_id,
                "transaction_id": transaction_id,
                "invoice_id": invoice_id,
                "amount": amount,
                "fee": fee,
                "method": method,
                "confidence": confidence,
                "reasons": reasons,
                "created_by": self.actor,
                "created_at": utcnow(),
            }
        )
        self.audit(
            "allocation.created",
            allocation_id,
            {"transaction_id": transaction_id, "invoice_id": invoice_id, "amount": str(amount), "method": method},
        )
        self.touch(transaction_id, invoice_id)
        return allocation_id

    def undo(self, allocation: Allocation) -> None:
        self.audit(
            "allocation.undone",
            allocation.id,
            {
                "transaction_id": allocation.transaction_id,
                "invoice_id": allocation.invoice_id,
                "amount": str(allocation.amount),
                "method": allocation.method,
            },
        )
        self.session.delete(allocation)
        self.touch(allocation.transaction_id, allocation.invoice_id)

    def touch(self, transaction_id: str | None = None, invoice_id: str | None = None) -> None:
        if transaction_id is not None:
            self._transactions.add(transaction_id)
        if invoice_id is not None:
            self._invoices.add(invoice_id)

    def settle(self) -> None:
        """Write queued rows, recompute paid states, record events; ORM objects loaded before are refreshed."""
        self.session.flush()
        if self._allocations:
            self.session.execute(insert(_ALLOCATIONS), self._allocations)
        if self._audits:
            self.session.execute(insert(_AUDIT), self._audits)
        events = self._settle_invoices(sorted(self._invoices))
        self._settle_transactions(sorted(self._transactions))
        if events:
            self.session.execute(insert(_EVENTS), events)
        self._allocations, self._audits = [], []
        self._invoices, self._transactions = set(), set()
        self.session.expire_all()  # bulk statements bypassed the identity map

    def _settle_invoices(self, ids: list[str]) -> list[dict[str, Any]]:
        table = Invoice.__table__  # type: ignore[attr-defined]
        updates: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        now = utcnow()
        for chunk in _chunks(ids):
            totals = {
                row[0]: (row[1] or ZERO, row[2])
                for row in self.session.execute(
                    select(
                        Allocation.invoice_id,
                        type_coerce(func.sum(Allocation.amount + Allocation.fee), Money()),
                        func.max(BankTransaction.booking_date),
                    )
                    .join(BankTransaction, col(BankTransaction.id) == col(Allocation.transaction_id))
                    .where(col(Allocation.invoice_id).in_(chunk))
                    .group_by(col(Allocation.invoice_id))
                )
            }
            for row in self.session.execute(table.select().where(table.c.id.in_(chunk))):
                paid, last_booking = totals.get(row.id, (ZERO, None))
                status = invoice_status(row.total_amount, paid, row.cancelled_at is not None)
                paid_at = last_booking if status in ("paid", "overpaid") else None
                if (row.amount_paid, row.status, row.paid_at) == (paid, status, paid_at):
                    continue
                updates.append(
                    {"id": row.id, "amount_paid": paid, "status": status, "paid_at": paid_at, "updated_at": now}
                )
                event_type = INVOICE_STATUS_EVENTS.get(status)
                if status != row.status and event_type:
                    events.append(
                        {
                            "id": new_id("evt"),
                            "company_id": self.company_id,
                            "type": event_type,
                            "subject_id": row.id,
                            "payload": invoice_snapshot(row, status, paid, paid_at),
                            "created_at": now,
                        }
                    )
        if updates:
            self.session.execute(update(Invoice), updates)
        return events

    def _settle_transactions(self, ids: list[str]) -> None:
        updates: list[dict[str, Any]] = []
        for chunk in _chunks(ids):
            allocated: dict[str, Decimal] = {}
            for tx_id, kind, amount in self.session.execute(
                select(Allocation.transaction_id, Invoice.kind, Allocation.amount)
                .join(Invoice, col(Invoice.id) == col(Allocation.invoice_id))
                .where(col(Allocation.transaction_id).in_(chunk))
            ):
                allocated[tx_id] = allocated.get(tx_id, ZERO) + signed_effect(kind, amount)
            suggested = set(
                self.session.execute(
                    select(Suggestion.transaction_id).where(
                        col(Suggestion.transaction_id).in_(chunk), Suggestion.status == "open"
                    )
                ).scalars()
            )
            for tx_id, status, current in self.session.execute(
                select(BankTransaction.id, BankTransaction.status, BankTransaction.amount_allocated).where(
                    col(BankTransaction.id).in_(chunk)
                )
            ):
                new_status = status
                if status != "ignored":
                    new_status = "matched" if tx_id in allocated else "suggested" if tx_id in suggested else "unmatched"
                amount = allocated.get(tx_id, ZERO)
                if (new_status, amount) != (status, current):
                    updates.append({"id": tx_id, "status": new_status, "amount_allocated": amount})
        if updates:
            self.session.execute(update(BankTransaction), updates)
