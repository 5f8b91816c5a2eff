"""Reads of a company's statements and bank transactions for the API: pages in id order, and one by its id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, col, select

from app.core.errors import NotFound
from app.statements.models import BankTransaction, Statement


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


def statements_page(
    session: Session,
    company_id: str,
    *,
    account_iban: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    after: str | None = None,
    limit: int,
) -> list[Statement]:
    """The company's statements, ids after ``after``, ``limit + 1`` at most; by account and date range."""
    query = select(Statement).where(Statement.company_id == company_id)
    if account_iban:
        query = query.where(Statement.account_iban == account_iban)
    if date_from:
        query = query.where(col(Statement.date) >= date_from)
    if date_to:
        query = query.where(col(Statement.date) <= date_to)
    if after:
        query = query.where(col(Statement.id) > after)
    return list(session.exec(query.order_by(col(Statement.id)).limit(limit + 1)).all())


def company_statement(session: Session, company_id: str, statement_id: str) -> tuple[Statement, list[BankTransaction]]:
    """One statement of the company with its leaf transactions in the bank's order; another company's is absent."""
    statement = session.get(Statement, statement_id)
    if statement is None or statement.company_id != company_id:
        raise NotFound(f"no statement {statement_id}")
    leaves = session.exec(
        select(BankTransaction)
        .where(BankTransaction.statement_id == statement_id, BankTransaction.kind != "total")
        .order_by(col(BankTransaction.sequence), col(BankTransaction.detail))
    ).all()
    return statement, list(leaves)
