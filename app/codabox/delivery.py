"""Forwarding invoices to CodaBox exactly once, in date order.

Creating an invoice queues a per-company delivery job in the same transaction (outbox). The job sends the
company's pending invoices oldest first; a transient failure stops the run (so the order holds) and the job
retries with backoff; CodaBox's duplicate answer means an earlier attempt did arrive (its response was
lost), so the invoice counts as delivered: nothing is ever sent twice.

This is one of CodaBox's two halves (the other, reading bank statements in, is ``feed.py``; they share only
``connection.py`` and never import each other). ``ubl.py`` builds the documents it sends.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app.codabox.client import (
    CodaboxError,
    DuplicateDocumentError,
    RetryableCodaboxError,
)
from app.codabox.connection import client, credentials
from app.codabox.ubl import Address, Party, UblInvoice, build_ubl
from app.companies.models import BankAccount, Company
from app.core.config import get_settings
from app.core.db import unit_of_work
from app.core.outbox import RetryableJobError, enqueue
from app.core.outbox_models import Job
from app.core.timeutil import utcnow
from app.events.record import record_delivery
from app.invoices.models import Invoice, InvoiceDocument
from app.peppol.lines import line_from_dict
from app.peppol.validation import Report, validate_ubl

DELIVER = "codabox.deliver"


def queue_delivery(session: Session, company_id: str, invoices: list[Any]) -> bool:
    """after_create hook: one waiting delivery job per company covers every new invoice (their money state
    stays as it is: False)."""
    if get_settings().codabox_enabled and any(getattr(i, "delivery_status", None) == "pending" for i in invoices):
        queue_deliveries(session, company_id)
    return False


def queue_deliveries(session: Session, company_id: str, *, expedite: bool = False) -> None:
    """A delivery job for the company's pending invoices, unless one waits already (the dedupe key)."""
    enqueue(
        session,
        DELIVER,
        {"company_id": company_id},
        company_id=company_id,
        dedupe_key=f"deliver:{company_id}",
        expedite=expedite,
    )


def _document(session: Session, invoice: Invoice) -> tuple[bytes, bytes | None, str, bool]:
    """The UBL to send (the client's own, or generated from the lines), the PDF, a file name, and whether the
    Peppol BIS rules apply on top of EN 16931 (the client's document, or a buyer with a Peppol id)."""
    docs = list(session.exec(select(InvoiceDocument).where(InvoiceDocument.invoice_id == invoice.id)).all())
    pdf = next((d for d in docs if "pdf" in d.content_type.lower()), None)
    ubl = next((d for d in docs if "xml" in d.content_type.lower()), None)
    filename = f"{invoice.number.replace('/', '-')}.xml"
    if ubl is not None:
        return ubl.content, pdf.content if pdf else None, ubl.filename or filename, True
    company = session.get_one(Company, invoice.company_id)
    iban = session.exec(
        select(BankAccount.iban).where(BankAccount.company_id == invoice.company_id).order_by(col(BankAccount.iban))
    ).first()
    buyer_address = Address(**invoice.customer_address) if invoice.customer_address else None
    document = UblInvoice(
        number=invoice.number,
        kind=invoice.kind,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        seller=Party(
            name=company.name,
            vat=company.vat,
            endpoint=f"0208:{company.vat[2:]}",
            address=Address(**company.address) if company.address else None,
        ),
        buyer=Party(
            name=invoice.customer_name,
            vat=invoice.customer_vat,
            endpoint=invoice.customer_peppol_id,
            address=buyer_address,
        ),
        payment_reference=invoice.structured_reference,
        lines=tuple(line_from_dict(line) for line in invoice.lines or []),
        seller_iban=iban,
        buyer_reference=invoice.buyer_reference,
        billing_reference=invoice.billing_reference,
        pdf=pdf.content if pdf else None,
        pdf_filename=pdf.filename if pdf else "invoice.pdf",
    )
    return build_ubl(document), pdf.content if pdf else None, filename, invoice.customer_peppol_id is not None


def refusal(report: Report) -> str:
    """What the delivery shows for a document that fails the rules: the rule ids, then the first messages."""
    first = "; ".join(e.message for e in report.errors[:3])
    return f"not sent: the UBL document fails {report.failed_rules} ({first})"[:2000]


def _settle_delivery(invoice_id: str, status: str, error: str | None) -> None:
    with unit_of_work() as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None:
            return
        invoice.delivery_attempts += 1
        invoice.delivery_status, invoice.delivery_last_error, invoice.updated_at = status, error, utcnow()
        session.add(invoice)
        session.flush()
        if status in ("delivered", "failed"):
            kind = "invoice.delivered" if status == "delivered" else "invoice.delivery_failed"
            record_delivery(session, invoice, kind)  # with the invoice as it is now (app/events)


def deliver_company(job: Job) -> None:
    settings = get_settings()
    company_id = job.payload["company_id"]
    while True:
        with unit_of_work(read_only=True) as session:
            invoice = session.exec(
                select(Invoice)
                .where(Invoice.company_id == company_id, Invoice.delivery_status == "pending")
                .order_by(col(Invoice.issue_date), col(Invoice.created_at), col(Invoice.id))
            ).first()
            if invoice is None:
                return
            if invoice.issue_date.year != date.today().year:
                skip = "CodaBox takes sales invoices of the current calendar year only"
                document = None
            else:
                skip = None
                creds = credentials(session, company_id)
                if creds is None:
                    raise RetryableJobError("the company is not connected to CodaBox yet")
                document = _document(session, invoice)
            invoice_id = invoice.id
        if skip:
            with unit_of_work() as session:
                row = session.get(Invoice, invoice_id)
                row.delivery_status, row.delivery_last_error = "disabled", skip  # type: ignore[union-attr]
                session.add(row)
            continue
        if not settings.codabox_sales_invoice_path:
            raise RetryableJobError("CODARECON_CODABOX_SALES_INVOICE_PATH is not set")
        ubl, pdf, filename, peppol = document  # type: ignore[misc]
        report = validate_ubl(ubl, peppol=peppol)
        if not report.valid:  # never forwarded: the accountant would book a wrong invoice
            _settle_delivery(invoice_id, "failed", refusal(report))
            continue
        try:
            with client() as cb:
                cb.upload_sales_invoice(
                    creds, settings.codabox_sales_invoice_path, ubl_xml=ubl, filename=filename, pdf=pdf
                )
        except DuplicateDocumentError:
            pass  # an earlier attempt arrived and only its answer was lost: delivered, exactly once
        except RetryableCodaboxError as exc:
            with unit_of_work() as session:
                row = session.get(Invoice, invoice_id)
                row.delivery_attempts += 1  # type: ignore[union-attr]
                row.delivery_last_error = str(exc)  # type: ignore[union-attr]
                session.add(row)
            raise RetryableJobError(str(exc)) from None
        except CodaboxError as exc:
            _settle_delivery(invoice_id, "failed", str(exc))
            continue
        _settle_delivery(invoice_id, "delivered", None)
