"""The automation monitor against a generated scenario (tests/scenarios.py, seed 11): its weekly figures equal
those counted by hand from the scenario's own payments and from the transactions the API lists."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

from tests.helpers import VAT, make_company, make_key
from tests.scenarios import generate, is_valid


def monday(day: date) -> str:
    return (day - timedelta(days=day.weekday())).isoformat()


def test_the_monitor_equals_a_count_by_hand_on_a_generated_scenario(client):
    scenario = generate(seed=11, invoices=600, payments=240)
    make_company(client, accounts=[scenario.account_iban])
    key = make_key(client)
    bodies = [scenario.invoice_body(i) for i in scenario.invoices]
    answer = client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": bodies}, headers=key)
    assert answer.status_code in (200, 207), answer.text[:300]
    client.post(
        f"/v1/companies/{VAT}/statements", content=scenario.to_coda(per_statement=60), headers=key
    ).raise_for_status()

    # By hand, from the scenario: money in per week, and the payments whose structured field holds a valid OGM.
    money_in = [p for p in scenario.payments if p.amount > 0]
    incoming = Counter(monday(p.booking_date) for p in money_in)
    with_reference = Counter(
        monday(p.booking_date)
        for p in money_in
        if p.structured_content and is_valid(re.sub(r"\D", "", p.structured_content))
    )
    # By hand, from the API's transactions: money in whose every allocation the engine made.
    items, cursor = [], None
    while True:
        page = client.get(
            f"/v1/companies/{VAT}/transactions",
            params={"limit": 500, **({"cursor": cursor} if cursor else {})},
            headers=key,
        ).json()
        items += page["items"]
        if not (cursor := page.get("next_cursor")):
            break
    automatic = Counter(
        monday(date.fromisoformat(t["booking_date"]))
        for t in items
        if t["amount"][0] != "-" and t["allocations"] and all(a["created_by"] == "matcher" for a in t["allocations"])
    )

    last = max(p.booking_date for p in scenario.payments)
    weeks = (
        date.fromisoformat(monday(last)) - date.fromisoformat(monday(min(p.booking_date for p in money_in)))
    ).days // 7 + 1
    figures = client.get(
        f"/v1/companies/{VAT}/summary/automation", params={"weeks": weeks, "until": last.isoformat()}, headers=key
    ).json()["weeks"]
    assert sum(w["incoming"] for w in figures) == len(money_in)
    for week in figures:
        assert week["incoming"] == incoming[week["starts"]], week["week"]
        assert week["with_reference"] == with_reference[week["starts"]], week["week"]
        assert week["settled_automatically"] == automatic[week["starts"]], week["week"]
    assert sum(automatic.values()) > len(money_in) / 2  # the scenario exercises the engine, not an empty table
