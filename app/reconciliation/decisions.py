"""People's decisions on matches: manual allocations, undo, accepting and rejecting suggestions."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, col, select

from app.errors import Conflict, NotFound, ValidationFailed
from app.invoices.models import Invoice
from app.reconciliation.ledger import Ledger, signed_effect
from app.reconciliation.models import Allocation, Suggestion
from app.statements.models import BankTransaction
from app.timeutil import utcnow

ZERO = Decimal("0.00")


def _transaction(session: Session, company_id: str, transaction_id: str) -> BankTransaction:
    tx = session.get(BankTransaction, transaction_id)
    if tx is None or tx.company_id != company_id or tx.kind == "total":
        raise NotFound(f"no transaction {transaction_id}")
    return tx


def _invoice(session: Session, company_id: str, invoice_id: str) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.company_id != company_id:
        raise ValidationFailed(
            f"no invoice {invoice_id}", errors=[{"loc": "body.invoice_id", "message": "unknown invoice"}]
        )
    if invoice.status == "cancelled":
        raise Conflict(f"invoice {invoice.number} is cancelled")
    return invoice


def _check_fits(session: Session, tx: BankTransaction, additions: list[tuple[Invoice, Decimal]]) -> None:
    """The allocations of a transaction may not add up to more money than it moved, nor flip its direction."""
    before = ZERO
    for kind, amount in session.exec(
        select(Invoice.kind, Allocation.amount)
        .join(Invoice, col(Invoice.id) == col(Allocation.invoice_id))
        .where(Allocation.transaction_id == tx.id)
    ):
        before += signed_effect(kind, amount)
    after = before
    for invoice, amount in additions:
        if amount <= 0:
            raise ValidationFailed("amount must be positive", errors=[{"loc": "body.amount", "message": "must be > 0"}])
        after += signed_effect(invoice.kind, amount)
    low, high = sorted((ZERO, tx.amount))
    if not low <= after <= high:
        left = abs(tx.amount - before)
        raise Conflict(
            f"allocations would total {after} on a transaction of {tx.amount}; {left} is left to allocate",
            errors=[{"loc": "body.amount", "message": f"at most {left} is left to allocate"}],
        )


def allocate_manually(
    session: Session, company_id: str, transaction_id: str, invoice_id: str, amount: Decimal, actor: str
) -> str:
    tx = _transaction(session, company_id, transaction_id)
    invoice = _invoice(session, company_id, invoice_id)
    _check_fits(session, tx, [(invoice, amount)])
    ledger = Ledger(session, company_id, actor)
    allocation_id = ledger.allocate(
        tx.id,
        invoice.id,
        amount,
        method="manual",
        confidence=1.0,
        reasons=[{"code": "manual", "message": f"allocated by {actor}"}],
    )
    _close_suggestions(session, tx, "superseded", actor)
    ledger.settle()
    return allocation_id


def undo_allocation(session: Session, company_id: str, transaction_id: str, allocation_id: str, actor: str) -> None:
    allocation = session.get(Allocation, allocation_id)
    if allocation is None or allocation.company_id != company_id or allocation.transaction_id != transaction_id:
        raise NotFound(f"no allocation {allocation_id}")
    ledger = Ledger(session, company_id, actor)
    ledger.undo(allocation)
    ledger.settle()


def _suggestion(session: Session, company_id: str, transaction_id: str, suggestion_id: str) -> Suggestion:
    suggestion = session.get(Suggestion, suggestion_id)
    if suggestion is None or suggestion.company_id != company_id or suggestion.transaction_id != transaction_id:
        raise NotFound(f"no suggestion {suggestion_id}")
    if suggestion.status != "open":
        raise Conflict(f"suggestion {suggestion_id} is already {suggestion.status}")
    return suggestion


def accept_suggestion(
    session: Session, company_id: str, transaction_id: str, suggestion_id: str, actor: str
) -> list[str]:
    suggestion = _suggestion(session, company_id, transaction_id, suggestion_id)
    tx = _transaction(session, company_id, transaction_id)
    parts = [(_invoice(session, company_id, a["invoice_id"]), Decimal(a["amount"])) for a in suggestion.allocations]
    _check_fits(session, tx, parts)
    ledger = Ledger(session, company_id, actor)
    allocations = [
        ledger.allocate(
            tx.id,
            invoice.id,
            amount,
            method="suggestion",
            confidence=suggestion.score,
            reasons=[*suggestion.reasons, {"code": "accepted", "message": f"suggestion accepted by {actor}"}],
        )
        for invoice, amount in parts
    ]
    suggestion.status, suggestion.decided_by, suggestion.decided_at = "accepted", actor, utcnow()
    session.add(suggestion)
    ledger.audit("suggestion.accepted", suggestion.id, {"transaction_id": tx.id})
    _close_suggestions(session, tx, "superseded", actor)
    ledger.settle()
    return allocations


def reject_suggestion(session: Session, company_id: str, transaction_id: str, suggestion_id: str, actor: str) -> None:
    suggestion = _suggestion(session, company_id, transaction_id, suggestion_id)
    tx = _transaction(session, company_id, transaction_id)
    suggestion.status, suggestion.decided_by, suggestion.decided_at = "rejected", actor, utcnow()
    session.add(suggestion)
    ledger = Ledger(session, company_id, actor)
    ledger.audit("suggestion.rejected", suggestion.id, {"transaction_id": tx.id, "allocations": suggestion.allocations})
    ledger.touch(transaction_id=tx.id)
    ledger.settle()


def _close_suggestions(session: Session, tx: BankTransaction, status: str, actor: str) -> None:
    for other in session.exec(
        select(Suggestion).where(Suggestion.transaction_id == tx.id, Suggestion.status == "open")
    ):
        other.status, other.decided_by, other.decided_at = status, actor, utcnow()
        session.add(other)
