"""Render bank transactions (with allocations, write-offs and open suggestions) as the API's resource.

``transaction_document`` is the one renderer of a transaction: it builds the JSON directly (the API's answers
and every event's snapshot), and TransactionPublic only describes it in the OpenAPI document
(tests/unit/test_renderers.py holds the two equal). ``present_transactions`` reads what a list of
transactions shows and renders them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from app.core.db import plain_rows
from app.core.money import format_amount
from app.core.one_of import one_of
from app.core.timeutil import json_datetime
from app.reconciliation.models import Allocation, Suggestion, WriteOff
from app.reconciliation.presenter import (
    allocation_document,
    best_first,
    oldest_first,
    suggestion_document,
    write_off_document,
)
from app.statements.models import BankTransaction

# Plain rows, not ORM objects: presenting only reads them, and rows cost a fraction (events present thousands).
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]
_WRITE_OFFS = WriteOff.__table__  # type: ignore[attr-defined]
_SUGGESTIONS = Suggestion.__table__  # type: ignore[attr-defined]


def _related(session: Session, rows: Sequence[Any]) -> tuple[dict[str, list[Any]], ...]:
    """The allocation, write-off and open-suggestion rows of each transaction, in the order they are shown."""
    ids = [r.id for r in rows]
    settled = [r.id for r in rows if r.status in ("matched", "partially_matched", "returned")]  # others have neither
    session.flush()  # the plain selects below do not flush pending ORM objects themselves
    allocations: dict[str, list[Any]] = defaultdict(list)
    write_offs: dict[str, list[Any]] = defaultdict(list)
    suggestions: dict[str, list[Any]] = defaultdict(list)
    for start in range(0, len(settled), 500):
        chunk = settled[start : start + 500]
        for a in plain_rows(session.execute(_ALLOCATIONS.select().where(one_of(_ALLOCATIONS.c.transaction_id, chunk)))):
            allocations[a.transaction_id].append(a)
        for w in plain_rows(session.execute(_WRITE_OFFS.select().where(one_of(_WRITE_OFFS.c.transaction_id, chunk)))):
            write_offs[w.transaction_id].append(w)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for s in plain_rows(
            session.execute(
                _SUGGESTIONS.select().where(
                    one_of(_SUGGESTIONS.c.transaction_id, chunk), _SUGGESTIONS.c.status == "open"
                )
            )
        ):
            suggestions[s.transaction_id].append(s)
    return (
        {tx_id: oldest_first(listed) for tx_id, listed in allocations.items()},
        {tx_id: oldest_first(listed) for tx_id, listed in write_offs.items()},
        {tx_id: best_first(listed) for tx_id, listed in suggestions.items()},
    )


def present_transactions(session: Session, rows: Sequence[BankTransaction | Any]) -> list[dict[str, Any]]:
    """Transactions (ORM objects or plain rows) as the API's JSON, with a few queries per 500, not per row."""
    allocations, write_offs, suggestions = _related(session, rows)
    return [
        transaction_document(t, allocations.get(t.id, ()), write_offs.get(t.id, ()), suggestions.get(t.id, ()))
        for t in rows
    ]


def transaction_document(
    t: Any,
    allocations: Iterable[Any],
    write_offs: Iterable[Any],
    suggestions: Iterable[Any],
    state: tuple[str, Decimal, Decimal] | None = None,
) -> dict[str, Any]:
    """One transaction row (ORM object or plain row) with its allocation, write-off and open-suggestion rows, as
    the API's JSON (TransactionPublic).

    ``state``: its status, allocated and written-off amounts when they are newer than the row's."""
    status, allocated, written_off = state or (t.status, t.amount_allocated, t.amount_written_off)
    return {
        "id": t.id,
        "statement_id": t.statement_id,
        "bank_reference": t.bank_reference,
        "booking_date": t.booking_date.isoformat(),
        "value_date": t.value_date.isoformat(),
        "amount": format_amount(t.amount),
        "currency": t.currency,
        "counterparty": {"name": t.counterparty_name, "iban": t.counterparty_iban, "bic": t.counterparty_bic},
        "communication": t.communication,
        "structured_reference": t.structured_reference,
        "structured_type": t.structured_type,
        "structured_content": t.structured_content,
        "end_to_end_reference": t.end_to_end_reference,
        "direct_debit": t.direct_debit,
        "transfer_return": t.transfer_return,
        "returns": t.returns_transaction_id,
        "transaction_code": t.transaction_code,
        "kind": t.kind,
        "status": status,
        "allocated_amount": format_amount(allocated),
        "written_off_amount": format_amount(written_off),
        "unallocated_amount": format_amount(t.amount - allocated - written_off),
        "allocations": [allocation_document(a) for a in allocations],
        "write_offs": [write_off_document(w) for w in write_offs],
        "suggestions": [suggestion_document(s) for s in suggestions],
    }


def statement_document(st: Any) -> dict[str, Any]:
    """A statement row as StatementRead."""
    return {
        "id": st.id,
        "account_iban": st.account_iban,
        "currency": st.currency,
        "sequence": st.sequence,
        "paper_sequence": st.paper_sequence,
        "date": st.date.isoformat(),
        "opening_date": st.opening_date.isoformat(),
        "opening_balance": format_amount(st.opening_balance),
        "closing_balance": format_amount(st.closing_balance),
        "transaction_count": st.transaction_count,
        "warnings": [{"code": w["code"], "message": w["message"], "line": w.get("line")} for w in st.warnings or ()],
        "file_id": st.coda_file_id,
        "created_at": json_datetime(st.created_at),
    }
