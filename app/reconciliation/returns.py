"""Money that comes back (issue 40): an R-transaction finds the payment it reverses and takes back what that
payment did.

A returned, rejected, refunded or reversed SEPA collection is a movement of its own, in the other direction.
Its original is looked for in the order of trust the evidence deserves:

1. the same end-to-end id (the creditor's id of the collection, carried by every R-transaction of it);
2. the same mandate and the same amount;
3. the same structured communication (OGM/RF) and the same amount;
4. the same counterparty account and the same amount.

The first three settle it when exactly one payment fits, one not returned already; the last, or several that
fit, make a suggestion for a person: an R-transaction is never applied on a guess. Applying it offsets each
allocation of the original with an allocation of the return that names it (newest first, a part return
offsetting part), so the invoices go back to ``open`` or ``partially_paid``; money of the original that no
allocation took is written off on both sides with reason ``returned``, so neither waits for a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.core.db import plain_rows
from app.core.money import format_amount
from app.core.one_of import one_of
from app.core.timeutil import utcnow
from app.invoices.models import Invoice
from app.reconciliation.ledger import Ledger
from app.reconciliation.models import Allocation, Suggestion
from app.reconciliation.reasons import Reason
from app.reconciliation.return_reasons import reason_text
from app.reconciliation.status import ZERO, signed_effect
from app.statements.models import BankTransaction

_TX = BankTransaction.__table__  # type: ignore[attr-defined]
_ALLOCATIONS = Allocation.__table__  # type: ignore[attr-defined]
_INVOICES = Invoice.__table__  # type: ignore[attr-defined]
#: How many payments one piece of evidence may name before it proves nothing (a mandate paid monthly for years).
_AT_MOST = 50
#: Score of a return a person should confirm (several originals fit, or only the account and amount agree).
UNSURE = 0.6


def is_return(row: Any) -> bool:
    """A stored or new transaction that moves money back: a SEPA R-transaction (reject, return, refund,
    reversal, cancellation), a transfer that came back or a booking the bank reversed."""
    debit = getattr(row, "direct_debit", None)
    return (bool(debit) and debit.get("r_transaction") not in (None, "paid")) or bool(row.transfer_return)


def reason_of(row: Any) -> tuple[str | None, str | None]:
    """The R-transaction's ISO reason code and its English text (None where the bank gave none, or one the code
    set does not list)."""
    code = (row.direct_debit or row.transfer_return or {}).get("reason") or None
    return code, reason_text(code)


@dataclass(frozen=True)
class Found:
    original: Any  # the payment's transaction row
    how: str  # end_to_end | mandate | reference | account
    sure: bool


def find_original(session: Session, company_id: str, tx: Any) -> Found | None:
    """The payment ``tx`` reverses, by the strongest evidence that names one still unreturned; None if none."""
    size = abs(tx.amount)
    steps = (
        ("end_to_end", _TX.c.end_to_end_reference, tx.end_to_end_reference, False),
        ("mandate", _TX.c.mandate_reference, tx.mandate_reference, True),
        ("reference", _TX.c.structured_reference, tx.structured_reference, True),
        ("account", _TX.c.counterparty_iban, tx.counterparty_iban, True),
    )
    for how, column, value, same_amount in steps:
        if not value:
            continue
        query = select(_TX).where(
            _TX.c.company_id == company_id,
            column == value,
            _TX.c.id != tx.id,
            _TX.c.kind != "total",
            _TX.c.returns_transaction_id.is_(None),  # a return is never the original of another
            _TX.c.booking_date <= tx.booking_date,
            (_TX.c.amount == -tx.amount) if same_amount else (-_TX.c.amount * _sign(tx) >= size),
            (_TX.c.amount > 0) if tx.amount < 0 else (_TX.c.amount < 0),
        )
        rows = plain_rows(
            session.execute(query.order_by(_TX.c.booking_date.desc(), _TX.c.id.desc()).limit(_AT_MOST + 1))
        )
        if len(rows) > _AT_MOST:
            continue
        returned = _returned_of(session, [r.id for r in rows])
        left = [r for r in rows if abs(r.amount) - returned.get(r.id, ZERO) >= size]
        if left:
            return Found(left[0], how, sure=how != "account" and len(left) == 1)
    return None


def _sign(tx: Any) -> int:
    return -1 if tx.amount < 0 else 1


def _returned_of(session: Session, original_ids: Sequence[str]) -> dict[str, Decimal]:
    """What returns found so far took back of each of these payments (as a positive amount)."""
    if not original_ids:
        return {}
    rows = session.execute(
        select(_TX.c.returns_transaction_id, func.sum(_TX.c.amount))
        .where(one_of(_TX.c.returns_transaction_id, list(original_ids)))
        .group_by(_TX.c.returns_transaction_id)
    )
    return {original: abs(Decimal(total)) for original, total in rows}


@dataclass(frozen=True)
class Offset:
    """One allocation of the original, and how much of it the return takes back."""

    allocation_id: str
    invoice_id: str
    amount: Decimal


def offsets(session: Session, tx: Any, original: Any) -> tuple[list[Offset], Decimal]:
    """What returning ``tx`` takes back of each allocation of ``original`` (newest first; all of them when the
    whole payment comes back), and how much of the return's money is left for the original's unallocated rest."""
    size = abs(tx.amount)
    rows = session.execute(
        select(_ALLOCATIONS.c.id, _ALLOCATIONS.c.invoice_id, _ALLOCATIONS.c.amount, _INVOICES.c.kind)
        .join(_INVOICES, _INVOICES.c.id == _ALLOCATIONS.c.invoice_id)
        .where(_ALLOCATIONS.c.transaction_id == original.id, _ALLOCATIONS.c.returns_allocation_id.is_(None))
        .order_by(_ALLOCATIONS.c.created_at.desc(), _ALLOCATIONS.c.id.desc())
    ).all()
    taken = dict(
        session.execute(
            select(_ALLOCATIONS.c.returns_allocation_id, func.sum(_ALLOCATIONS.c.amount))
            .where(
                one_of(_ALLOCATIONS.c.invoice_id, sorted({r.invoice_id for r in rows}) or [""]),
                one_of(_ALLOCATIONS.c.returns_allocation_id, [r.id for r in rows] or [""]),
            )
            .group_by(_ALLOCATIONS.c.returns_allocation_id)
        ).all()
    )
    parts = [(r, r.amount - Decimal(taken.get(r.id) or ZERO)) for r in rows]
    parts = [(r, left) for r, left in parts if left > 0]
    # In the original's direction: what each allocation moved of its money (a credit note counts against it).
    direction = _sign(original)
    net = sum((signed_effect(r.kind, left) * direction for r, left in parts), ZERO)
    out: list[Offset] = []
    if net <= size:  # all of what is left comes back
        out = [Offset(r.id, r.invoice_id, left) for r, left in parts]
        return out, size - net
    remaining = size
    for r, left in parts:  # part of it: the newest allocations that moved money the original's way
        if remaining <= 0 or signed_effect(r.kind, left) * direction <= 0:
            continue
        take = min(left, remaining)
        out.append(Offset(r.id, r.invoice_id, take))
        remaining -= take
    return out, ZERO


def _reasons(tx: Any, found: Found) -> list[Reason]:
    code, text = reason_of(tx)
    original = found.original
    signal = "returned_by_account" if not found.sure else "returned"
    return [
        Reason(
            signal,
            amount=abs(original.amount),
            day=original.booking_date.isoformat(),
            evidence=found.how,
            code=code or "-",
            text=text or "-",
            booked=tx.booking_date.isoformat(),  # when the money went back (the invoice's returns show it)
        )
    ]


def reverse_returns(session: Session, ledger: Ledger, rows: Sequence[Any]) -> tuple[int, int]:
    """Apply every R-transaction among ``rows`` (stored, not yet linked) whose original is found for sure, and
    suggest the others' originals to a person; returns how many were applied and suggested. The caller settles."""
    applied = suggested = 0
    for tx in sorted(rows, key=lambda t: (t.booking_date, t.line, t.detail, t.id)):
        if not is_return(tx) or tx.returns_transaction_id is not None:
            continue
        found = find_original(session, ledger.company_id, tx)
        if found is None:
            continue
        parts, rest = offsets(session, tx, found.original)
        reasons = _reasons(tx, found)
        if not found.sure:
            if parts:
                ledger.suggest(
                    tx.id,
                    UNSURE,
                    [
                        {"invoice_id": p.invoice_id, "amount": format_amount(p.amount), "returns": p.allocation_id}
                        for p in parts
                    ],
                    reasons,
                )
                suggested += 1
            continue
        apply_return(session, ledger, tx, found.original, parts, rest, reasons=reasons, method="returned")
        applied += 1
    return applied, suggested


def apply_return(
    session: Session,
    ledger: Ledger,
    tx: Any,
    original: Any,
    parts: Sequence[Offset],
    rest: Decimal,
    *,
    reasons: list[Any],
    method: str,
    confidence: float = 1.0,
    suggestion_id: str | None = None,
) -> list[str]:
    """Link ``tx`` to the payment it returns and take back ``parts``; the original's unallocated money, up to
    ``rest``, is written off on both sides as ``returned``. Returns the new allocations' ids."""
    ledger.link_return(tx.id, original.id)
    made = [
        ledger.allocate(
            tx.id,
            p.invoice_id,
            p.amount,
            method=method,
            confidence=confidence,
            reasons=reasons,
            suggestion_id=suggestion_id,
            returns=p.allocation_id,
        )
        for p in parts
    ]
    unaccounted = abs(original.amount - original.amount_allocated - original.amount_written_off)
    both = min(rest, unaccounted)
    if both > 0:
        ledger.write_off(both, "returned", transaction_id=tx.id, note=f"returns {original.id}")
        ledger.write_off(both, "returned", transaction_id=original.id, note=f"returned by {tx.id}")
        _supersede(session, original.id, ledger.actor)
    return made


def _supersede(session: Session, transaction_id: str, actor: str) -> None:
    """What was proposed for the original's money is moot once that money went back."""
    session.execute(
        update(Suggestion)
        .where(col(Suggestion.transaction_id) == transaction_id, col(Suggestion.status) == "open")
        .values(status="superseded", decided_by=actor, decided_at=utcnow())
    )
