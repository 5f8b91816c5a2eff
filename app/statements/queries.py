"""Reads of a company's bank transactions for the API: a page of them in id order, and one by its id."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from app.core.errors import NotFound
from app.statements.models import BankTransaction


def transactions_page(
    session: Session,
    company_id: str,
    *,
    statuses: Sequence[str] | None = None,
    statement_id: str | None = None,
    after: str | None = None,
    limit: int,
) -> list[BankTransaction]:
    """Booked leaf transactions (globalisation totals are never exposed), ids after ``after``: up to
    ``limit + 1`` of them, the extra one telling that a next page exists."""
    query = select(BankTransaction).where(BankTransaction.company_id == company_id, BankTransaction.kind != "total")
    if statuses:
        query = query.where(col(BankTransaction.status).in_(list(statuses)))
    if statement_id:
        query = query.where(BankTransaction.statement_id == statement_id)
    if after:
        query = query.where(col(BankTransaction.id) > after)
    return list(session.exec(query.order_by(col(BankTransaction.id)).limit(limit + 1)).all())


def company_transaction(session: Session, company_id: str, transaction_id: str) -> BankTransaction:
    """One leaf transaction of the company; another company's, or a total, is as absent as a missing one."""
    tx = session.get(BankTransaction, transaction_id)
    if tx is None or tx.company_id != company_id or tx.kind == "total":
        raise NotFound(f"no transaction {transaction_id}")
    return tx
