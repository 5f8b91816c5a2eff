"""Turn invoice rows (with their allocations and documents) into the API resource."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
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
)
from app.reconciliation.models import Allocation

ZERO = Decimal("0.00")


def amount_due(invoice: Invoice) -> Decimal:
    """What is still to be paid: never negative (an overpayment is shown by status and amount_paid)."""
    if invoice.status == "cancelled":
        return ZERO
    return max(invoice.total_amount - invoice.amount_paid, ZERO)


def allocation_public(a: Allocation) -> AllocationPublic:
    return AllocationPublic(
        id=a.id,
        transaction_id=a.transaction_id,
        invoice_id=a.invoice_id,
        amount=a.amount,
        fee=a.fee,
        method=a.method,
        confidence=a.confidence,
        reasons=a.reasons,
        created_by=a.created_by,
        created_at=a.created_at,
    )


def present_invoices(session: Session, invoices: Sequence[Invoice | Any]) -> list[InvoicePublic]:
    """Present invoices (ORM objects or plain rows) with at most two extra queries in all, not per invoice.

    Allocations are only looked up for invoices with something paid (allocation amounts are positive),
    documents only for invoices that have some.
    """
    paid_ids = [inv.id for inv in invoices if inv.amount_paid != 0]
    doc_ids = [inv.id for inv in invoices if inv.document_count]
    allocations: dict[str, list[Allocation]] = defaultdict(list)
    documents: dict[str, list[Any]] = defaultdict(list)
    if paid_ids:
        for a in session.exec(
            select(Allocation).where(col(Allocation.invoice_id).in_(paid_ids)).order_by(col(Allocation.created_at))
        ):
            allocations[a.invoice_id].append(a)
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
        InvoicePublic(
            id=inv.id,
            external_id=inv.external_id,
            number=inv.number,
            kind=inv.kind,
            issue_date=inv.issue_date,
            due_date=inv.due_date,
            currency=inv.currency,
            total_amount=inv.total_amount,
            customer=CustomerPublic(
                name=inv.customer_name, vat=inv.customer_vat, iban=inv.customer_iban, email=inv.customer_email
            ),
            structured_reference=inv.structured_reference,
            status=inv.status,
            amount_paid=inv.amount_paid,
            amount_due=amount_due(inv),
            paid_at=inv.paid_at,
            cancelled_at=inv.cancelled_at,
            allocations=[allocation_public(a) for a in allocations.get(inv.id, [])],
            documents=[
                DocumentPublic(id=d.id, filename=d.filename, content_type=d.content_type, size=d.size, sha256=d.sha256)
                for d in documents.get(inv.id, [])
            ],
            delivery=DeliveryPublic(
                status=inv.delivery_status, attempts=inv.delivery_attempts, last_error=inv.delivery_last_error
            ),
            created_at=inv.created_at,
            updated_at=inv.updated_at,
        )
        for inv in invoices
    ]


def present_invoice(session: Session, invoice: Invoice) -> InvoicePublic:
    return present_invoices(session, [invoice])[0]
