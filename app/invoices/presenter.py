"""Turn invoice rows (with their allocations and documents) into the API resource."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from app.invoices.models import Invoice, InvoiceDocument
from app.invoices.schemas import (
    AllocationPublic,
    CustomerPublic,
    DeliveryPublic,
    DocumentPublic,
    InvoicePublic,
    WriteOffPublic,
)
from app.reconciliation.ledger import invoice_amount_due
from app.reconciliation.models import Allocation, WriteOff

ZERO = Decimal("0.00")
# Plain rows, not ORM objects: presenting only reads them, and rows cost a fraction (events present thousands).
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]
_WRITE_OFFS = WriteOff.__table__  # type: ignore[attr-defined]


def amount_due(invoice: Invoice | Any) -> Decimal:
    """What is still to be paid: never negative (an overpayment is shown by status and amount_paid)."""
    return invoice_amount_due(
        invoice.total_amount, invoice.amount_paid, invoice.write_off_amount, invoice.status == "cancelled"
    )


def write_off_public(w: WriteOff | Any) -> WriteOffPublic:
    return WriteOffPublic(
        id=w.id,
        amount=w.amount,
        reason=w.reason,
        invoice_id=w.invoice_id,
        transaction_id=w.transaction_id,
        allocation_id=w.allocation_id,
        note=w.note,
        created_by=w.created_by,
        created_at=w.created_at,
    )


def allocation_public(a: Allocation | Any) -> AllocationPublic:
    return AllocationPublic(
        id=a.id,
        transaction_id=a.transaction_id,
        invoice_id=a.invoice_id,
        amount=a.amount,
        method=a.method,
        confidence=a.confidence,
        reasons=a.reasons,
        created_by=a.created_by,
        created_at=a.created_at,
    )


def present_invoices(session: Session, invoices: Sequence[Invoice | Any]) -> list[InvoicePublic]:
    """Present invoices (ORM objects or plain rows) with at most three extra queries in all, not per invoice.

    Allocations are only looked up for invoices with something paid (allocation amounts are positive),
    write-offs for invoices with something written off, documents only for invoices that have some.
    """
    session.flush()  # the plain selects below do not flush pending ORM objects themselves
    paid_ids = [inv.id for inv in invoices if inv.amount_paid != 0]
    written_ids = [inv.id for inv in invoices if inv.write_off_amount != 0]
    doc_ids = [inv.id for inv in invoices if inv.document_count]
    allocations: dict[str, list[Any]] = defaultdict(list)
    write_offs: dict[str, list[Any]] = defaultdict(list)
    documents: dict[str, list[Any]] = defaultdict(list)
    if paid_ids:
        for a in session.execute(
            _ALLOCATIONS.select().where(_ALLOCATIONS.c.invoice_id.in_(paid_ids)).order_by(_ALLOCATIONS.c.created_at)
        ):
            allocations[a.invoice_id].append(a)
    if written_ids:
        for w in session.execute(
            _WRITE_OFFS.select().where(_WRITE_OFFS.c.invoice_id.in_(written_ids)).order_by(_WRITE_OFFS.c.created_at)
        ):
            write_offs[w.invoice_id].append(w)  # type: ignore[index]
    if doc_ids:
        doc_columns = select(
            InvoiceDocument.id,
            InvoiceDocument.invoice_id,
            InvoiceDocument.filename,
            InvoiceDocument.content_type,
            InvoiceDocument.size,
            InvoiceDocument.sha256,
        ).where(col(InvoiceDocument.invoice_id).in_(doc_ids))
        for row in session.exec(doc_columns):
            documents[row.invoice_id].append(row)
    return [
        invoice_public(inv, allocations.get(inv.id, ()), write_offs.get(inv.id, ()), documents.get(inv.id, ()))
        for inv in invoices
    ]


def invoice_public(
    inv: Any, allocations: Iterable[Any], write_offs: Iterable[Any], documents: Iterable[Any]
) -> InvoicePublic:
    """One invoice row (ORM object or plain row) with its allocation, write-off and document rows."""
    return InvoicePublic(
        id=inv.id,
        external_id=inv.external_id,
        number=inv.number,
        kind=inv.kind,
        issue_date=inv.issue_date,
        due_date=inv.due_date,
        currency=inv.currency,
        total_amount=inv.total_amount,
        customer=CustomerPublic(
            name=inv.customer_name,
            vat=inv.customer_vat,
            iban=inv.customer_iban,
            email=inv.customer_email,
            address=inv.customer_address,
            peppol_id=inv.customer_peppol_id,
        ),
        lines=inv.lines or [],
        vat_breakdown=inv.vat_breakdown or [],
        tax_exclusive_amount=inv.tax_exclusive_amount,
        tax_amount=inv.tax_amount,
        buyer_reference=inv.buyer_reference,
        billing_reference=inv.billing_reference,
        structured_reference=inv.structured_reference,
        status=inv.status,
        amount_paid=inv.amount_paid,
        write_off_amount=inv.write_off_amount,
        amount_due=amount_due(inv),
        paid_at=inv.paid_at,
        cancelled_at=inv.cancelled_at,
        allocations=[allocation_public(a) for a in allocations],
        write_offs=[write_off_public(w) for w in write_offs],
        documents=[
            DocumentPublic(id=d.id, filename=d.filename, content_type=d.content_type, size=d.size, sha256=d.sha256)
            for d in documents
        ],
        delivery=DeliveryPublic(
            status=inv.delivery_status, attempts=inv.delivery_attempts, last_error=inv.delivery_last_error
        ),
        created_at=inv.created_at,
        updated_at=inv.updated_at,
    )


def present_invoice(session: Session, invoice: Invoice) -> InvoicePublic:
    return present_invoices(session, [invoice])[0]
