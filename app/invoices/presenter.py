"""Render invoices (with their allocations, write-offs and documents) as the API's resource.

``invoice_document`` is the one renderer of an invoice: it builds the JSON directly (the API's answers, the
hot read, a batch's results and every event's snapshot), and InvoicePublic only describes it in the OpenAPI
document (tests/unit/test_renderers.py holds the two equal). ``present_invoices`` reads what a list of
invoices shows, with at most three queries in all, and renders them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from app.core.db import plain_rows
from app.core.money import format_amount
from app.core.one_of import one_of
from app.core.schemas import AddressPublic
from app.core.timeutil import json_datetime
from app.invoices.models import Invoice, InvoiceDocument
from app.invoices.schemas import LinePublic, VatSubtotalPublic
from app.reconciliation.models import Allocation, WriteOff
from app.reconciliation.presenter import allocation_document, return_document, write_off_document
from app.reconciliation.status import invoice_amount_due

# Plain rows, not ORM objects: presenting only reads them, and rows cost a fraction (events present thousands).
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]
_WRITE_OFFS = WriteOff.__table__  # type: ignore[attr-defined]


def amount_due(invoice: Invoice | Any) -> Decimal:
    """What is still to be paid: never negative (an overpayment is shown by status and amount_paid)."""
    return invoice_amount_due(
        invoice.total_amount, invoice.amount_paid, invoice.write_off_amount, invoice.status == "cancelled"
    )


def _related(session: Session, invoices: Sequence[Invoice | Any]) -> tuple[dict[str, list[Any]], ...]:
    """The allocation, write-off and document rows of each invoice, with at most three queries in all.

    Allocations are only looked up for invoices with something paid (allocation amounts are positive),
    write-offs for invoices with something written off, documents only for invoices that have some.
    """
    session.flush()  # the plain selects below do not flush pending ORM objects themselves
    paid_ids = [inv.id for inv in invoices if inv.amount_paid != 0]
    written_ids = [inv.id for inv in invoices if inv.write_off_amount != 0]
    allocations: dict[str, list[Any]] = defaultdict(list)
    write_offs: dict[str, list[Any]] = defaultdict(list)
    if paid_ids:
        for a in plain_rows(
            session.execute(
                _ALLOCATIONS.select()
                .where(one_of(_ALLOCATIONS.c.invoice_id, paid_ids))
                .order_by(_ALLOCATIONS.c.created_at)
            )
        ):
            allocations[a.invoice_id].append(a)
    if written_ids:
        for w in plain_rows(
            session.execute(
                _WRITE_OFFS.select()
                .where(one_of(_WRITE_OFFS.c.invoice_id, written_ids))
                .order_by(_WRITE_OFFS.c.created_at)
            )
        ):
            write_offs[w.invoice_id].append(w)  # type: ignore[index]
    return allocations, write_offs, invoice_document_rows(session, invoices)


def invoice_document_rows(session: Session, invoices: Sequence[Any]) -> dict[str, list[Any]]:
    """The document rows (without their content) of each invoice that has some, in one query."""
    doc_ids = [inv.id for inv in invoices if inv.document_count]
    documents: dict[str, list[Any]] = defaultdict(list)
    if doc_ids:
        doc_columns = select(
            InvoiceDocument.id,
            InvoiceDocument.invoice_id,
            InvoiceDocument.filename,
            InvoiceDocument.content_type,
            InvoiceDocument.size,
            InvoiceDocument.sha256,
        ).where(one_of(col(InvoiceDocument.invoice_id), doc_ids))
        for row in session.exec(doc_columns):
            documents[row.invoice_id].append(row)
    return documents


def present_invoices(session: Session, invoices: Sequence[Invoice | Any]) -> list[dict[str, Any]]:
    """Invoices (ORM objects or plain rows) as the API's JSON, with at most three extra queries in all, not per
    invoice: every invoice an upload pays is announced with its snapshot, and a batch returns a thousand."""
    allocations, write_offs, documents = _related(session, invoices)
    return [
        invoice_document(inv, allocations.get(inv.id, ()), write_offs.get(inv.id, ()), documents.get(inv.id, ()))
        for inv in invoices
    ]


def present_invoice(session: Session, invoice: Invoice | Any) -> dict[str, Any]:
    """One invoice as the API's JSON."""
    return present_invoices(session, [invoice])[0]


def invoice_document(
    inv: Any,
    allocations: Iterable[Any],
    write_offs: Iterable[Any],
    documents: Iterable[Any],
    update: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One invoice row (ORM object or plain row) with its allocation, write-off and document rows, as the
    API's JSON (InvoicePublic).

    ``update``: the row's money state as just settled (status, amount_paid, write_off_amount, paid_at,
    updated_at), when it is newer than the row."""
    if update:
        status, paid, written_off = update["status"], update["amount_paid"], update["write_off_amount"]
        paid_at, updated_at = update["paid_at"], update["updated_at"]
    else:
        status, paid, written_off = inv.status, inv.amount_paid, inv.write_off_amount
        paid_at, updated_at = inv.paid_at, inv.updated_at
    address = inv.customer_address
    return {
        "id": inv.id,
        "external_id": inv.external_id,
        "number": inv.number,
        "kind": inv.kind,
        "issue_date": inv.issue_date.isoformat(),
        "due_date": inv.due_date.isoformat(),
        "currency": inv.currency,
        "total_amount": format_amount(inv.total_amount),
        "customer": {
            "name": inv.customer_name,
            "vat": inv.customer_vat,
            "iban": inv.customer_iban,
            "email": inv.customer_email,
            "address": {k: address.get(k) for k in _ADDRESS_FIELDS} if address else None,
            "peppol_id": inv.customer_peppol_id,
        },
        "lines": [{k: line.get(k) for k in _LINE_FIELDS} for line in inv.lines or ()],
        "vat_breakdown": [{k: part.get(k) for k in _VAT_FIELDS} for part in inv.vat_breakdown or ()],
        "tax_exclusive_amount": _money(inv.tax_exclusive_amount),
        "tax_amount": _money(inv.tax_amount),
        "buyer_reference": inv.buyer_reference,
        "billing_reference": inv.billing_reference,
        "structured_reference": inv.structured_reference,
        "mandate_reference": inv.mandate_reference,
        "collection_reference": inv.collection_reference,
        "status": status,
        "amount_paid": format_amount(paid),
        "write_off_amount": format_amount(written_off),
        "amount_due": format_amount(invoice_amount_due(inv.total_amount, paid, written_off, status == "cancelled")),
        "pending_amount": format_amount(inv.pending_amount),
        "paid_at": paid_at.isoformat() if paid_at else None,
        "cancelled_at": json_datetime(inv.cancelled_at) if inv.cancelled_at else None,
        "allocations": [allocation_document(a) for a in allocations],
        "returns": [return_document(a) for a in allocations if a.returns_allocation_id is not None],
        "write_offs": [write_off_document(w) for w in write_offs],
        "documents": [
            {
                "id": d.id,
                "filename": d.filename,
                "content_type": d.content_type,
                "size": d.size,
                "sha256": d.sha256,
            }
            for d in documents
        ],
        "delivery": {
            "status": inv.delivery_status,
            "attempts": inv.delivery_attempts,
            "last_error": inv.delivery_last_error,
        },
        "created_at": json_datetime(inv.created_at),
        "updated_at": json_datetime(updated_at),
    }


_ADDRESS_FIELDS = tuple(AddressPublic.model_fields)
_LINE_FIELDS = tuple(LinePublic.model_fields)
_VAT_FIELDS = tuple(VatSubtotalPublic.model_fields)


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else format_amount(amount)
