"""The same payment seen twice: through Ponto the same day, and in the bank's statement file the next.

A bank file (CODA, camt.053: from CodaBox or uploaded) and a Ponto batch each list the account's movements.
A movement of one that the other brought before is a **twin**: it is not stored as a second transaction (its
money is counted once, matched once); a ``movement_twins`` row keeps where it appeared again and which
transaction it is. The file itself is kept whole, as every file is.

Identity (docs/ponto.md): the same account and currency, booking day and signed amount; no contradiction
between end-to-end ids, counterparty accounts or structured references (both given and different); and an
agreement on one of them (or the same communication).
With nothing to tell either way, one movement of that day and amount on each side is taken as one payment;
several are left apart, never paired by guess. Unverified: that Ponto's execution day in Brussels is the CODA
entry date (both are the bank's booking day in every source we read).

Cost: one indexed select per statement, and only when the company has movements of the other kind at all (a
company that never used Ponto pays one select per file).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, select
from sqlmodel import Session

from app.statements.models import BankTransaction, MovementTwin, Statement

_TX = BankTransaction.__table__  # type: ignore[attr-defined]
_ST = Statement.__table__  # type: ignore[attr-defined]
_TW = MovementTwin.__table__  # type: ignore[attr-defined]


def is_ponto(sequence: int) -> bool:
    """A Ponto batch's statement (negative sequence, ``ponto_reader.py``), not a bank's."""
    return sequence < 0


def has_ponto_statements(session: Session, company_id: str) -> bool:
    return (
        session.execute(select(_ST.c.id).where(_ST.c.company_id == company_id, _ST.c.sequence < 0).limit(1)).first()
        is not None
    )


@dataclass(frozen=True, slots=True)
class _Seen:
    id: str
    booking_date: date
    amount: Decimal
    end_to_end_reference: str | None
    counterparty_iban: str | None
    structured_reference: str | None
    communication: str


def _words(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def contradicts(a: Any, b: Any) -> bool:
    """Two movements of the same day and amount that cannot be one payment."""
    for key in ("end_to_end_reference", "counterparty_iban", "structured_reference"):
        left, right = getattr(a, key), getattr(b, key)
        if left and right and left != right:
            return True
    return False


def agrees(a: Any, b: Any) -> bool:
    """Evidence that two movements of the same day and amount are one payment. A contradiction always wins: an
    end-to-end id is the payer's text, and two payers may write the same one."""
    if contradicts(a, b):
        return False
    if a.end_to_end_reference and a.end_to_end_reference == b.end_to_end_reference:
        return True
    for key in ("counterparty_iban", "structured_reference"):
        if getattr(a, key) and getattr(a, key) == getattr(b, key):
            return True
    return bool(_words(a.communication)) and _words(a.communication) == _words(b.communication)


def pair(new: list[Any], stored: Iterable[Any]) -> dict[str, str]:
    """new row id -> stored transaction id, for each new movement that is a stored one (each used once)."""
    by_key: dict[tuple[date, Decimal], list[Any]] = defaultdict(list)
    for row in stored:
        by_key[(row.booking_date, row.amount)].append(row)
    if not by_key:
        return {}
    new_by_key: dict[tuple[date, Decimal], list[Any]] = defaultdict(list)
    for row in new:
        new_by_key[(row["booking_date"], row["amount"])].append(row)
    pairs: dict[str, str] = {}
    for key, rows in new_by_key.items():
        candidates = list(by_key.get(key, ()))
        if not candidates:
            continue
        views = [
            _Seen(
                r["id"],
                *key,
                r["end_to_end_reference"],
                r["counterparty_iban"],
                r["structured_reference"],
                r["communication"],
            )
            for r in rows
        ]
        for view in views:
            found = next((c for c in candidates if agrees(view, c)), None)
            if found is not None:
                pairs[view.id] = found.id
                candidates.remove(found)
        left = [v for v in views if v.id not in pairs]
        # Nothing tells either way: one of that day and amount on each side is one payment, several are not guessed.
        if len(left) == 1 and len(candidates) == 1 and not contradicts(left[0], candidates[0]):
            pairs[left[0].id] = candidates[0].id
    return pairs


def stored_twins(
    session: Session, company_id: str, iban: str, currency: str, ponto: bool, days: tuple[date, date]
) -> list[Any]:
    """The company's movements on the account between the days, from the other kind of source, not yet twinned."""
    first, last = days
    other = _ST.c.sequence >= 0 if ponto else _ST.c.sequence < 0
    query = (
        select(
            _TX.c.id,
            _TX.c.booking_date,
            _TX.c.amount,
            _TX.c.end_to_end_reference,
            _TX.c.counterparty_iban,
            _TX.c.structured_reference,
            _TX.c.communication,
        )
        .select_from(_TX.join(_ST, _ST.c.id == _TX.c.statement_id))
        .where(
            _ST.c.account_iban == iban,
            _ST.c.currency == currency,
            _ST.c.company_id == company_id,
            other,
            _ST.c.date >= first,
            _TX.c.kind != "total",
            and_(_TX.c.booking_date >= first, _TX.c.booking_date <= last),
            ~exists().where(_TW.c.transaction_id == _TX.c.id),
        )
        .order_by(_TX.c.id)
    )
    return list(session.execute(query))
