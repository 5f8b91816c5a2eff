"""Properties of the rule that makes a payment seen through Ponto and in a bank file one transaction
(``statements/twins.pair``): it pairs only movements of the same day and amount, each at most once, never two
that contradict each other, and a file that lists the same distinct payments again pairs each with its own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from app.statements.twins import contradicts, pair

DAYS = st.sampled_from([date(2026, 12, 7), date(2026, 12, 8)])
AMOUNTS = st.sampled_from([Decimal("50.00"), Decimal("121.00"), Decimal("-12.50")])
MAYBE = st.one_of(st.none(), st.sampled_from(["A", "B"]))
FIELDS = ("end_to_end_reference", "counterparty_iban", "structured_reference")

movement = st.fixed_dictionaries(
    {
        "booking_date": DAYS,
        "amount": AMOUNTS,
        "end_to_end_reference": MAYBE,
        "counterparty_iban": MAYBE,
        "structured_reference": MAYBE,
        "communication": st.sampled_from(["", "invoice 12", "rent"]),
    }
)


def _rows(found: list[dict], prefix: str) -> list[dict]:
    return [{"id": f"{prefix}{n}", **m} for n, m in enumerate(found)]


@settings(max_examples=300, deadline=None)
@given(st.lists(movement, max_size=8), st.lists(movement, max_size=8))
def test_pairs_are_same_day_same_amount_one_to_one_and_never_contradict(new_found, stored_found):
    new = _rows(new_found, "n")
    stored = [SimpleNamespace(**row) for row in _rows(stored_found, "s")]
    pairs = pair(new, stored)
    by_id = {row.id: row for row in stored}
    assert len(set(pairs.values())) == len(pairs)  # a stored movement is the twin of one movement at most
    for new_id, stored_id in pairs.items():
        a = next(row for row in new if row["id"] == new_id)
        b = by_id[stored_id]
        assert (a["booking_date"], a["amount"]) == (b.booking_date, b.amount)
        assert not contradicts(SimpleNamespace(**a), b)


@settings(max_examples=200, deadline=None)
@given(st.lists(movement, max_size=8, unique_by=lambda m: (m["booking_date"], m["amount"], m["end_to_end_reference"])))
def test_the_same_distinct_payments_listed_again_each_find_their_own(found):
    # Distinct by day, amount and end-to-end id; each given one, so that the rule has something to tell them by.
    found = [{**m, "end_to_end_reference": m["end_to_end_reference"] or f"E2E-{n}"} for n, m in enumerate(found)]
    stored = [SimpleNamespace(**row) for row in _rows(found, "s")]
    again = _rows(found, "n")
    assert pair(again, stored) == {f"n{n}": f"s{n}" for n in range(len(found))}
