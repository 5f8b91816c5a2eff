"""CodaBox link: connecting a company (one-time token, encrypted credentials), its status, the job kinds.

CodaBox's pod-client names its feed clients but gives no VAT or enterprise number, so connecting cannot check
whose credentials these are; the feed does, on every statement's holder (``feed.py``), and a statement of
another enterprise puts the connection in ``mismatch`` until an admin resumes or disconnects it.

CodaBox's two halves are separate modules that never import each other: the bank feed (``feed.py``) and
invoice forwarding (``delivery.py``, ``ubl.py``); what both need is ``connection.py``. This module sits above
them: it connects a company, starts both, and reports on both (service -> feed, delivery -> connection).
"""

from __future__ import annotations

import math
from typing import Any

from sqlmodel import Session, col, func, select

from app.codabox.client import Credentials, PermanentCodaboxError, RetryableCodaboxError
from app.codabox.connection import client, connection
from app.codabox.delivery import DELIVER, deliver_company, queue_deliveries
from app.codabox.feed import SYNC, fetch_delay, next_poll_at, note_pod, queue_sync, sync_company
from app.codabox.models import CodaboxConnection, CodaboxFeedEntry
from app.companies.models import Company
from app.core.config import get_settings
from app.core.crypto import encrypt
from app.core.errors import AppError, Conflict, TooManyRequests, ValidationFailed
from app.core.outbox import register
from app.core.timeutil import iso, utcnow
from app.invoices.models import Invoice


class CodaboxUnavailable(AppError):
    """CodaBox was slow, down or busy: try again later."""

    status, title, slug = 503, "CodaBox unavailable", "codabox-unavailable"


def _require_enabled() -> None:
    if not get_settings().codabox_enabled:
        raise Conflict("CodaBox is disabled: set CODARECON_CODABOX_ENABLED=true")


def _call(action: Any) -> Any:
    try:
        return action()
    except RetryableCodaboxError as exc:
        raise CodaboxUnavailable(str(exc)) from None
    except PermanentCodaboxError as exc:
        raise ValidationFailed(f"CodaBox refused: {exc}", errors=[{"message": str(exc)}]) from None


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
    queue_deliveries(session, company.id, expedite=True)
    queue_sync(session, company.id, expedite=True)
    return conn


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
        "statements_duplicate": entries.get("duplicate", 0),
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
    # A company's queue is never abandoned: transient failures retry with capped backoff for as long as it takes.
    register(DELIVER, deliver_company, max_attempts=100_000, lease_seconds=300)
    register(SYNC, sync_company, max_attempts=100_000, lease_seconds=600)
