"""What the Ponto link tells the company's systems: an account it may no longer read, a consent about to end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from app.core.config import get_settings
from app.core.events import record_event
from app.core.timeutil import as_utc, iso, utcnow
from app.ponto.models import PontoAccount, PontoConnection


def consent_ends_soon(account: PontoAccount) -> bool:
    """The account's consent ends within CODARECON_PONTO_CONSENT_WARNING_DAYS (or has ended): time to renew it.
    The one rule the sync (renewal link, event), the status and the review page go by."""
    if account.consent_expires_at is None:
        return False
    warning = timedelta(days=get_settings().ponto_consent_warning_days)
    return as_utc(account.consent_expires_at) - warning <= utcnow()


def account_data(account: PontoAccount) -> dict[str, Any]:
    """An account as events carry it (``PontoAccountData``) and the status shows it."""
    return {
        "ponto_account_id": account.id,
        "iban": account.iban,
        "state": account.state,
        "consent_expires_at": iso(account.consent_expires_at) if account.consent_expires_at else None,
        "reauthorization_url": account.reauthorization_url,
    }


def account_revoked(session: Session, account: PontoAccount, reason: str) -> None:
    account.state = "revoked"
    session.add(account)
    record_event(
        session,
        account.company_id,
        "account.revoked",
        account.id,
        {"data": account_data(account), "change": {"state": "revoked", "reason": reason}},
    )


def connection_revoked(session: Session, conn: PontoConnection) -> None:
    """Every account the connection read is revoked with it: one event each."""
    for account in session.exec(
        select(PontoAccount).where(PontoAccount.company_id == conn.company_id, PontoAccount.state != "revoked")
    ):
        account_revoked(session, account, conn.revoked_reason or "the Ponto integration was revoked")


def consent_expiring(session: Session, account: PontoAccount) -> None:
    record_event(
        session,
        account.company_id,
        "consent.expiring",
        account.id,
        {
            "data": account_data(account),
            "change": {
                "consent_expires_at": iso(account.consent_expires_at) if account.consent_expires_at else None,
                "reauthorization_url": account.reauthorization_url,
            },
        },
    )
