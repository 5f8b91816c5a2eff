"""Store bank statement files whole or not at all: accounts, statements, movements, then match what is new."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.companies.models import BankAccount
from app.core import metrics
from app.core.db import insert_rows
from app.core.errors import Conflict, ValidationFailed
from app.core.ids import new_id
from app.core.money import format_amount
from app.core.outbox_models import Event
from app.core.timeutil import utcnow
from app.reconciliation.locks import lock_company_ledger
from app.reconciliation.service import MatchRun, MatchSummary
from app.statements.models import BankTransaction, MovementTwin, Statement, StatementFile
from app.statements.parsed import MovementKind, ParsedStatement, StatementFileError, StatementWarning
from app.statements.pending import book_twins, has_pending
from app.statements.readers import reader_for
from app.statements.schemas import IngestResponse, MatchingCounts, StatementPublic, WarningPublic
from app.statements.sources import ReceivedFile
from app.statements.twins import has_ponto_statements, is_ponto, pair, stored_twins


@dataclass
class IngestResult:
    response: IngestResponse
    created: bool  # False when every statement was already stored
    new_transaction_ids: list[str] = field(default_factory=list)


def refuse(exc: StatementFileError, kind: str = "CODA") -> ValidationFailed:
    error: dict[str, Any] = {"message": exc.message}
    if exc.line is not None:
        error["line"] = exc.line
    where = f" (line {exc.line})" if exc.line is not None else ""
    if exc.incomplete:
        return ValidationFailed(f"incomplete {kind} file{where}: {exc.message}", errors=[error], incomplete=True)
    return ValidationFailed(f"not a readable {kind} file{where}: {exc.message}", errors=[error])


def _identity(st: ParsedStatement) -> tuple[str, str, int, Any]:
    return (st.account_iban, st.currency, st.sequence, st.date)


class ForeignStatement(Conflict):
    """A statement whose holder (the enterprise number the bank file names) is not the company's own."""

    def __init__(self, st: ParsedStatement, holder: str) -> None:
        super().__init__(
            f"the statement of {st.account_iban} at line {st.line} is held by enterprise {st.account_holder_number}, "
            f"not by {holder}; nothing was stored",
            errors=[{"line": st.line, "message": f"account holder {st.account_holder_number}"}],
        )
        self.holder_number = st.account_holder_number


def ingest_statement_file(session: Session, company_id: str, file: ReceivedFile) -> IngestResult:
    """Store every statement of the file not stored before, then match the new transactions: the one path
    for every source (``sources.py``) and every format (``readers.py``).

    ``file.source.holder``: the company's enterprise number (``BE0123456789``), for files that must be its own
    (CodaBox's feed): a statement that names another holder refuses the whole file (``ForeignStatement``). A
    statement that names none is judged by its account, as every upload is.

    Statements are read, checked and written one at a time (memory follows the largest statement, not the
    file), all in the caller's transaction: a refusal anywhere rolls back the whole file.
    """
    # One upload at a time per company: a re-sent file racing its first upload then sees it stored, and
    # matching sees every invoice registered before it (see reconciliation.locks).
    lock_company_ledger(session, company_id)
    # Told apart by the content: every format gives the same parsed statements.
    reader = reader_for(file.data)
    if reader.name == "Ponto" and file.source.name != "ponto":
        # The feed's own batches: an upload of one would pass for Ponto's view of the account.
        raise ValidationFailed(
            "not a readable bank statement file: a Ponto Connect batch comes only from the Ponto feed",
            errors=[{"message": "Ponto batches are not uploaded"}],
        )
    try:
        opened = reader.open(file.data)
        ingest = _Ingest(session, company_id, file, opened.encoding, opened.movement_records())
        for statement in opened.statements():
            ingest.add(statement)
    except StatementFileError as exc:
        raise refuse(exc, reader.name) from None
    if ingest.count == 0:
        raise ValidationFailed(f"the {reader.name} file holds no statement", errors=[{"message": "no statement"}])
    file_warnings = [WarningPublic(**w.as_dict()) for w in opened.warnings]
    if not ingest.new_ids:
        response = IngestResponse(
            statements=ingest.summaries,
            transactions_created=0,
            duplicates=ingest.duplicates,
            movements_known=ingest.twins,
            matching=MatchingCounts(matched=0, suggested=0, unmatched=0),
            warnings=file_warnings,
        )
        return IngestResult(response=response, created=ingest.created)
    # The file row went in with no warnings: only a file that has some is updated (an update rewrites the
    # whole row, and SQLite holds the old and the new file bytes at once to do it). A plain UPDATE: the row's
    # ORM object expired at the first settle, and touching it would read the whole file back.
    if opened.warnings:
        session.execute(
            update(StatementFile)
            .where(col(StatementFile.id) == ingest.file_id)
            .values(warnings=[w.as_dict() for w in opened.warnings])
        )
    totals = ingest.matching.summary if ingest.matching else MatchSummary()
    metrics.STATEMENTS.labels(reader.name).inc(sum(1 for summary in ingest.summaries if not summary.duplicate))
    metrics.TRANSACTIONS.inc(len(ingest.new_ids))
    for outcome, count in totals.as_dict().items():
        metrics.MATCHING.labels(outcome).inc(count)
    response = IngestResponse(
        statements=ingest.summaries,
        transactions_created=len(ingest.new_ids),
        duplicates=ingest.duplicates,
        movements_known=ingest.twins,
        matching=MatchingCounts(**totals.as_dict()),
        warnings=file_warnings,
        file_id=ingest.file_id,
    )
    return IngestResult(response=response, created=True, new_transaction_ids=ingest.new_ids)


class _Ingest:
    """Writes one statement at a time; remembers only ids and summaries."""

    def __init__(self, session: Session, company_id: str, file: ReceivedFile, encoding: str, movements: int) -> None:
        self.session = session
        self.company_id = company_id
        self.holder = file.source.holder
        self.file_row = StatementFile(
            id=new_id("cf"),
            company_id=company_id,
            sha256=hashlib.sha256(file.data).hexdigest(),
            size=len(file.data),
            encoding=encoding,
            source=file.source.name,
            content=file.data,
        )
        self.file_stored = False
        self.file_id = self.file_row.id
        #: iban -> id of the company's account (ids, not ORM objects: each settle expires those, and reading
        #: one again is a query; the file row's would read the whole file back)
        self.accounts: dict[str, str] = {}
        #: identity -> id of the statement stored from this file (a file may repeat a statement)
        self.seen: dict[tuple[str, str, int, Any], str] = {}
        self.summaries: list[StatementPublic] = []
        self.new_ids: list[str] = []
        self.duplicates = 0
        self.count = 0
        self.now = utcnow()
        #: Matches each statement's new transactions as it is stored (from its first new statement on).
        self.matching: MatchRun | None = None
        self.movements = movements
        #: Movements not stored because the other kind of source brought them before (twins.py).
        self.twins = 0
        # Asked once per file: a company that never used Ponto pays nothing more per movement.
        self.twins_possible = file.source.name == "ponto" or has_ponto_statements(session, company_id)
        self.pending_possible = has_pending(session, company_id)

    @property
    def created(self) -> bool:
        return self.file_stored

    def _add_account(self, st: ParsedStatement, statement_id: str) -> str:
        """An account first seen in an upload is attached to the company, never silently: the statement says
        so and the company gets an ``account.added`` event (a person can check that the account is theirs)."""
        account = BankAccount(id=new_id("ba"), company_id=self.company_id, iban=st.account_iban)
        self.session.add(account)
        self.session.add(
            Event(
                id=new_id("evt"),
                company_id=self.company_id,
                type="account.added",
                subject_id=account.id,
                payload={
                    "data": {"id": account.id, "iban": st.account_iban, "statement_id": statement_id},
                    "change": {"account": "added"},
                },
            )
        )
        self.session.flush()
        self.accounts[st.account_iban] = account.id
        return account.id

    def add(self, st: ParsedStatement) -> None:
        self.count += 1
        if self.holder and st.account_holder_number and st.account_holder_number != self.holder:
            raise ForeignStatement(st, self.holder)
        account_id = self._account(st.account_iban)
        identity = _identity(st)
        existing = self.seen.get(identity) or _stored_identity(self.session, identity)
        if existing is not None:
            self.duplicates += 1
            self.summaries.append(_duplicate_summary(st, existing))
            return
        if not self.file_stored:
            # The file row goes first: statements point at it. Its content is the bytes as received.
            self.session.add(self.file_row)
            self.session.flush()
            self.file_stored = True
        statement_id = new_id("st")
        added: list[StatementWarning] = []
        if account_id is None:
            account_id = self._add_account(st, statement_id)
            added.append(
                StatementWarning(
                    "account_added",
                    f"account {st.account_iban} was not registered to the company; it is now (check that it is yours)",
                    st.line,
                )
            )
        warnings = st.warnings + added + _sequence_warnings(self.session, st)
        self.seen[identity] = statement_id
        totals: list[dict[str, Any]] = []  # globalisation totals: kept, never matched
        leaves: list[dict[str, Any]] = []  # the payments: every other row
        for t in st.transactions:
            row = _transaction_row(new_id("tx"), self.company_id, statement_id, st, t, self.now)
            if t.kind is MovementKind.TOTAL:
                totals.append(row)
            else:
                leaves.append(row)
        twins = self._twins(st, leaves)
        if twins:
            leaves = [row for row in leaves if row["id"] not in twins]
        self.new_ids.extend(row["id"] for row in leaves)
        insert_rows(
            self.session,
            Statement,
            [
                {
                    "id": statement_id,
                    "company_id": self.company_id,
                    "bank_account_id": account_id,
                    "coda_file_id": self.file_id,
                    "account_iban": st.account_iban,
                    "currency": st.currency,
                    "sequence": st.sequence,
                    "paper_sequence": st.paper_sequence,
                    "date": st.date,
                    "opening_date": st.opening_date,
                    "opening_balance": st.opening_balance,
                    "closing_balance": st.closing_balance,
                    "transaction_count": len(leaves),
                    "warnings": [w.as_dict() for w in warnings],
                    "created_at": self.now,
                }
            ],
        )
        # Core inserts (executemany): the ORM's bulk path costs several times more per row. The payments go in
        # with their first state, when matching has settled them (the ledger stores them: see Ledger.fresh).
        for start in range(0, len(totals), 5000):
            insert_rows(self.session, BankTransaction, totals[start : start + 5000])
        if twins:
            insert_rows(self.session, MovementTwin, list(twins.values()))
        if self.pending_possible and leaves:
            # Before matching: the invoice a booked twin settles is shown without its pending amount.
            book_twins(self.session, self.company_id, st.account_iban, leaves)
        if self.matching is None:
            self.matching = MatchRun(self.session, self.company_id, fresh=True, expected=self.movements)
        # Read by attribute as the database's rows are (nothing is read back).
        self.matching.add([SimpleNamespace(**row) for row in leaves])
        self.summaries.append(
            StatementPublic(
                id=statement_id,
                account_iban=st.account_iban,
                currency=st.currency,
                sequence=st.sequence,
                date=st.date,
                opening_balance=st.opening_balance,
                closing_balance=st.closing_balance,
                transactions=len(leaves),
                warnings=[WarningPublic(**w.as_dict()) for w in warnings],
            )
        )

    def _twins(self, st: ParsedStatement, leaves: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """new row id -> its movement_twins row, for the movements the other kind of source stored before."""
        if not self.twins_possible or not leaves:
            return {}
        days = (min(r["booking_date"] for r in leaves), max(r["booking_date"] for r in leaves))
        stored = stored_twins(self.session, self.company_id, st.account_iban, st.currency, is_ponto(st.sequence), days)
        rows = {r["id"]: r for r in leaves}
        twins = {
            new: {
                "id": new_id("tw"),
                "company_id": self.company_id,
                "statement_id": rows[new]["statement_id"],
                "line": rows[new]["line"],
                "bank_reference": rows[new]["bank_reference"],
                "transaction_id": known,
                "booking_date": rows[new]["booking_date"],
                "amount": rows[new]["amount"],
                "created_at": self.now,
            }
            for new, known in pair(leaves, stored).items()
        }
        self.twins += len(twins)
        return twins

    def _account(self, iban: str) -> str | None:
        if iban not in self.accounts:
            account = self.session.exec(select(BankAccount).where(BankAccount.iban == iban)).first()
            if account is not None and account.company_id != self.company_id:
                raise Conflict(
                    f"bank account {iban} is registered to another company; nothing was stored",
                    errors=[{"loc": "statements.account_iban", "message": f"{iban} belongs to another company"}],
                )
            if account is None:
                return None
            self.accounts[iban] = account.id
        return self.accounts[iban]


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
        "mandate_reference": t.direct_debit.mandate_reference if t.direct_debit else None,
        "direct_debit": t.direct_debit.as_dict() if t.direct_debit else None,
        "transfer_return": t.transfer_return.as_dict() if t.transfer_return else None,
        "returns_transaction_id": None,  # found once it is stored (app/reconciliation/returns.py)
        # Totals are kept for the record but are never payments of their own.
        "status": "ignored" if t.kind is MovementKind.TOTAL else "unmatched",
        "amount_allocated": t.amount - t.amount,  # zero with the amount's precision
        "amount_written_off": t.amount - t.amount,
        "created_at": now,
    }


def _stored_identity(session: Session, identity: tuple[str, str, int, Any]) -> str | None:
    iban, currency, sequence, day = identity
    return session.exec(
        select(Statement.id).where(
            Statement.account_iban == iban,
            Statement.currency == currency,
            Statement.sequence == sequence,
            Statement.date == day,
        )
    ).first()


def _duplicate_summary(st: ParsedStatement, existing_id: str) -> StatementPublic:
    return StatementPublic(
        id=existing_id,
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


def _sequence_warnings(session: Session, st: ParsedStatement) -> list[StatementWarning]:
    """A gap against the account's previous stored statement (numbering restarts at 1 each year). A Ponto
    batch has no bank numbering or balances to compare: neither it nor a bank statement is judged by one."""
    if is_ponto(st.sequence):
        return []
    previous = session.exec(
        select(func.max(Statement.sequence)).where(
            Statement.account_iban == st.account_iban,
            Statement.currency == st.currency,
            col(Statement.sequence) >= 0,
            col(Statement.date) < st.date,
            func.extract("year", Statement.date) == st.date.year,
        )
    ).first()
    warnings = _balance_gap(session, st)
    if previous is None or st.sequence == previous + 1 or st.sequence <= previous:
        return warnings
    return [
        StatementWarning(
            "sequence_gap",
            f"statement {st.sequence} follows stored statement {previous}: {st.sequence - previous - 1} missing",
            st.line,
        ),
        *warnings,
    ]


def _balance_gap(session: Session, st: ParsedStatement) -> list[StatementWarning]:
    """A statement should open at the balance the account's previous stored one closed at: otherwise movements
    between them are missing (a statement not received, or not sent to us)."""
    previous = session.exec(
        select(Statement.sequence, Statement.date, Statement.closing_balance)
        .where(
            Statement.account_iban == st.account_iban,
            Statement.currency == st.currency,
            col(Statement.date) < st.date,
            col(Statement.sequence) >= 0,
        )
        .order_by(col(Statement.date).desc(), col(Statement.sequence).desc())
        .limit(1)
    ).first()
    if previous is None or previous.closing_balance == st.opening_balance:
        return []
    return [
        StatementWarning(
            "balance_gap",
            f"opens at {format_amount(st.opening_balance)}, but statement {previous.sequence} of "
            f"{previous.date.isoformat()} closed at {format_amount(previous.closing_balance)}: movements between "
            "them are missing",
            st.line,
        )
    ]
