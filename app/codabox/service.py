"""CodaBox link: connecting a company (one-time token, encrypted credentials), its status, the job kinds.

Forwarding invoices lives in ``delivery.py``, reading the CODA feed in ``feed.py``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from sqlmodel import Session, col, func, select

from app.codabox.client import (
    CodaboxClient,
    Credentials,
    PermanentCodaboxError,
    RetryableCodaboxError,
)
from app.codabox.models import CodaboxConnection, CodaboxFeedEntry
from app.companies.models import Company
from app.config import get_settings
from app.crypto import decrypt, encrypt
from app.errors import AppError, Conflict, ValidationFailed
from app.invoices.models import Invoice
from app.outbox import enqueue, register
from app.timeutil import utcnow
from app.vat import VatError, normalize_vat

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
        pod = _call(lambda: cb.pod_client(creds))
    _check_binding(company, pod.feed_client_ids)
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


def _check_binding(company: Company, identifiers: list[str]) -> None:
    """The credentials must be this company's: a token sent to another company must not open its feed."""
    reported = set()
    for text in identifiers:
        try:
            reported.add(normalize_vat(text))
        except VatError:
            continue  # a name, not a number
    if company.vat not in reported:
        shown = ", ".join(sorted(reported)) or "no VAT or enterprise number"
        raise Conflict(
            f"these CodaBox credentials belong to {shown}, not to {company.vat}; nothing was stored",
            errors=[{"loc": "body.token", "message": "the token is another company's"}],
        )


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
        "failed_entries": [
            {"feed_index": e.feed_index, "attempts": e.attempts, "last_error": e.last_error}
            for e in session.exec(
                select(CodaboxFeedEntry)
                .where(CodaboxFeedEntry.company_id == company.id, CodaboxFeedEntry.status == "failed")
                .order_by(col(CodaboxFeedEntry.created_at).desc())
                .limit(FAILED_ENTRIES_SHOWN)
            )
        ],
    }


#: The status lists the newest feed entries that were set aside, for a person to look at.
FAILED_ENTRIES_SHOWN = 20


def register_jobs() -> None:
    from app.codabox.delivery import deliver_company
    from app.codabox.feed import sync_company

    # A company's queue is never abandoned: transient failures retry with capped backoff for as long as it takes.
    register(DELIVER, deliver_company, max_attempts=100_000, lease_seconds=300)
    register(SYNC, sync_company, max_attempts=100_000, lease_seconds=600)
