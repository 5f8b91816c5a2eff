"""CodaBox link: connecting a company (one-time token, encrypted credentials), its status, the job kinds.

CodaBox's pod-client names its feed clients but gives no VAT or enterprise number, so connecting cannot check
whose credentials these are; the feed does, on every statement's holder (``feed.py``), and a statement of
another enterprise puts the connection in ``mismatch`` until an admin resumes or disconnects it.
Forwarding invoices lives in ``delivery.py``, reading the feed in ``feed.py``.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlmodel import Session, col, func, select

from app.codabox.client import (
    DEFAULT_FETCH_DELAY,
    CodaboxClient,
    Credentials,
    PermanentCodaboxError,
    PodClient,
    RetryableCodaboxError,
)
from app.codabox.models import CodaboxConnection, CodaboxFeedEntry
from app.companies.models import Company
from app.core.config import get_settings
from app.core.crypto import decrypt, encrypt
from app.core.errors import AppError, Conflict, TooManyRequests, ValidationFailed
from app.core.events import record_event
from app.core.outbox import enqueue, register
from app.core.timeutil import iso, utcnow
from app.invoices.models import Invoice
from app.reconciliation.names import name_similarity

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
    conn = connection(session, company.id)
    conn.username, conn.password_encrypted = creds.username, encrypt(creds.password)
    conn.state, conn.last_error, conn.mismatch, conn.updated_at = "connected", None, None, utcnow()
    note_pod(conn, pod, company.name)
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
    queue_sync(session, company.id, expedite=True)
    return conn


def note_pod(conn: CodaboxConnection, pod: PodClient, company_name: str) -> None:
    """What pod-client says, kept for the status: whom the credentials serve, the fetch delay, the format.

    CodaBox gives names, not numbers: a name unlike the company's is a warning for a person to read, never a
    refusal (an accountant may know the client by a trade name); the statements' holders decide (feed.py)."""
    conn.feed_clients = [{"id": f.id, "name": f.name, "code": f.code} for f in pod.feed_clients]
    conn.fetch_delay = pod.fetch_delay
    conn.statement_format = pod.statement_format(get_settings().codabox_statement_format)
    names = [f.name for f in pod.feed_clients if f.name]
    if names and max(name_similarity(name, company_name) for name in names) < NAME_WARNING_BELOW:
        conn.name_warning = (
            f"CodaBox names these credentials' client {', '.join(repr(n) for n in names)}, which does not look like "
            f"{company_name!r}: check that the token was this company's (statements of another enterprise are "
            "refused either way)"
        )
    else:
        conn.name_warning = None


#: A feed client's name scoring below this against the company's name (0-100, as matching scores payer names)
#: makes the status warn.
NAME_WARNING_BELOW = 60


def credentials(session: Session, company_id: str) -> Credentials | None:
    conn = session.get(CodaboxConnection, company_id)
    if conn is None or conn.state != "connected" or not conn.username or not conn.password_encrypted:
        return None
    return Credentials(conn.username, decrypt(conn.password_encrypted))


def next_poll_at(conn: CodaboxConnection) -> datetime | None:
    """When CodaBox lets this company's feed be polled again (its fetch_delay after the last poll); None: now."""
    if conn.last_polled_at is None:
        return None
    return conn.last_polled_at + timedelta(seconds=fetch_delay(conn))


def fetch_delay(conn: CodaboxConnection) -> int:
    return DEFAULT_FETCH_DELAY if conn.fetch_delay is None else conn.fetch_delay


def queue_sync(session: Session, company_id: str, *, expedite: bool = False) -> bool:
    """A sync job for the company, unless one waits already (one per company: the dedupe key)."""
    job = enqueue(
        session,
        SYNC,
        {"company_id": company_id},
        company_id=company_id,
        dedupe_key=f"sync:{company_id}",
        expedite=expedite,
    )
    return job is not None


def request_sync(session: Session, company_id: str) -> bool:
    """Queue a sync now, unless CodaBox's fetch_delay since the last poll has not passed (429, Retry-After)."""
    _require_enabled()
    conn = session.get(CodaboxConnection, company_id)
    if conn is None or conn.state not in ("connected",):
        state = conn.state if conn else "not_connected"
        raise Conflict(f"the CodaBox connection is {state}: nothing to sync", state=state)
    due = next_poll_at(conn)
    if due is not None and due > utcnow():
        raise TooManyRequests(
            f"CodaBox asks for at least {fetch_delay(conn)} s between two polls of a feed; "
            f"this company's was polled at {iso(conn.last_polled_at)}",
            retry_after=math.ceil((due - utcnow()).total_seconds()),
        )
    return queue_sync(session, company_id)


def resume(session: Session, company: Company) -> CodaboxConnection:
    """An admin has looked at a mismatch and keeps the connection: syncing starts again. The foreign entries
    stay recorded and are never read again."""
    conn = session.get(CodaboxConnection, company.id)
    if conn is None or conn.state != "mismatch":
        raise Conflict(f"the CodaBox connection is {conn.state if conn else 'not_connected'}, not mismatch")
    conn.state, conn.mismatch, conn.updated_at = "connected", None, utcnow()
    session.add(conn)
    queue_sync(session, company.id)
    return conn


def disconnect(session: Session, company: Company) -> CodaboxConnection:
    """Forget the credentials (a wrong token, a company leaving): nothing is delivered or synced until the
    company connects again. What was stored stays."""
    conn = connection(session, company.id)
    conn.username = conn.password_encrypted = None
    conn.state, conn.mismatch, conn.updated_at = "not_connected", None, utcnow()
    session.add(conn)
    return conn


def mismatch(session: Session, company_id: str, feed_index: str, holder: str | None, detail: str) -> None:
    """A statement of another enterprise came through the company's feed: stop syncing, say so, tell."""
    conn = connection(session, company_id)
    conn.state, conn.updated_at = "mismatch", utcnow()
    conn.mismatch = f"feed entry {feed_index} holds a statement of enterprise {holder}: {detail}"
    session.add(conn)
    session.flush()
    record_event(
        session,
        company_id,
        "codabox.mismatch",
        company_id,
        {
            "data": {"state": "mismatch", "mismatch": conn.mismatch, "feed_index": feed_index, "holder": holder},
            "change": {"state": "mismatch"},
        },
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
    aside = list(
        session.exec(
            select(CodaboxFeedEntry)
            .where(CodaboxFeedEntry.company_id == company.id, col(CodaboxFeedEntry.status).in_(SET_ASIDE))
            .order_by(col(CodaboxFeedEntry.created_at).desc())
            .limit(ENTRIES_SHOWN)
        )
    )
    return {
        "enabled": get_settings().codabox_enabled,
        "state": conn.state if conn else "not_connected",
        "clients": (conn.feed_clients or []) if conn else [],
        "warnings": [conn.name_warning] if conn and conn.name_warning else [],
        "mismatch": conn.mismatch if conn else None,
        "statement_format": conn.statement_format if conn else None,
        "fetch_delay": conn.fetch_delay if conn else None,
        "last_polled_at": conn.last_polled_at if conn else None,
        "next_poll_at": next_poll_at(conn) if conn else None,
        "last_sync_at": conn.last_sync_at if conn else None,
        "last_error": conn.last_error if conn else None,
        "pending_deliveries": counts.get("pending", 0),
        "delivered": counts.get("delivered", 0),
        "failed_deliveries": counts.get("failed", 0),
        "statements_ingested": entries.get("ingested", 0),
        "statements_failed": entries.get("failed", 0),
        "entries_skipped": entries.get("skipped", 0),
        "statements_foreign": entries.get("foreign", 0),
        "entries_set_aside": [
            {
                "feed_index": e.feed_index,
                "document_model": e.document_model,
                "outcome": e.status,
                "reason": e.last_error,
                "holder_number": e.holder_number,
                "attempts": e.attempts,
            }
            for e in aside
        ],
    }


#: What a feed entry may end as without being ingested: each is recorded and shown, never passed over.
SET_ASIDE = ("failed", "skipped", "foreign")
#: The status lists the newest entries set aside, for a person to look at.
ENTRIES_SHOWN = 20


def register_jobs() -> None:
    from app.codabox.delivery import deliver_company
    from app.codabox.feed import sync_company

    # A company's queue is never abandoned: transient failures retry with capped backoff for as long as it takes.
    register(DELIVER, deliver_company, max_attempts=100_000, lease_seconds=300)
    register(SYNC, sync_company, max_attempts=100_000, lease_seconds=600)
