"""HTTP routes for manual allocations, undo, and suggestion decisions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.db import SessionDep
from app.reconciliation import decisions
from app.security import CompanyDep
from app.statements.models import BankTransaction
from app.statements.presenter import present_transactions
from app.statements.schemas import ManualAllocationIn, TransactionPublic

router = APIRouter(prefix="/v1/companies/{vat}/transactions/{transaction_id}", tags=["transactions"])


def _present(session: SessionDep, transaction_id: str) -> TransactionPublic:
    tx = session.get(BankTransaction, transaction_id)
    assert tx is not None
    return present_transactions(session, [tx])[0]


@router.post("/allocations", status_code=201, response_model=TransactionPublic)
def allocate(transaction_id: str, data: ManualAllocationIn, ctx: CompanyDep, session: SessionDep) -> TransactionPublic:
    """Allocate (part of) a transaction to an invoice by hand; returns the transaction."""
    decisions.allocate_manually(session, ctx.id, transaction_id, data.invoice_id, data.amount, ctx.actor)
    return _present(session, transaction_id)


@router.delete("/allocations/{allocation_id}", status_code=204)
def undo(transaction_id: str, allocation_id: str, ctx: CompanyDep, session: SessionDep) -> Response:
    """Undo an allocation (automatic or manual); the invoice's status follows at once."""
    decisions.undo_allocation(session, ctx.id, transaction_id, allocation_id, ctx.actor)
    return Response(status_code=204)


@router.post("/suggestions/{suggestion_id}/accept", response_model=TransactionPublic)
def accept(transaction_id: str, suggestion_id: str, ctx: CompanyDep, session: SessionDep) -> TransactionPublic:
    decisions.accept_suggestion(session, ctx.id, transaction_id, suggestion_id, ctx.actor)
    return _present(session, transaction_id)


@router.post("/suggestions/{suggestion_id}/reject", response_model=TransactionPublic)
def reject(transaction_id: str, suggestion_id: str, ctx: CompanyDep, session: SessionDep) -> TransactionPublic:
    """Reject a suggestion; the same proposal is not made again."""
    decisions.reject_suggestion(session, ctx.id, transaction_id, suggestion_id, ctx.actor)
    return _present(session, transaction_id)
