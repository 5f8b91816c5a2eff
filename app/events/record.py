"""Record what features changed as events, each with its resource as it is at that moment (outbox pattern:
in the same transaction as the change; app/webhooks delivers them).

``record_settlement`` is the Ledger's listener (installed by app/hooks.py): it names each change's event,
says what changed, and renders every snapshot of one settle at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import Session

from app.core.db import insert_rows
from app.core.events import INVOICE_STATUS_EVENTS, record_event
from app.core.ids import new_id
from app.core.money import format_amount
from app.core.outbox_models import Event
from app.core.timeutil import utcnow
from app.events.resources import invoice_snapshots, transaction_snapshots
from app.invoices.models import Invoice
from app.invoices.presenter import present_invoice
from app.reconciliation.changes import InvoiceMoneyChanged, Settlement
from app.reconciliation.presenter import return_document

#: Transaction statuses worth an event of their own (money in that still needs a person).
TRANSACTION_STATUS_EVENTS = {
    "unmatched": "transaction.unmatched",
    "partially_matched": "transaction.partially_matched",
}


def record_settlement(session: Session, settlement: Settlement) -> None:
    """One event per change of a Ledger's settle, in the order of its changes, each carrying the resource as
    it is now, so that a consumer replaying events sees the same history."""
    company_id = settlement.company_id
    invoices = invoice_snapshots(session, settlement.settled_invoices)
    about = {c.transaction_id for c in settlement.transactions} | {c.transaction_id for c in settlement.suggestions}
    transactions = transaction_snapshots(session, about, settlement.new_transactions)
    events = [
        _event(
            company_id,
            _invoice_event(c),
            c.invoice_id,
            invoices[c.invoice_id],
            _invoice_change(c, settlement.settled_invoices[c.invoice_id].allocations),
        )
        for c in settlement.invoices
    ]
    events += [
        _event(
            company_id,
            TRANSACTION_STATUS_EVENTS[c.status],
            c.transaction_id,
            transactions[c.transaction_id],
            {
                "status": c.status,
                "previous_status": c.previous_status,
                "unallocated_amount": format_amount(c.unallocated_amount),
            },
        )
        for c in settlement.transactions
    ]
    events += [
        _event(
            company_id,
            "suggestion.created",
            c.transaction_id,
            transactions[c.transaction_id],
            {"suggestion_id": c.suggestion_id, "score": c.score},
        )
        for c in settlement.suggestions
    ]
    insert_rows(session, Event, events)


def _invoice_event(c: InvoiceMoneyChanged) -> str:
    """Money that came back off a settled invoice reopens it, whether it is open or partly paid again."""
    if c.returned_by is not None and c.status in ("open", "partially_paid"):
        return "invoice.reopened"
    return INVOICE_STATUS_EVENTS[c.status]


def _invoice_change(c: InvoiceMoneyChanged, allocations: Sequence[Any]) -> dict[str, Any]:
    change: dict[str, Any] = {
        "status": c.status,
        "previous_status": c.previous_status,
        "amount_paid": format_amount(c.amount_paid),
        "write_off_amount": format_amount(c.write_off_amount),
        "amount_due": format_amount(c.amount_due),
    }
    if c.returned_by is not None:
        # The return of this change (its newest, should one transaction take back several payments of it).
        returns = [a for a in allocations if a.transaction_id == c.returned_by and a.returns_allocation_id]
        change["reason"] = "returned"
        change["return"] = return_document(max(returns, key=lambda a: (a.created_at, a.id))) if returns else None
    return change


def _event(
    company_id: str, event_type: str, subject_id: str, data: dict[str, Any], change: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": new_id("evt"),
        "company_id": company_id,
        "type": event_type,
        "subject_id": subject_id,
        "payload": {"data": data, "change": change},
        "created_at": utcnow(),
    }


def record_delivery(session: Session, invoice: Invoice, event_type: str) -> None:
    """An invoice's delivery to CodaBox ended (delivered, or failed for good): the invoice as it is now."""
    _record_invoice(session, invoice, event_type, lambda resource: {"delivery": resource["delivery"]})


def record_pending(session: Session, invoice: Invoice, event_type: str, change: dict[str, Any]) -> None:
    """Money on its way to an invoice showed or stopped showing (``invoice.payment_pending``,
    ``invoice.pending_expired``): the invoice as it is now, with its pending amount."""
    _record_invoice(
        session, invoice, event_type, lambda resource: {"pending_amount": resource["pending_amount"], **change}
    )


def _record_invoice(
    session: Session, invoice: Invoice, event_type: str, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    """An event about an invoice outside the ledger's settles: the invoice as it is now, and what changed."""
    resource = present_invoice(session, invoice)
    record_event(session, invoice.company_id, event_type, invoice.id, {"data": resource, "change": change(resource)})
