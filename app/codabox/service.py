"""CodaBox link: connect a company, forward its invoices exactly once in date order, pull its CODA feed.

Forwarding: creating an invoice queues a per-company delivery job in the same transaction (outbox). The
job sends the company's pending invoices oldest first; a transient failure stops the run (so the order
holds) and the job retries with backoff; CodaBox's duplicate answer means an earlier attempt did arrive
(its response was lost), so the invoice counts as delivered: nothing is ever sent twice.

Reading: a sync job lists each feed, downloads each CODA entry, ingests it through the same path as uploads,
and only then commits the feed offset past it. A failed download stops the sync (retried later); an entry
ingested before (re-delivery) stores nothing new but the offset still moves.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import httpx
from sqlmodel import Session, col, func, select

from app.codabox.client import (
    CodaboxClient,
    CodaboxError,
    Credentials,
    DuplicateDocumentError,
    PermanentCodaboxError,
    RetryableCodaboxError,
)
from app.codabox.models import CodaboxConnection, CodaboxFeedEntry
from app.codabox.ubl import Party, UblInvoice, build_ubl
from app.companies.models import BankAccount, Company
from app.config import get_settings
from app.crypto import decrypt, encrypt
from app.db import unit_of_work
from app.errors import AppError, Conflict, ValidationFailed
from app.events import record_event
from app.invoices.models import Invoice, InvoiceDocument
from app.outbox import RetryableJobError, enqueue, register
from app.outbox_models import Job
from app.timeutil import utcnow

log = logging.getLogger(__name__)

DELIVER = "codabox.deliver"
SYNC = "codabox.sync"

#: Tests point this at the local stand-in's ASGI app; production talks to the network.
transport: httpx.BaseTransport | None = None


def client() -> CodaboxClient:
    settings = get_settings()
    if not settings.codabox_software_company:
        raise Conflict("CodaBox is not configured: set CODARECON_CODABOX_SOFTWARE_COMPANY")
    return CodaboxClient(
        settings.codabox_base_url,
        settings.codabox_software_company,
        timeout=settings.codabox_timeout_seconds,
        transport=transport,
    )


def _require_enabled() -> None:
    if not get_settings().codabox_enabled:
        raise Conflict("CodaBox is disabled: set CODARECON_CODABOX_ENABLED=true")


def connection(session: Session, company_id: str) -> CodaboxConnection:
    found = session.get(CodaboxConnection, company_id)
    if found is None:
        found = CodaboxConnection(company_id=company_id)
        session.add(found)
    return found


def _call(action: Any) -> Any:
    try:
        return action()
    except RetryableCodaboxError as exc:
        raise _unavailable(str(exc)) from None
    except PermanentCodaboxError as exc:
        raise ValidationFailed(f"CodaBox refused: {exc}", errors=[{"message": str(exc)}]) from None


def _unavailable(message: str) -> AppError:
    error = AppError(message)
    error.status, error.title, error.slug = 503, "CodaBox unavailable", "codabox-unavailable"
    return error


# -- connecting ----------------------------------------------------------------------------------------


def request_access_token(session: Session, company: Company) -> CodaboxConnection:
    _require_enabled()
    with client() as cb:
        _call(lambda: cb.request_access_token(company.vat))
    conn = connection(session, company.id)
    if conn.state != "connected":
        conn.state = "token_requested"
    conn.updated_at = utcnow()
    session.add(conn)
    return conn


def exchange_token(session: Session, company: Company, token: str) -> CodaboxConnection:
    _require_enabled()
    with client() as cb:
        creds: Credentials = _call(lambda: cb.get_credentials(token))
    conn = connection(session, company.id)
    conn.username, conn.password_encrypted = creds.username, encrypt(creds.password)
    conn.state, conn.last_error, conn.updated_at = "connected", None, utcnow()
    session.add(conn)
    # Invoices waiting for the connection can go now, and the first statements can come in.
    enqueue(
        session,
        DELIVER,
        {"company_id": company.id},
        company_id=company.id,
        dedupe_key=f"deliver:{company.id}",
        expedite=True,
    )
    enqueue(
        session, SYNC, {"company_id": company.id}, company_id=company.id, dedupe_key=f"sync:{company.id}", expedite=True
    )
    return conn


def credentials(session: Session, company_id: str) -> Credentials | None:
    conn = session.get(CodaboxConnection, company_id)
    if conn is None or conn.state != "connected" or not conn.username or not conn.password_encrypted:
        return None
    return Credentials(conn.username, decrypt(conn.password_encrypted))


def request_sync(session: Session, company_id: str) -> bool:
    _require_enabled()
    return (
        enqueue(session, SYNC, {"company_id": company_id}, company_id=company_id, dedupe_key=f"sync:{company_id}")
        is not None
    )


def status(session: Session, company: Company) -> dict[str, Any]:
    conn = session.get(CodaboxConnection, company.id)
    counts = dict(
        session.exec(
            select(Invoice.delivery_status, func.count())
            .where(Invoice.company_id == company.id)
            .group_by(col(Invoice.delivery_status))
        ).all()
    )
    entries = dict(
        session.exec(
            select(CodaboxFeedEntry.status, func.count())
            .where(CodaboxFeedEntry.company_id == company.id)
            .group_by(col(CodaboxFeedEntry.status))
        ).all()
    )
    return {
        "enabled": get_settings().codabox_enabled,
        "state": conn.state if conn else "not_connected",
        "last_sync_at": conn.last_sync_at if conn else None,
        "last_error": conn.last_error if conn else None,
        "pending_deliveries": counts.get("pending", 0),
        "delivered": counts.get("delivered", 0),
        "failed_deliveries": counts.get("failed", 0),
        "statements_ingested": entries.get("ingested", 0),
        "statements_failed": entries.get("failed", 0),
    }


# -- forwarding invoices -------------------------------------------------------------------------------


def queue_delivery(session: Session, company_id: str, invoices: list[Any]) -> None:
    """after_create hook: one waiting delivery job per company covers every new invoice."""
    if get_settings().codabox_enabled and any(getattr(i, "delivery_status", None) == "pending" for i in invoices):
        enqueue(session, DELIVER, {"company_id": company_id}, company_id=company_id, dedupe_key=f"deliver:{company_id}")


def _document(session: Session, invoice: Invoice) -> tuple[bytes, bytes | None, str]:
    """The UBL to send (the client's own, or generated) and the PDF to attach."""
    docs = list(session.exec(select(InvoiceDocument).where(InvoiceDocument.invoice_id == invoice.id)).all())
    pdf = next((d for d in docs if "pdf" in d.content_type.lower()), None)
    ubl = next((d for d in docs if "xml" in d.content_type.lower()), None)
    filename = f"{invoice.number.replace('/', '-')}.xml"
    if ubl is not None:
        return ubl.content, pdf.content if pdf else None, ubl.filename or filename
    company = session.get(Company, invoice.company_id)
    iban = session.exec(select(BankAccount.iban).where(BankAccount.company_id == invoice.company_id)).first()
    document = UblInvoice(
        number=invoice.number,
        kind=invoice.kind,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        total=invoice.total_amount,
        seller=Party(name=company.name if company else "", vat=company.vat if company else None),
        buyer=Party(name=invoice.customer_name, vat=invoice.customer_vat, email=invoice.customer_email),
        payment_reference=invoice.structured_reference,
        seller_iban=iban,
        pdf=pdf.content if pdf else None,
        pdf_filename=pdf.filename if pdf else "invoice.pdf",
    )
    return build_ubl(document), pdf.content if pdf else None, filename


def _settle_delivery(invoice_id: str, status: str, error: str | None) -> None:
    from app.invoices.presenter import present_invoice

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
            resource = present_invoice(session, invoice).model_dump(mode="json")
            record_event(
                session,
                invoice.company_id,
                kind,
                invoice.id,
                {"data": resource, "change": {"delivery": resource["delivery"]}},
            )


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
        ubl, pdf, filename = document  # type: ignore[misc]
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


# -- reading the feed ----------------------------------------------------------------------------------


def sync_company(job: Job) -> None:
    company_id = job.payload["company_id"]
    with unit_of_work(read_only=True) as session:
        creds = credentials(session, company_id)
    if creds is None:
        return
    try:
        with client() as cb:
            pod = cb.pod_client(creds)
            for feed_id in pod.feed_ids:
                for entry in cb.feed(creds, feed_id):
                    if entry.document_model.lower() == "coda":
                        _ingest_entry(cb, creds, company_id, feed_id, entry.feed_index)
                    # Commit only once the entry is safely stored (or was before, or is set aside as failed).
                    cb.commit_offset(creds, feed_id, entry.feed_index)
    except CodaboxError as exc:
        _note_sync(company_id, str(exc))
        raise RetryableJobError(str(exc)) from None
    except RetryableJobError as exc:
        _note_sync(company_id, str(exc))
        raise
    _note_sync(company_id, None)


def _ingest_entry(cb: CodaboxClient, creds: Credentials, company_id: str, feed_id: str, feed_index: str) -> None:
    from app.statements.service import ingest_coda

    with unit_of_work(read_only=True) as session:
        seen = session.get(CodaboxFeedEntry, feed_index)
        if seen is not None and seen.status in ("ingested", "failed"):
            return
    data = cb.download(creds, feed_index)  # a failure here stops the sync before the offset moves
    try:
        with unit_of_work() as session:
            result = ingest_coda(session, company_id, data, source="codabox")
            entry = session.get(CodaboxFeedEntry, feed_index) or CodaboxFeedEntry(
                feed_index=feed_index, company_id=company_id, feed_id=feed_id
            )
            entry.status, entry.ingested_at, entry.attempts = "ingested", utcnow(), entry.attempts + 1
            entry.coda_file_id = result.response.file_id
            session.add(entry)
    except ValidationFailed as exc:
        if not exc.extra.get("incomplete"):
            _set_aside(company_id, feed_id, feed_index, exc)
            return
        # Cut off on the way: download it again on the next sync, before the offset moves past it.
        attempts = _note_attempt(company_id, feed_id, feed_index, exc.detail)
        if attempts >= INCOMPLETE_DOWNLOAD_ATTEMPTS:
            _set_aside(company_id, feed_id, feed_index, exc)
            return
        raise RetryableJobError(f"feed entry {feed_index} arrived incomplete: {exc.detail}") from None
    except Conflict as exc:
        _set_aside(company_id, feed_id, feed_index, exc)


#: How often a feed entry that arrives cut off is downloaded again before it is set aside as failed.
INCOMPLETE_DOWNLOAD_ATTEMPTS = 5


def _note_attempt(company_id: str, feed_id: str, feed_index: str, error: str) -> int:
    with unit_of_work() as session:
        entry = session.get(CodaboxFeedEntry, feed_index) or CodaboxFeedEntry(
            feed_index=feed_index, company_id=company_id, feed_id=feed_id
        )
        entry.attempts, entry.last_error = entry.attempts + 1, error
        session.add(entry)
        return entry.attempts


def _set_aside(company_id: str, feed_id: str, feed_index: str, exc: AppError) -> None:
    """The file can never be stored as it is: keep it aside for a person and move on."""
    log.warning("CodaBox entry %s for company %s refused: %s", feed_index, company_id, exc.detail)
    with unit_of_work() as session:
        entry = session.get(CodaboxFeedEntry, feed_index) or CodaboxFeedEntry(
            feed_index=feed_index, company_id=company_id, feed_id=feed_id, attempts=1
        )
        entry.status, entry.last_error = "failed", exc.detail
        session.add(entry)


def _note_sync(company_id: str, error: str | None) -> None:
    with unit_of_work() as session:
        conn = connection(session, company_id)
        conn.last_sync_at, conn.last_error = utcnow(), error
        session.add(conn)


def poll_connected() -> None:
    """Periodic: a sync job for every connected company (at most one waiting per company)."""
    if not get_settings().codabox_enabled:
        return
    with unit_of_work() as session:
        for company_id in session.exec(
            select(CodaboxConnection.company_id).where(CodaboxConnection.state == "connected")
        ):
            enqueue(session, SYNC, {"company_id": company_id}, company_id=company_id, dedupe_key=f"sync:{company_id}")


def register_jobs() -> None:
    # A company's queue is never abandoned: transient failures retry with capped backoff for as long as it takes.
    register(DELIVER, deliver_company, max_attempts=100_000, lease_seconds=300)
    register(SYNC, sync_company, max_attempts=100_000, lease_seconds=600)
