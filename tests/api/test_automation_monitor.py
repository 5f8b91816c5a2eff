"""The automation monitor (issue 42): a small scenario whose figures are counted by hand, week by week.

Booked in ISO week 45 (2 November 2026): a SEPA collection the engine settles under its mandate. Week 46: its
return (AM04). Week 47: five transfers: two with an OGM (the engine settles them), two that become suggestions
(a person accepts one and rejects the other) and one without any evidence, part of which a person allocates by
hand. Decisions are counted in the week they are taken: today's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.coda_builders import payment_file
from tests.direct_debits import Bank, debit, register
from tests.helpers import IBAN, VAT, make_company, make_key

OGM_B = "+++000/0000/09797+++"
FIRST_MONDAY = date(2026, 11, 2)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def test_the_monitor_counts_what_happened_week_by_week(client, key):
    bank = Bank(client, key, "coda")
    collected = register(bank, "DD-1", mandate_reference="MANDAAT-0042")
    bank.book(debit("121.00", end_to_end="E2E-1", day=4))
    bank.book(debit("-121.00", r_type="return", reason="AM04", end_to_end="E2E-1", day=12))
    register(bank, "B", total="50.00", reference=OGM_B)
    suggested = register(bank, "C", total="80.00", reference=None)
    rejected = register(bank, "D", total="60.00", reference=None)
    transfers = payment_file(
        ("121.00", "+++090/9337/55493+++"), ("50.00", OGM_B), ("80.00", None), ("60.00", None), ("999.00", None),
        sequence=3, day=date(2026, 11, 20), opening="0",
    )  # fmt: skip
    client.post(f"/v1/companies/{VAT}/statements", content=transfers, headers=key).raise_for_status()
    week47 = {amount: t for (amount, day), t in bank.transactions().items() if day == "2026-11-20"}
    for amount, decision in (("80.00", "accept"), ("60.00", "reject")):
        [suggestion] = week47[amount]["suggestions"]
        path = f"/v1/companies/{VAT}/transactions/{week47[amount]['id']}/suggestions/{suggestion['id']}/{decision}"
        client.post(path, headers=key).raise_for_status()
    client.post(
        f"/v1/companies/{VAT}/transactions/{week47['999.00']['id']}/allocations",
        json={"invoice_id": rejected["id"], "amount": "60.00"},
        headers=key,
    ).raise_for_status()
    assert suggested and collected  # both registered before the money arrived

    today = datetime.now(UTC).date()
    weeks = (monday(today) - FIRST_MONDAY).days // 7 + 1
    answer = client.get(
        f"/v1/companies/{VAT}/summary/automation", params={"weeks": weeks, "until": today.isoformat()}, headers=key
    )
    assert answer.status_code == 200, answer.text
    table = {w["starts"]: w for w in answer.json()["weeks"]}
    assert len(table) == weeks and min(table) == "2026-11-02"
    days = (today - date(2026, 11, 4)).days, (today - date(2026, 11, 20)).days  # allocated today, booked then

    figures = [
        "incoming", "with_reference", "settled_automatically", "settled_by_people", "suggestions_accepted",
        "suggestions_rejected", "median_days_to_settlement", "returned",
    ]  # fmt: skip

    def row(start: str) -> list:
        return [table[start][f] for f in figures]

    # The collection: money in, settled by the engine under its mandate (its OGM is in the creditor's
    # communication, not the bank's structured field).
    assert row("2026-11-02") == [1, 0, 1, 0, 0, 0, float(days[0]), {"count": 0, "amount": "0.00"}]
    assert table["2026-11-02"]["automatic_share"] == 1.0
    # Its return: no money in, 121.00 back.
    assert row("2026-11-09") == [0, 0, 0, 0, 0, 0, None, {"count": 1, "amount": "121.00"}]
    assert table["2026-11-09"]["automatic_share"] is None
    # Five transfers: two by their OGM, two by people (the accepted suggestion, the allocation by hand).
    decided_here = monday(today).isoformat() == "2026-11-16"
    assert row("2026-11-16") == [
        5, 2, 2, 2, int(decided_here), int(decided_here), float(days[1]), {"count": 0, "amount": "0.00"},
    ]  # fmt: skip
    assert (table["2026-11-16"]["reference_share"], table["2026-11-16"]["automatic_share"]) == (0.4, 0.4)
    # The decisions, counted in this week.
    this_week = table[monday(today).isoformat()]
    assert (this_week["suggestions_accepted"], this_week["suggestions_rejected"]) == (1, 1)
    assert sum(w["incoming"] for w in table.values()) == 6


def test_the_window_is_bounded_and_unknown_parameters_refused(client, key):
    too_many = client.get(f"/v1/companies/{VAT}/summary/automation", params={"weeks": 105}, headers=key)
    assert too_many.status_code == 422
    assert client.get(f"/v1/companies/{VAT}/summary/automation", params={"week": 3}, headers=key).status_code == 400
    default = client.get(f"/v1/companies/{VAT}/summary/automation", headers=key).json()["weeks"]
    assert len(default) == 12 and all(w["incoming"] == 0 and w["automatic_share"] is None for w in default)
