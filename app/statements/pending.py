"""Pending payments: what the bank shows before it books it (Ponto's pending transactions).

A pending payment is never money on an invoice. One whose structured reference names an open invoice counts in
the invoice's ``pending_amount`` (the invoicing app can say "payment on its way" the same day) until:
- its **booked twin** arrives, from Ponto or in a bank file: the same account and amount, and the same reference
  or end-to-end id or payer account, booked no earlier than a few days before it was executed. It is then
  ``booked``; the booked transaction goes through matching like any other and settles the invoice;
- or it is not booked within ``CODARECON_PONTO_PENDING_DAYS``: ``expired``, no longer counted.

An invoice's ``pending_amount`` is always the sum of its pending payments in state ``pending`` (recomputed from
them, never added to), as its paid amount is the sum of its allocations.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.core.timeutil import utcnow
from app.invoices.models import Invoice
from app.statements.models import PendingPayment

#: A booked twin may carry a booking day a little before the pending item's execution day (banks differ).
BOOKING_SLACK = timedelta(days=3)


def has_pending(session: Session, company_id: str) -> bool:
    return (
        session.exec(
            select(PendingPayment.id).where(PendingPayment.company_id == company_id, PendingPayment.state == "pending")
        ).first()
        is not None
    )


def _same_payment(pending: PendingPayment, row: Any) -> bool:
    if pending.amount != row["amount"] or row["booking_date"] < pending.execution_date - BOOKING_SLACK:
        return False
    for key in ("end_to_end_reference", "structured_reference", "counterparty_iban"):
        left, right = getattr(pending, key), row[key]
        if left and right:
            return left == right
    return False


def book_twins(session: Session, company_id: str, iban: str, rows: Iterable[dict[str, Any]]) -> list[str]:
    """Mark the company's pending payments on the account that these new booked movements are; the invoices
    whose pending amount changed."""
    waiting = list(
        session.exec(
            select(PendingPayment).where(
                PendingPayment.company_id == company_id,
                PendingPayment.state == "pending",
                PendingPayment.account_iban == iban,
            )
        )
    )
    if not waiting:
        return []
    now, touched = utcnow(), []
    for row in rows:
        found = next((p for p in waiting if _same_payment(p, row)), None)
        if found is None:
            continue
        waiting.remove(found)
        found.state, found.transaction_id, found.settled_at = "booked", row["id"], now
        session.add(found)
        if found.invoice_id:
            touched.append(found.invoice_id)
    session.flush()
    refresh_pending_amounts(session, touched)
    return touched


def refresh_pending_amounts(session: Session, invoice_ids: Iterable[str]) -> None:
    """Each invoice's pending amount, from its pending payments in state ``pending``."""
    ids = sorted(set(invoice_ids))
    if not ids:
        return
    total = (
        select(func.coalesce(func.sum(PendingPayment.amount), Decimal("0.00")))
        .where(PendingPayment.invoice_id == Invoice.id, PendingPayment.state == "pending")
        .scalar_subquery()
    )
    # Only an invoice whose figure changes is touched: its updated_at is what integrators poll by.
    session.execute(
        update(Invoice)
        .where(col(Invoice.id).in_(ids), col(Invoice.pending_amount) != total)
        .values(pending_amount=total, updated_at=utcnow())
    )
    session.expire_all()
