"""The one place that changes who paid what: allocations in and out, derived paid states, and their events.

An allocation's ``amount`` is positive and settles that much of its invoice. Against the transaction it
counts as money in for an invoice and as money out for a credit note, so one transfer of 80 can settle an
invoice of 100 and a credit note of 20 (100 - 20), and a refund of -20 settles a credit note of 20.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.events import INVOICE_STATUS_EVENTS, record_event
from app.ids import new_id
from app.invoices.models import Invoice
from app.invoices.presenter import present_invoices
from app.reconciliation.models import Allocation, AuditEvent, Suggestion
from app.statements.models import BankTransaction
from app.timeutil import utcnow

ZERO = Decimal("0.00")


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


class Ledger:
    """Collects allocation changes in one unit of work, then settles derived states once per touched row."""

    def __init__(self, session: Session, company_id: str, actor: str) -> None:
        self.session = session
        self.company_id = company_id
        self.actor = actor
        self._invoices: dict[str, Invoice] = {}
        self._transactions: dict[str, BankTransaction] = {}

    def audit(self, action: str, subject_id: str, details: dict[str, Any]) -> None:
        self.session.add(
            AuditEvent(
                id=new_id("aud"),
                company_id=self.company_id,
                actor=self.actor,
                action=action,
                subject_id=subject_id,
                details=details,
            )
        )

    def allocate(
        self,
        transaction: BankTransaction,
        invoice: Invoice,
        amount: Decimal,
        *,
        method: str,
        confidence: float,
        reasons: list[dict[str, Any]],
    ) -> Allocation:
        allocation = Allocation(
            id=new_id("alc"),
            company_id=self.company_id,
            transaction_id=transaction.id,
            invoice_id=invoice.id,
            amount=amount,
            method=method,
            confidence=confidence,
            reasons=reasons,
            created_by=self.actor,
        )
        self.session.add(allocation)
        self.audit(
            "allocation.created",
            allocation.id,
            {
                "transaction_id": transaction.id,
                "invoice_id": invoice.id,
                "amount": str(amount),
                "method": method,
            },
        )
        self.touch(transaction, invoice)
        return allocation

    def undo(self, allocation: Allocation) -> None:
        transaction = self.session.get(BankTransaction, allocation.transaction_id)
        invoice = self.session.get(Invoice, allocation.invoice_id)
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
        if transaction is not None and invoice is not None:
            self.touch(transaction, invoice)

    def touch(self, transaction: BankTransaction | None = None, invoice: Invoice | None = None) -> None:
        if transaction is not None:
            self._transactions[transaction.id] = transaction
        if invoice is not None:
            self._invoices[invoice.id] = invoice

    def settle(self) -> None:
        """Recompute amount_paid/status/paid_at and transaction states; record events for what changed."""
        self.session.flush()
        changed = self._settle_invoices(self._invoices.values())
        self._settle_transactions(self._transactions.values())
        if changed:
            self.session.flush()
            for public in present_invoices(self.session, changed):
                event_type = INVOICE_STATUS_EVENTS.get(public.status)
                if event_type:
                    record_event(self.session, self.company_id, event_type, public.id, public.model_dump(mode="json"))
        self._invoices.clear()
        self._transactions.clear()

    def _settle_invoices(self, invoices: Iterable[Invoice]) -> list[Invoice]:
        invoices = list(invoices)
        if not invoices:
            return []
        totals = {
            row[0]: (row[1] or ZERO, row[2])
            for row in self.session.exec(
                select(Allocation.invoice_id, func.sum(Allocation.amount), func.max(BankTransaction.booking_date))
                .join(BankTransaction, col(BankTransaction.id) == col(Allocation.transaction_id))
                .where(col(Allocation.invoice_id).in_([i.id for i in invoices]))
                .group_by(col(Allocation.invoice_id))
            )
        }
        changed = []
        for invoice in invoices:
            paid, last_booking = totals.get(invoice.id, (ZERO, None))
            status = invoice_status(invoice.total_amount, paid, invoice.cancelled_at is not None)
            paid_at = last_booking if status in ("paid", "overpaid") else None
            if (invoice.amount_paid, invoice.status, invoice.paid_at) != (paid, status, paid_at):
                if invoice.status != status:
                    changed.append(invoice)
                invoice.amount_paid, invoice.status, invoice.paid_at = paid, status, paid_at
                invoice.updated_at = utcnow()
                self.session.add(invoice)
        return changed

    def _settle_transactions(self, transactions: Iterable[BankTransaction]) -> None:
        transactions = list(transactions)
        if not transactions:
            return
        ids = [t.id for t in transactions]
        allocated: dict[str, Decimal] = {}
        for tx_id, kind, amount in self.session.exec(
            select(Allocation.transaction_id, Invoice.kind, Allocation.amount)
            .join(Invoice, col(Invoice.id) == col(Allocation.invoice_id))
            .where(col(Allocation.transaction_id).in_(ids))
        ):
            allocated[tx_id] = allocated.get(tx_id, ZERO) + signed_effect(kind, amount)
        open_suggestions = set(
            self.session.exec(
                select(Suggestion.transaction_id).where(
                    col(Suggestion.transaction_id).in_(ids), Suggestion.status == "open"
                )
            ).all()
        )
        for tx in transactions:
            tx.amount_allocated = allocated.get(tx.id, ZERO)
            if tx.status != "ignored":
                if tx.id in allocated:
                    tx.status = "matched"
                elif tx.id in open_suggestions:
                    tx.status = "suggested"
                else:
                    tx.status = "unmatched"
            self.session.add(tx)
