"""Ponto's pending transactions as pending payments (``statements/pending.py``): noted once by Ponto's id,
shown on the invoice their reference names, expired when never booked.

Pending and booked items have ids of their own at Ponto, and nothing public says a pending id is carried to its
booked transaction; the booked twin is recognised by its account, amount and reference (``statements/pending``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.ids import new_id
from app.core.timeutil import utcnow
from app.events.record import record_pending
from app.identifiers.references import find_references
from app.invoices.models import Invoice
from app.statements.models import PendingPayment
from app.statements.pending import refresh_pending_amounts
from app.statements.ponto_reader import PontoTransactionError, read_transaction

log = logging.getLogger(__name__)


def _reference(parsed: Any) -> str | None:
    """The payment's reference: its structured one, or else the first valid OGM or RF typed in its text (payers
    often type the OGM as free communication)."""
    if parsed.structured_reference:
        return parsed.structured_reference
    return next((found.value for found in find_references(parsed.communication) if found.valid), None)


def _invoice_for(session: Session, company_id: str, reference: str | None) -> Invoice | None:
    if not reference:
        return None
    return session.exec(
        select(Invoice).where(
            Invoice.company_id == company_id,
            Invoice.structured_reference == reference,
            Invoice.kind == "invoice",
            col(Invoice.status).in_(("open", "partially_paid")),
        )
    ).first()


def note_pending(session: Session, company_id: str, iban: str, currency: str, items: list[dict[str, Any]]) -> int:
    """Store the pending items not seen before; each naming an open invoice shows on it. How many were new."""
    ids = [str(item.get("id")) for item in items if isinstance(item, dict) and item.get("id")]
    if not ids:
        return 0
    known = set(
        session.exec(
            select(PendingPayment.external_id).where(
                PendingPayment.company_id == company_id,
                PendingPayment.source == "ponto",
                col(PendingPayment.external_id).in_(ids),
            )
        )
    )
    expires = utcnow() + timedelta(days=get_settings().ponto_pending_days)
    new = 0
    for number, item in enumerate(items, start=1):
        external = str(item.get("id") or "")
        if not external or external in known or len(external) > 64:
            continue
        known.add(external)
        try:
            parsed = read_transaction(item, number)
        except PontoTransactionError as exc:
            log.warning("Ponto pending transaction %s of company %s set aside: %s", external, company_id, exc.message)
            continue
        if (item.get("attributes") or {}).get("currency", currency) != currency:
            continue
        reference = _reference(parsed)
        invoice = _invoice_for(session, company_id, reference) if parsed.amount > 0 else None
        pending = PendingPayment(
            id=new_id("pp"),
            company_id=company_id,
            source="ponto",
            external_id=external,
            account_iban=iban,
            currency=currency,
            amount=parsed.amount,
            execution_date=parsed.booking_date,
            counterparty_name=parsed.counterparty.name,
            counterparty_iban=parsed.counterparty.iban,
            communication=parsed.communication,
            structured_reference=reference,
            end_to_end_reference=parsed.end_to_end_reference,
            invoice_id=invoice.id if invoice else None,
            raw=item,
            expires_at=expires,
        )
        session.add(pending)
        session.flush()
        new += 1
        if invoice is not None:
            refresh_pending_amounts(session, [invoice.id])
            fresh = session.get(Invoice, invoice.id)
            if fresh is not None:
                record_pending(session, fresh, "invoice.payment_pending", {"pending_payment": _brief(pending)})
    return new


def _brief(pending: PendingPayment) -> dict[str, Any]:
    return {
        "id": pending.id,
        "amount": f"{pending.amount:.2f}",
        "execution_date": pending.execution_date.isoformat(),
        "state": pending.state,
    }


def expire_pending() -> None:
    """Periodic: pending payments never booked within the limit stop counting on their invoices."""
    now = utcnow()
    with unit_of_work() as session:
        stale = list(
            session.exec(
                select(PendingPayment)
                .where(PendingPayment.state == "pending", col(PendingPayment.expires_at) <= now)
                .order_by(col(PendingPayment.expires_at))
                .limit(500)
            )
        )
        for pending in stale:
            pending.state, pending.settled_at = "expired", now
            session.add(pending)
        session.flush()
        invoices = sorted({p.invoice_id for p in stale if p.invoice_id})
        refresh_pending_amounts(session, invoices)
        for pending in stale:
            if pending.invoice_id:
                invoice = session.get(Invoice, pending.invoice_id)
                if invoice is not None:
                    record_pending(session, invoice, "invoice.pending_expired", {"pending_payment": _brief(pending)})
