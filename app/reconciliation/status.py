"""How an invoice's and a transaction's state follow from their money: pure rules over plain values.

The Ledger applies them to every row it touches, ``codarecon check`` holds the stored states to them, and the
review page previews a decision with them; none of them reads or writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")

#: Statuses of money in that still needs a person: becoming one of these is told (see worth_telling).
NEEDS_A_PERSON = frozenset(("unmatched", "partially_matched"))


def signed_effect(invoice_kind: str, amount: Decimal, returns: object = None) -> Decimal:
    """What an allocation of ``amount`` to a document of this kind means for the transaction's balance. A return
    (``returns``: the allocation it offsets) moves money the other way: a returned collection takes money out."""
    effect = -amount if invoice_kind == "credit_note" else amount
    return -effect if returns else effect


def paid_effect(amount: Decimal, returns: object = None) -> Decimal:
    """What an allocation means for its invoice's ``amount_paid``: a return takes its amount off again."""
    return -amount if returns else amount


def invoice_status(total: Decimal, paid: Decimal, written_off: Decimal, cancelled: bool) -> str:
    if cancelled:
        return "cancelled"
    settled = paid + written_off
    if settled <= 0:
        return "open"
    if settled < total:
        return "partially_paid"
    return "paid" if settled == total else "overpaid"


def invoice_amount_due(total: Decimal, paid: Decimal, written_off: Decimal, cancelled: bool) -> Decimal:
    """What is still to be paid: never negative (an overpayment shows in status and amount_paid)."""
    return ZERO if cancelled else max(total - paid - written_off, ZERO)


def invoice_paid_at(status: str, days: Iterable[date]) -> date | None:
    """A settled invoice is paid on the day of its last payment or write-off; an unsettled one has no day."""
    if status not in ("paid", "overpaid"):
        return None
    return max(days, default=None)


def transaction_status(
    amount: Decimal,
    allocated: Decimal,
    written_off: Decimal,
    *,
    settled_any: bool,
    suggested: bool,
    ignored: bool,
    returns: bool = False,
) -> str:
    """``returns``: the transaction is money that came back and its original was found (it returns one)."""
    if ignored:
        return "ignored"
    if not settled_any:
        return "suggested" if suggested else "unmatched"
    if amount - allocated - written_off != 0:
        return "partially_matched"
    return "returned" if returns else "matched"


def fits(amount: Decimal, allocated: Decimal, written_off: Decimal) -> bool:
    """Allocations and write-offs stay within the money the transaction moved, in its direction."""
    low, high = sorted((ZERO, amount))
    return low <= allocated + written_off <= high and low <= allocated <= high


def worth_telling(amount: Decimal, status: str, *, status_changed: bool, remainder_changed: bool) -> bool:
    """Whether a transaction's new state is news: money in that comes to need a person (unmatched, partly
    matched), or a partial match whose remainder moved. Money out and settled payments need nobody."""
    if amount <= 0 or status not in NEEDS_A_PERSON:
        return False
    return status_changed or (status == "partially_matched" and remainder_changed)
