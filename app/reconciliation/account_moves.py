"""Moving a bank account to the company that really holds it (admin).

An account is attached to the first company that registers it or uploads a statement for it (with the
``account_added`` warning). When that was the wrong company, an admin moves it: the account, its statements
and their movements go to the other company, whose open invoices they are then matched against. Nothing the
first company decided is moved silently: while any of the account's money is allocated or written off there,
the move is refused (a Conflict) until those decisions are undone; open suggestions there are withdrawn.
"""

from __future__ import annotations

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.companies.models import BankAccount, Company
from app.core.errors import Conflict, NotFound
from app.core.timeutil import utcnow
from app.reconciliation.ledger import Ledger
from app.reconciliation.models import Allocation, Suggestion, WriteOff
from app.reconciliation.service import match_transactions
from app.statements.models import BankTransaction, Statement


def move_bank_account(
    session: Session, source: Company, iban: str, target: Company, actor: str
) -> tuple[BankAccount, int]:
    """Move the account and its statements; returns it and how many movements came along."""
    # Both ledgers are held, in a fixed order (two moves the other way round cannot deadlock).
    first, second = sorted((source.id, target.id))
    ledgers = {cid: Ledger(session, cid, actor) for cid in (first, second)}
    account = session.exec(
        select(BankAccount).where(BankAccount.iban == iban, BankAccount.company_id == source.id)
    ).first()
    if account is None:
        raise NotFound(f"no bank account {iban} at company {source.vat}")
    if source.id == target.id:
        return account, 0
    statements = select(Statement.id).where(Statement.bank_account_id == account.id)
    movements = select(BankTransaction.id).where(col(BankTransaction.statement_id).in_(statements))
    decided = (
        session.exec(
            select(func.count()).select_from(Allocation).where(col(Allocation.transaction_id).in_(movements))
        ).one()
        + session.exec(
            select(func.count()).select_from(WriteOff).where(col(WriteOff.transaction_id).in_(movements))
        ).one()
    )
    if decided:
        raise Conflict(
            f"{decided} allocations or write-offs of bank account {iban}'s money stand at {source.vat}; "
            "undo them there first",
            errors=[{"loc": "iban", "message": "money of this account is reconciled at the current company"}],
        )
    now = utcnow()
    session.execute(
        update(Suggestion)
        .where(col(Suggestion.transaction_id).in_(movements), Suggestion.status == "open")
        .values(status="superseded", decided_by=actor, decided_at=now)
    )
    moved = list(session.exec(movements).all())
    session.execute(update(Statement).where(col(Statement.id).in_(statements)).values(company_id=target.id))
    session.execute(
        update(BankTransaction)
        .where(col(BankTransaction.id).in_(moved))
        .values(company_id=target.id, status="unmatched")
        .where(col(BankTransaction.status) != "ignored")
    )
    account.company_id = target.id
    session.add(account)
    details = {"iban": iban, "from": source.vat, "to": target.vat, "transactions": len(moved)}
    for ledger in ledgers.values():
        ledger.audit("bank_account.moved", account.id, details)
        ledger.settle()
    # The movements meet the open invoices of the company that holds the account now.
    match_transactions(session, target.id, moved)
    return account, len(moved)
