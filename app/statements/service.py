"""Store CODA files whole or not at all: accounts, statements, movements, then match what is new."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, tuple_
from sqlmodel import Session, col, select

from app.companies.models import BankAccount
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import new_id
from app.reconciliation.service import MatchSummary, match_transactions
from app.statements.models import BankTransaction, CodaFile, Statement
from app.statements.parsed import CodaError, CodaWarning, MovementKind, ParsedFile, ParsedStatement
from app.statements.schemas import IngestResponse, MatchingCounts, StatementPublic, WarningPublic
from app.timeutil import utcnow


@dataclass
class IngestResult:
    response: IngestResponse
    created: bool  # False when every statement was already stored
    new_transaction_ids: list[str] = field(default_factory=list)


def parse_or_refuse(data: bytes) -> ParsedFile:
    from app.statements.coda import parse_coda  # the adapter pulls in pycoda; only ingestion needs it

    try:
        return parse_coda(data)
    except CodaError as exc:
        error: dict[str, Any] = {"message": exc.message}
        if exc.line is not None:
            error["line"] = exc.line
        where = f" (line {exc.line})" if exc.line is not None else ""
        raise ValidationFailed(f"not a readable CODA file{where}: {exc.message}", errors=[error]) from None


def _identity(st: ParsedStatement) -> tuple[str, str, int, Any]:
    return (st.account_iban, st.currency, st.sequence, st.date)


def ingest_coda(session: Session, company_id: str, data: bytes, *, source: str = "upload") -> IngestResult:
    parsed = parse_or_refuse(data)
    if not parsed.statements:
        raise ValidationFailed("the CODA file holds no statement", errors=[{"message": "no statement"}])
    accounts = _accounts_for(session, company_id, {st.account_iban for st in parsed.statements})
    stored = _stored_identities(session, [_identity(st) for st in parsed.statements])

    new: list[ParsedStatement] = []
    summaries: list[StatementPublic] = []
    seen: set[tuple[str, str, int, Any]] = set()
    for st in parsed.statements:
        identity = _identity(st)
        if identity in stored or identity in seen:
            summaries.append(_duplicate_summary(st, stored.get(identity)))
            continue
        seen.add(identity)
        new.append(st)
    duplicates = len(parsed.statements) - len(new)
    file_warnings = [WarningPublic(**w.as_dict()) for w in parsed.warnings]
    if not new:
        response = IngestResponse(
            statements=summaries,
            transactions_created=0,
            duplicates=duplicates,
            matching=MatchingCounts(matched=0, suggested=0, unmatched=0),
            warnings=file_warnings,
        )
        return IngestResult(response=response, created=False)

    coda_file = CodaFile(
        id=new_id("cf"),
        company_id=company_id,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        encoding=parsed.encoding,
        source=source,
        content=data,
        warnings=[w.as_dict() for w in parsed.warnings],
    )
    session.add(coda_file)
    for iban in {st.account_iban for st in new} - set(accounts):
        account = BankAccount(id=new_id("ba"), company_id=company_id, iban=iban)
        session.add(account)
        accounts[iban] = account
    session.flush()

    tx_ids: list[str] = []
    statement_rows: list[dict[str, Any]] = []
    tx_rows: list[dict[str, Any]] = []
    now = utcnow()
    for st in new:
        warnings = st.warnings + _sequence_warnings(session, st)
        statement_id = new_id("st")
        leaves = 0
        parents: dict[int, str] = {}
        for t in st.transactions:
            tx_id = new_id("tx")
            if t.kind is MovementKind.TOTAL:
                parents[t.sequence] = tx_id
            else:
                leaves += 1
                tx_ids.append(tx_id)
            tx_rows.append(_transaction_row(tx_id, company_id, statement_id, st, t, now))
        statement_rows.append(
            {
                "id": statement_id,
                "company_id": company_id,
                "bank_account_id": accounts[st.account_iban].id,
                "coda_file_id": coda_file.id,
                "account_iban": st.account_iban,
                "currency": st.currency,
                "sequence": st.sequence,
                "paper_sequence": st.paper_sequence,
                "date": st.date,
                "opening_date": st.opening_date,
                "opening_balance": st.opening_balance,
                "closing_balance": st.closing_balance,
                "transaction_count": leaves,
                "warnings": [w.as_dict() for w in warnings],
                "created_at": now,
            }
        )
        summaries.append(
            StatementPublic(
                id=statement_id,
                account_iban=st.account_iban,
                currency=st.currency,
                sequence=st.sequence,
                date=st.date,
                opening_balance=st.opening_balance,
                closing_balance=st.closing_balance,
                transactions=leaves,
                warnings=[WarningPublic(**w.as_dict()) for w in warnings],
            )
        )
    # Core inserts (executemany): the ORM's bulk path costs several times more per row.
    session.execute(insert(Statement.__table__), statement_rows)  # type: ignore[attr-defined]
    for start in range(0, len(tx_rows), 5000):
        session.execute(insert(BankTransaction.__table__), tx_rows[start : start + 5000])  # type: ignore[attr-defined]
    summary: MatchSummary = match_transactions(session, company_id, tx_ids)
    response = IngestResponse(
        statements=summaries,
        transactions_created=len(tx_ids),
        duplicates=duplicates,
        matching=MatchingCounts(**summary.as_dict()),
        warnings=file_warnings,
        file_id=coda_file.id,
    )
    return IngestResult(response=response, created=True, new_transaction_ids=tx_ids)


def _transaction_row(
    tx_id: str, company_id: str, statement_id: str, st: ParsedStatement, t: Any, now: Any
) -> dict[str, Any]:
    return {
        "id": tx_id,
        "company_id": company_id,
        "statement_id": statement_id,
        "line": t.line,
        "sequence": t.sequence,
        "detail": t.detail,
        "kind": t.kind.value,
        "bank_reference": t.bank_reference[:40],
        "booking_date": t.booking_date,
        "value_date": t.value_date,
        "amount": t.amount,
        "currency": st.currency,
        "transaction_code": t.transaction_code[:8],
        "counterparty_name": t.counterparty.name,
        "counterparty_iban": t.counterparty.iban,
        "counterparty_bic": t.counterparty.bic,
        "communication": t.communication,
        "structured_type": t.structured_type,
        "structured_content": t.structured_content,
        "structured_reference": t.structured_reference,
        "end_to_end_reference": t.end_to_end_reference,
        # Totals are kept for the record but are never payments of their own.
        "status": "ignored" if t.kind is MovementKind.TOTAL else "unmatched",
        "amount_allocated": t.amount - t.amount,
        "created_at": now,
    }


def _accounts_for(session: Session, company_id: str, ibans: set[str]) -> dict[str, BankAccount]:
    accounts = {a.iban: a for a in session.exec(select(BankAccount).where(col(BankAccount.iban).in_(ibans)))}
    for account in accounts.values():
        if account.company_id != company_id:
            raise Conflict(
                f"bank account {account.iban} is registered to another company; nothing was stored",
                errors=[
                    {
                        "loc": "statements.account_iban",
                        "message": f"{account.iban} belongs to another company",
                    }
                ],
            )
    return accounts


def _stored_identities(session: Session, identities: list[tuple[str, str, int, Any]]) -> dict[tuple, str]:
    out: dict[tuple, str] = {}
    for start in range(0, len(identities), 200):
        chunk = identities[start : start + 200]
        rows = session.exec(
            select(Statement.id, Statement.account_iban, Statement.currency, Statement.sequence, Statement.date).where(
                tuple_(Statement.account_iban, Statement.currency, Statement.sequence, Statement.date).in_(chunk)
            )
        )
        for row in rows:
            out[(row.account_iban, row.currency, row.sequence, row.date)] = row.id
    return out


def _duplicate_summary(st: ParsedStatement, existing_id: str | None) -> StatementPublic:
    return StatementPublic(
        id=existing_id or "",
        account_iban=st.account_iban,
        currency=st.currency,
        sequence=st.sequence,
        date=st.date,
        opening_balance=st.opening_balance,
        closing_balance=st.closing_balance,
        transactions=len(st.leaves),
        warnings=[],
        duplicate=True,
    )


def _sequence_warnings(session: Session, st: ParsedStatement) -> list[CodaWarning]:
    """A gap against the account's previous stored statement (numbering restarts at 1 each year)."""
    previous = session.exec(
        select(func.max(Statement.sequence)).where(
            Statement.account_iban == st.account_iban,
            Statement.currency == st.currency,
            col(Statement.date) < st.date,
            func.extract("year", Statement.date) == st.date.year,
        )
    ).first()
    if previous is None or st.sequence == previous + 1 or st.sequence <= previous:
        return []
    return [
        CodaWarning(
            "sequence_gap",
            f"statement {st.sequence} follows stored statement {previous}: {st.sequence - previous - 1} missing",
            st.line,
        )
    ]


def get_statement(session: Session, company_id: str, statement_id: str) -> Statement:
    statement = session.get(Statement, statement_id)
    if statement is None or statement.company_id != company_id:
        raise NotFound(f"no statement {statement_id}")
    return statement
