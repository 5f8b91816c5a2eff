"""HTTP routes for people's decisions on a transaction (manual allocations, write-offs, suggestions, undo) and
for the audit trail of those decisions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.companies.access import CompanyDep
from app.core.db import SessionDep
from app.core.pagination import CursorQuery, LimitQuery, decode_cursor, next_cursor
from app.core.request_routes import CommittingRoute
from app.core.schemas import Page
from app.reconciliation import decisions
from app.reconciliation.audit import audit_events
from app.reconciliation.presenter import audit_event_document
from app.reconciliation.schemas import AuditEventPublic, ManualAllocationIn, TransactionWriteOffIn
from app.statements.presenter import present_transactions
from app.statements.queries import company_transaction
from app.statements.schemas import TransactionPublic

router = APIRouter(
    route_class=CommittingRoute, prefix="/v1/companies/{vat}/transactions/{transaction_id}", tags=["transactions"]
)


def _present(session: SessionDep, company_id: str, transaction_id: str) -> dict[str, Any]:
    """The transaction as the API's JSON (FastAPI checks it against TransactionPublic, the documented shape)."""
    return present_transactions(session, [company_transaction(session, company_id, transaction_id)])[0]


@router.post("/allocations", status_code=201, response_model=TransactionPublic)
def allocate(transaction_id: str, data: ManualAllocationIn, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """Allocate part of a transaction to an invoice by hand (repeat to split it); returns the transaction.

    422 when the amount is more than the transaction's unallocated amount, or more than the invoice has due
    (unless ``allow_overpayment``). A shortfall within the company's payment tolerance is written off.
    """
    decisions.allocate_manually(
        session,
        ctx.id,
        transaction_id,
        data.invoice_id,
        data.amount,
        ctx.actor,
        allow_overpayment=data.allow_overpayment,
        apply_tolerance=data.apply_tolerance,
    )
    return _present(session, ctx.id, transaction_id)


@router.delete("/allocations/{allocation_id}", status_code=204)
def undo(transaction_id: str, allocation_id: str, ctx: CompanyDep, session: SessionDep) -> Response:
    """Undo an allocation (automatic or manual) with its write-offs; the invoice's status follows at once,
    and suggestions it closed are open again."""
    decisions.undo_allocation(session, ctx.id, transaction_id, allocation_id, ctx.actor)
    return Response(status_code=204)


@router.post("/write-offs", status_code=201, response_model=TransactionPublic)
def write_off(transaction_id: str, data: TransactionWriteOffIn, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """Account for (part of) the transaction's unallocated money without an invoice, with a reason."""
    decisions.write_off_transaction(
        session, ctx.id, transaction_id, data.amount, data.reason, ctx.actor, note=data.note
    )
    return _present(session, ctx.id, transaction_id)


@router.delete("/write-offs/{write_off_id}", status_code=204)
def undo_write_off(transaction_id: str, write_off_id: str, ctx: CompanyDep, session: SessionDep) -> Response:
    """Undo a write-off of this transaction; its money is unallocated again."""
    decisions.undo_write_off(session, ctx.id, write_off_id, ctx.actor, transaction_id=transaction_id)
    return Response(status_code=204)


@router.post("/suggestions/{suggestion_id}/accept", response_model=TransactionPublic)
def accept(transaction_id: str, suggestion_id: str, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """Accept a suggestion: its allocations (and write-offs) are made. 409 when it was decided already."""
    decisions.accept_suggestion(session, ctx.id, transaction_id, suggestion_id, ctx.actor)
    return _present(session, ctx.id, transaction_id)


@router.post("/suggestions/{suggestion_id}/reject", response_model=TransactionPublic)
def reject(transaction_id: str, suggestion_id: str, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """Reject a suggestion; the same proposal is not made again."""
    decisions.reject_suggestion(session, ctx.id, transaction_id, suggestion_id, ctx.actor)
    return _present(session, ctx.id, transaction_id)


@router.post("/suggestions/{suggestion_id}/reopen", response_model=TransactionPublic)
def reopen(transaction_id: str, suggestion_id: str, ctx: CompanyDep, session: SessionDep) -> dict[str, Any]:
    """Undo a rejection: the suggestion is open again, if what it proposes still fits."""
    decisions.reopen_suggestion(session, ctx.id, transaction_id, suggestion_id, ctx.actor)
    return _present(session, ctx.id, transaction_id)


audit_router = APIRouter(route_class=CommittingRoute, prefix="/v1/companies/{vat}", tags=["transactions"])


@audit_router.get("/audit-events", response_model=Page[AuditEventPublic])
def list_audit_events(
    ctx: CompanyDep,
    session: SessionDep,
    subject_id: str | None = None,
    action: str | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[Any]:
    """The company's decisions on money, oldest first (a read key suffices)."""
    rows = audit_events(session, ctx.id, subject_id=subject_id, action=action, after=decode_cursor(cursor), limit=limit)
    return Page(
        items=[audit_event_document(r) for r in rows[:limit]], next_cursor=next_cursor([r.id for r in rows], limit)
    )
