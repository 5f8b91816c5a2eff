"""The audit trail: who allocated, undid, accepted, rejected or wrote off what, and when (the Ledger writes it)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.reconciliation.models import AuditEvent


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
