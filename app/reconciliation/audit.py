"""The audit trail over HTTP: who allocated, undid, accepted, rejected or wrote off what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel import col, select

from app.companies.access import CompanyDep
from app.core.db import SessionDep
from app.core.pagination import CursorQuery, LimitQuery, decode_cursor, next_cursor
from app.core.request_routes import CommittingRoute
from app.core.schemas import Page
from app.reconciliation.models import AuditEvent

router = APIRouter(route_class=CommittingRoute, prefix="/v1/companies/{vat}", tags=["transactions"])


class AuditEventPublic(BaseModel):
    id: str
    actor: str  # "matcher", "admin", "key:<id>", "ui:<key id>"
    action: str  # allocation.created | allocation.undone | write_off.created | suggestion.accepted | ...
    subject_id: str
    details: dict[str, Any]
    at: datetime


@router.get("/audit-events", response_model=Page[AuditEventPublic])
def list_audit_events(
    ctx: CompanyDep,
    session: SessionDep,
    subject_id: str | None = None,
    action: str | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[AuditEventPublic]:
    """The company's decisions on money, oldest first (a read key suffices)."""
    query = select(AuditEvent).where(AuditEvent.company_id == ctx.id)
    if subject_id:
        query = query.where(AuditEvent.subject_id == subject_id)
    if action:
        query = query.where(AuditEvent.action == action)
    after = decode_cursor(cursor)
    if after:
        query = query.where(col(AuditEvent.id) > after)
    rows = list(session.exec(query.order_by(col(AuditEvent.id)).limit(limit + 1)).all())
    return Page(
        items=[AuditEventPublic.model_validate(r, from_attributes=True) for r in rows[:limit]],
        next_cursor=next_cursor([r.id for r in rows], limit),
    )
