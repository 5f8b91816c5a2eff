"""Ponto Connect link: connecting a company (the authorization link, its callback), its status, a sync now,
renewing consent, disconnecting, and the job kinds.

Sits above the feed (``feed.py``) and the connection (``connection.py``): service -> feed -> connection.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from app.companies.models import Company
from app.core.config import get_settings
from app.core.crypto import decrypt
from app.core.errors import AppError, Conflict, ValidationFailed
from app.core.outbox import register
from app.core.timeutil import as_utc, utcnow
from app.ponto import connection as link
from app.ponto.client import PontoError, RetryablePontoError
from app.ponto.events import account_data, connection_revoked, consent_ends_soon
from app.ponto.feed import SYNC, queue_sync, sync_company
from app.ponto.models import PontoAccount, PontoConnection, PontoTransaction
from app.statements.models import PendingPayment

log = logging.getLogger(__name__)


class PontoUnavailable(AppError):
    """Ponto was slow, down or busy: try again later."""

    status, title, slug = 503, "Ponto unavailable", "ponto-unavailable"


class AuthorizationRefused(AppError):
    """The authorization came back refused, unknown, used or expired."""

    status, title, slug = 400, "Authorization not completed", "ponto-authorization"


def authorize(session: Session, company: Company) -> link.AuthorizationLink:
    """A link for the company's user to connect its Ponto organization (PKCE; any earlier link stops working)."""
    link.require_configured()
    conn = link.connection(session, company.id)
    found = link.start_authorization(conn)
    session.add(conn)
    return found


def complete_authorization(session: Session, state: str | None, code: str | None, error: str | None) -> Company:
    """The callback: the ``state`` names the company; the code, exchanged with its PKCE verifier, gives the
    tokens. The company is connected and its first sync queued."""
    link.require_configured()
    if not state:
        raise AuthorizationRefused("the callback carries no state")
    conn = session.exec(
        select(PontoConnection).where(PontoConnection.authorization_state_hash == link.state_hash(state))
    ).first()
    if conn is None or not conn.code_verifier_encrypted:
        raise AuthorizationRefused("this authorization link is unknown or was used already: ask for a new one")
    verifier = decrypt(conn.code_verifier_encrypted)
    conn.authorization_state_hash = conn.code_verifier_encrypted = None  # single use, whatever follows
    expires = conn.authorization_expires_at
    if expires is not None and as_utc(expires) < utcnow():
        _abandon(session, conn, "the authorization link expired")
        raise AuthorizationRefused("this authorization link expired: ask for a new one")
    if error or not code:
        _abandon(session, conn, f"Ponto answered {error or 'no code'}")
        raise AuthorizationRefused(f"Ponto did not authorize: {error or 'no code in the callback'}")
    try:
        with link.client() as api:
            tokens = api.exchange_code(code, get_settings().ponto_redirect_uri, verifier)
            info = api.userinfo(tokens.access_token)
    except RetryablePontoError as exc:
        _abandon(session, conn, str(exc))
        raise PontoUnavailable(f"{exc}; ask for a new authorization link and try again") from None
    except PontoError as exc:
        _abandon(session, conn, str(exc))
        raise AuthorizationRefused(str(exc)) from None
    link.keep_tokens(conn, tokens)
    conn.state, conn.revoked_reason, conn.last_error = "connected", None, None
    conn.organization_id = str(info.get("representativeOrganizationId") or info.get("sub") or "")[:64] or None
    conn.organization_name = str(info.get("representativeOrganizationName") or info.get("name") or "") or None
    conn.connected_at = conn.updated_at = utcnow()
    session.add(conn)
    queue_sync(session, conn.company_id, expedite=True)
    company = session.get(Company, conn.company_id)
    assert company is not None  # the connection row's foreign key
    return company


def _abandon(session: Session, conn: PontoConnection, why: str) -> None:
    if conn.state == "authorizing":
        conn.state = "not_connected"
    conn.last_error, conn.updated_at = why, utcnow()
    session.add(conn)


def request_sync(session: Session, company_id: str) -> bool:
    link.require_configured()
    conn = session.get(PontoConnection, company_id)
    if conn is None or conn.state != "connected":
        state = conn.state if conn else "not_connected"
        raise Conflict(f"the Ponto connection is {state}: nothing to sync", state=state)
    return queue_sync(session, company_id, expedite=True)


def reauthorize(session: Session, company: Company) -> None:
    """Links for the company's user to renew each account's consent now (they also come by themselves when a
    consent nears its end: ``consent.expiring``)."""
    link.require_configured()
    conn = session.get(PontoConnection, company.id)
    if conn is None or conn.state != "connected":
        raise Conflict(f"the Ponto connection is {conn.state if conn else 'not_connected'}: connect it first")
    accounts = list(
        session.exec(select(PontoAccount).where(PontoAccount.company_id == company.id, PontoAccount.state != "revoked"))
    )
    try:
        with link.client() as api:
            # In this request's transaction: a second one would wait for this one's lock (SQLite's writer).
            token = link.token_in(session, company.id, api)
            if token is None:
                raise link.NotConnected("revoked")
            for account in accounts:
                account.reauthorization_url = api.reauthorization_link(
                    token, account.id, get_settings().ponto_redirect_uri
                )
                account.reauthorization_for = account.consent_expires_at
                session.add(account)
    except link.NotConnected:
        raise Conflict("the Ponto connection was revoked: connect it again") from None
    except RetryablePontoError as exc:
        raise PontoUnavailable(str(exc)) from None
    except PontoError as exc:
        raise ValidationFailed(f"Ponto refused: {exc}", errors=[{"message": str(exc)}]) from None


def disconnect(session: Session, company: Company) -> None:
    """Revoke the tokens at Ponto (as far as it answers) and forget them; what was stored stays."""
    conn = link.connection(session, company.id)
    if conn.refresh_token_encrypted and link.configured():
        try:
            with link.client() as api:
                api.revoke(decrypt(conn.refresh_token_encrypted))
        except PontoError as exc:
            log.warning("Ponto did not take the revocation of company %s: %s", company.id, exc)
    link.revoked(conn, "disconnected by the integrator")
    connection_revoked(session, conn)
    conn.state = "not_connected"
    session.add(conn)


def status(session: Session, company: Company) -> dict[str, Any]:
    settings = get_settings()
    conn = session.get(PontoConnection, company.id)
    accounts = list(
        session.exec(select(PontoAccount).where(PontoAccount.company_id == company.id).order_by(col(PontoAccount.iban)))
    )
    counts = dict(
        session.exec(
            select(PontoTransaction.status, func.count())
            .where(PontoTransaction.company_id == company.id)
            .group_by(col(PontoTransaction.status))
        ).all()
    )
    aside = list(
        session.exec(
            select(PontoTransaction)
            .where(PontoTransaction.company_id == company.id, PontoTransaction.status == "set_aside")
            .order_by(col(PontoTransaction.created_at).desc())
            .limit(20)
        )
    )
    pending = session.exec(
        select(func.count()).where(PendingPayment.company_id == company.id, PendingPayment.state == "pending")
    ).one()
    last = conn.last_synchronized_at if conn else None
    return {
        "enabled": settings.ponto_enabled,
        "state": conn.state if conn else "not_connected",
        "organization_name": conn.organization_name if conn else None,
        "connected_at": conn.connected_at if conn else None,
        "authorization_expires_at": conn.authorization_expires_at if conn and conn.state == "authorizing" else None,
        "revoked_reason": conn.revoked_reason if conn and conn.state == "revoked" else None,
        "last_sync_at": conn.last_sync_at if conn else None,
        "last_synchronized_at": last,
        "next_synchronization_at": (
            as_utc(last) + timedelta(seconds=settings.ponto_sync_seconds)
            if last and conn and conn.state == "connected"
            else None
        ),
        "last_error": conn.last_error if conn else None,
        "accounts": [
            {
                **account_data(a),
                "currency": a.currency,
                "availability": a.availability,
                "consent_expiring": consent_ends_soon(a),
                "synchronized_at": a.synchronized_at,
                "last_error": a.last_error,
            }
            for a in accounts
        ],
        "transactions_stored": counts.get("stored", 0),
        "transactions_known": counts.get("known", 0),
        "transactions_set_aside": counts.get("set_aside", 0),
        "set_aside": [{"ponto_transaction_id": t.id, "reason": t.error or "", "seen_at": t.created_at} for t in aside],
        "pending_payments": pending,
    }


def register_jobs() -> None:
    # Like CodaBox's: a company's sync is never abandoned; transient failures retry with capped backoff.
    register(SYNC, sync_company, max_attempts=100_000, lease_seconds=600)
