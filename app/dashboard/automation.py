"""The automation monitor: per week, how much of the money in the machine settled and how much waited for a person.

A week is an ISO week (Monday to Sunday) of booking dates; a payment counts in the week its bank booked it.

- ``incoming``: money in (leaf movements with a positive amount) booked in the week.
- ``with_reference``: those that carried a structured reference (an OGM or RF, in the bank's structured field).
- ``settled_automatically``: those the engine allocated, every allocation of them made by it (``matcher``) or
  by a rule a person switched on.
- ``settled_by_people``: those with an allocation a person made (a suggestion accepted, a manual allocation).
- ``suggestions_accepted`` / ``_rejected``: decisions on suggestions taken in the week (UTC day of the decision).
- ``median_days_to_settlement``: from booking to the payment's first allocation, in days, over the week's
  settled payments (null when none).
- ``returned``: money that came back (return allocations), by the week its R-transaction was booked.

The queries read the window only: the company's money in of those weeks, their allocations, and the decisions
and returns of the window.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.timeutil import as_utc
from app.reconciliation.models import Allocation, Suggestion
from app.reconciliation.rules import automatic
from app.statements.models import BankTransaction

CHUNK = 500


@dataclass
class Week:
    starts: date
    incoming: int = 0
    with_reference: int = 0
    settled_automatically: int = 0
    settled_by_people: int = 0
    suggestions_accepted: int = 0
    suggestions_rejected: int = 0
    days_to_settlement: list[int] = field(default_factory=list)
    returned_count: int = 0
    returned_amount: Decimal = Decimal("0.00")

    def as_dict(self) -> dict[str, Any]:
        year, number, _ = self.starts.isocalendar()
        return {
            "week": f"{year}-W{number:02d}",
            "starts": self.starts,
            "incoming": self.incoming,
            "with_reference": self.with_reference,
            "reference_share": _share(self.with_reference, self.incoming),
            "settled_automatically": self.settled_automatically,
            "automatic_share": _share(self.settled_automatically, self.incoming),
            "settled_by_people": self.settled_by_people,
            "suggestions_accepted": self.suggestions_accepted,
            "suggestions_rejected": self.suggestions_rejected,
            "median_days_to_settlement": (
                float(statistics.median(self.days_to_settlement)) if self.days_to_settlement else None
            ),
            "returned": {"count": self.returned_count, "amount": self.returned_amount},
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def automation_weeks(session: Session, company_id: str, weeks: int, until: date) -> list[dict[str, Any]]:
    """``weeks`` ISO weeks, oldest first, the last one holding ``until``."""
    last = monday(until)
    first = last - timedelta(weeks=weeks - 1)
    end = last + timedelta(days=6)
    table = {first + timedelta(weeks=n): Week(first + timedelta(weeks=n)) for n in range(weeks)}

    incoming = session.execute(
        select(BankTransaction.id, BankTransaction.booking_date, BankTransaction.structured_reference).where(
            BankTransaction.company_id == company_id,
            col(BankTransaction.booking_date).between(first, end),
            BankTransaction.amount > 0,
            BankTransaction.kind != "total",
        )
    ).all()
    booked = {tx_id: booking for tx_id, booking, _ in incoming}
    for _, booking, reference in incoming:
        week = table[monday(booking)]
        week.incoming += 1
        week.with_reference += reference is not None

    by_transaction: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    ids = list(booked)
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(Allocation.transaction_id, Allocation.created_by, Allocation.created_at).where(
                col(Allocation.transaction_id).in_(ids[start : start + CHUNK]),
                col(Allocation.returns_allocation_id).is_(None),
            )
        ).all()
        for tx_id, by, at in rows:
            by_transaction[tx_id].append((by, at))
    for tx_id, allocations in by_transaction.items():
        week = table[monday(booked[tx_id])]
        if all(automatic(by) for by, _ in allocations):
            week.settled_automatically += 1
        else:
            week.settled_by_people += 1
        first_allocated = min(as_utc(at) for _, at in allocations).date()
        week.days_to_settlement.append(max(0, (first_allocated - booked[tx_id]).days))

    decisions = session.execute(
        select(Suggestion.status, Suggestion.decided_at).where(
            Suggestion.company_id == company_id,
            col(Suggestion.status).in_(("accepted", "rejected")),
            col(Suggestion.decided_at) >= datetime.combine(first, datetime.min.time(), UTC),
        )
    ).all()
    for status, decided_at in decisions:
        week = table.get(monday(as_utc(decided_at).date()))
        if week is not None:
            if status == "accepted":
                week.suggestions_accepted += 1
            else:
                week.suggestions_rejected += 1

    returns = session.execute(
        select(Allocation.amount, BankTransaction.booking_date)
        .join(BankTransaction, col(BankTransaction.id) == col(Allocation.transaction_id))
        .where(
            Allocation.company_id == company_id,
            col(Allocation.returns_allocation_id).is_not(None),
            col(BankTransaction.booking_date).between(first, end),
        )
    ).all()
    for amount, booking in returns:
        week = table[monday(booking)]
        week.returned_count += 1
        week.returned_amount += amount
    return [table[start].as_dict() for start in sorted(table)]
