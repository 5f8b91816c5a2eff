"""Turn bank-transaction rows (with allocations, write-offs and open suggestions) into the API resource."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from app.invoices.presenter import allocation_public, write_off_public
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


def present_transactions(session: Session, rows: Sequence[BankTransaction | Any]) -> list[TransactionPublic]:
    ids = [r.id for r in rows]
    settled = [r.id for r in rows if r.status in ("matched", "partially_matched")]  # the others have neither
    session.flush()  # the plain selects below do not flush pending ORM objects themselves
    allocations: dict[str, list[Any]] = defaultdict(list)
    write_offs: dict[str, list[Any]] = defaultdict(list)
    suggestions: dict[str, list[Any]] = defaultdict(list)
    for start in range(0, len(settled), 500):
        chunk = settled[start : start + 500]
        for a in session.execute(_ALLOCATIONS.select().where(_ALLOCATIONS.c.transaction_id.in_(chunk))):
            allocations[a.transaction_id].append(a)
        for w in session.execute(_WRITE_OFFS.select().where(_WRITE_OFFS.c.transaction_id.in_(chunk))):
            write_offs[w.transaction_id].append(w)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for s in session.execute(
            _SUGGESTIONS.select().where(_SUGGESTIONS.c.transaction_id.in_(chunk), _SUGGESTIONS.c.status == "open")
        ):
            suggestions[s.transaction_id].append(s)
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
            allocations=[allocation_public(a) for a in sorted(allocations.get(t.id, []), key=lambda a: a.created_at)],
            write_offs=[write_off_public(w) for w in sorted(write_offs.get(t.id, []), key=lambda w: w.created_at)],
            suggestions=[
                SuggestionPublic(
                    id=s.id,
                    score=s.score,
                    status=s.status,
                    allocations=[SuggestedAllocation(**a) for a in s.allocations],
                    reasons=s.reasons,
                )
                for s in sorted(suggestions.get(t.id, []), key=lambda s: -s.score)
            ],
        )
        for t in rows
    ]
