"""The audit trail: who allocated, undid, accepted, rejected or wrote off what, and when (the Ledger writes it);
and what was decided outside money (a key issued, rotated, revoked: ``record``), so that the trail a person
reads at GET .../audit-events is one."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.core.ids import new_id
from app.core.timeutil import utcnow
from app.reconciliation.models import AuditEvent


def record(
    session: Session, company_id: str, actor: str, action: str, subject_id: str, details: dict[str, Any]
) -> None:
    """One line of the trail written outside a money decision."""
    session.add(
        AuditEvent(
            id=new_id("aud"),
            company_id=company_id,
            actor=actor,
            action=action,
            subject_id=subject_id,
            details=details,
            at=utcnow(),
        )
    )


def audit_events(
    session: Session,
    company_id: str,
    *,
    subject_id: str | None = None,
    action: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """The company's decisions on money, oldest first, after the id ``after``: up to ``limit`` + 1 of them (the
    one more says whether there is a next page)."""
    query = select(AuditEvent).where(AuditEvent.company_id == company_id)
    if subject_id:
        query = query.where(AuditEvent.subject_id == subject_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if after:
        query = query.where(col(AuditEvent.id) > after)
    return list(session.exec(query.order_by(col(AuditEvent.id)).limit(limit + 1)).all())
