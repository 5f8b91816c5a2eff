"""Turn bank-transaction rows (with allocations, write-offs and open suggestions) into the API resource."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from app.core.db import plain_rows
from app.core.money import format_amount
from app.core.one_of import one_of
from app.invoices.presenter import allocation_document, allocation_public, write_off_document, write_off_public
from app.reconciliation.models import Allocation, Suggestion, WriteOff
from app.statements.models import BankTransaction
from app.statements.schemas import (
    CounterpartyPublic,
    SuggestedAllocation,
    SuggestionPublic,
    TransactionPublic,
)

# Plain rows, not ORM objects: presenting only reads them, and rows cost a fraction (events present thousands).
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]
_WRITE_OFFS = WriteOff.__table__  # type: ignore[attr-defined]
_SUGGESTIONS = Suggestion.__table__  # type: ignore[attr-defined]


def _related(session: Session, rows: Sequence[Any]) -> tuple[dict[str, list[Any]], ...]:
    """The allocation, write-off and open-suggestion rows of each transaction, in the order they are shown."""
    ids = [r.id for r in rows]
    settled = [r.id for r in rows if r.status in ("matched", "partially_matched")]  # the others have neither
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


def oldest_first(rows: Iterable[Any]) -> list[Any]:
    """Allocations or write-offs (of a transaction or an invoice), in the order the API shows them."""
    return sorted(rows, key=lambda r: r.created_at)


def best_first(suggestions: Iterable[Any]) -> list[Any]:
    """A transaction's open suggestions, in the order the API shows them."""
    return sorted(suggestions, key=lambda s: -s.score)


def present_transactions(session: Session, rows: Sequence[BankTransaction | Any]) -> list[TransactionPublic]:
    allocations, write_offs, suggestions = _related(session, rows)
    return [
        TransactionPublic(
            id=t.id,
            statement_id=t.statement_id,
            bank_reference=t.bank_reference,
            booking_date=t.booking_date,
            value_date=t.value_date,
            amount=t.amount,
            currency=t.currency,
            counterparty=CounterpartyPublic(name=t.counterparty_name, iban=t.counterparty_iban, bic=t.counterparty_bic),
            communication=t.communication,
            structured_reference=t.structured_reference,
            structured_type=t.structured_type,
            structured_content=t.structured_content,
            end_to_end_reference=t.end_to_end_reference,
            transaction_code=t.transaction_code,
            kind=t.kind,
            status=t.status,
            allocated_amount=t.amount_allocated,
            written_off_amount=t.amount_written_off,
            unallocated_amount=t.amount - t.amount_allocated - t.amount_written_off,
            allocations=[allocation_public(a) for a in allocations.get(t.id, ())],
            write_offs=[write_off_public(w) for w in write_offs.get(t.id, ())],
            suggestions=[
                SuggestionPublic(
                    id=s.id,
                    score=s.score,
                    status=s.status,
                    allocations=[SuggestedAllocation(**a) for a in s.allocations],
                    reasons=s.reasons,
                )
                for s in suggestions.get(t.id, ())
            ],
        )
        for t in rows
    ]


def transaction_documents(session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The JSON form of ``present_transactions`` (what ``model_dump(mode="json")`` gives), built directly.

    Events carry a snapshot of every new movement: building and dumping the pydantic models cost 50 us a row,
    most of an upload's event work. tests/api/test_event_snapshots.py holds the two forms equal."""
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
    """One transaction row with its allocation, write-off and open-suggestion rows, as the API's JSON.

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
        "transaction_code": t.transaction_code,
        "kind": t.kind,
        "status": status,
        "allocated_amount": format_amount(allocated),
        "written_off_amount": format_amount(written_off),
        "unallocated_amount": format_amount(t.amount - allocated - written_off),
        "allocations": [allocation_document(a) for a in allocations],
        "write_offs": [write_off_document(w) for w in write_offs],
        "suggestions": [_suggestion_document(s) for s in suggestions],
    }


def _suggestion_document(s: Any) -> dict[str, Any]:
    return {
        "id": s.id,
        "score": float(s.score),
        "status": s.status,
        "allocations": [
            {
                "invoice_id": a["invoice_id"],
                "amount": format_amount(Decimal(a["amount"])),
                "write_off": format_amount(Decimal(a.get("write_off", "0.00"))),
            }
            for a in s.allocations
        ],
        "reasons": s.reasons,
    }
