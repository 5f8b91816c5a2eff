"""Rules and proposals on the review page (issue 42): listed with what they fit and do; switching one on shows
first what it will do (its trial), then does it; a proposal can be dismissed; a read key sees no buttons."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.api.test_review_page import csrf, notice, sign_in
from tests.helpers import IBAN, VAT

BANK = "BE68539007547034"


def charges(client, key, *texts: str, sequence: int = 1) -> None:
    movements = [
        MovementSpec(Decimal("-2.50"), communication=t, counterparty_name="KBC", counterparty_iban=BANK) for t in texts
    ]
    day = date.today() - timedelta(days=2)
    body = write_coda([StatementSpec(IBAN, day, Decimal("0"), movements, sequence=sequence)])
    client.post(f"/v1/companies/{VAT}/statements", content=body, headers=key).raise_for_status()


def test_a_rule_is_switched_on_after_its_trial_is_shown_and_a_proposal_dismissed(client):
    key = sign_in(client, language="en")
    charges(client, key, "KOSTEN REKENING", "KOSTEN KAART", "HUUR")
    rule = client.post(
        f"/v1/companies/{VAT}/rules",
        json={"name": "KBC charges", "words": ["kosten"], "counterparty_iban": BANK, "action": "keep"},
        headers=key,
    ).json()
    page = client.get("/ui/").text
    section = page[page.index('<section aria-labelledby="rules">') :]
    section = section[: section.index("</section>")]
    assert "KBC charges" in section and "\u201ckosten\u201d · BE68 5390 0754 7034" in section
    assert "keep as bank fee" in section and ">off<" in section

    asked = client.get(f"/ui/rules/{rule['id']}/on")
    assert (
        "Switch on rule KBC charges: it acts on 2 open payment(s) of the last 90 days, and on every new one."
        in asked.text
    )
    assert asked.text.count("kept as bank_fee") == 2
    assert (
        client.get(f"/v1/companies/{VAT}/rules/{rule['id']}", headers=key).json()["state"] == "off"
    )  # looking is not doing
    client.post(f"/ui/rules/{rule['id']}/on", data={"csrf": csrf(asked.text)}, follow_redirects=False)
    assert notice(client.get("/ui/").text) == "Rule switched on."
    items = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    assert sorted((t["communication"], t["status"]) for t in items) == [
        ("HUUR", "unmatched"), ("KOSTEN KAART", "matched"), ("KOSTEN REKENING", "matched"),
    ]  # fmt: skip

    # Two charges kept by hand with shared words: a proposal, listed with a dismiss button.
    charges(client, key, "BEHEER PAKKET", "BEHEER KAART", sequence=2)
    for t in client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]:
        if t["communication"].startswith("BEHEER"):
            path = f"/v1/companies/{VAT}/transactions/{t['id']}/write-offs"
            client.post(path, json={"amount": "2.50", "reason": "bank_fee"}, headers=key).raise_for_status()
    page = client.get("/ui/").text
    [dismiss] = re.findall(r'action="(/ui/rules/[^"]+/dismiss)"', page)
    client.post(dismiss, data={"csrf": csrf(page)}, follow_redirects=False)
    assert notice(client.get("/ui/").text) == "Proposal dismissed."
    assert [r["state"] for r in client.get(f"/v1/companies/{VAT}/rules", headers=key).json()] == ["on", "dismissed"]


def test_a_read_key_sees_the_rules_and_no_button(client):
    key = sign_in(client, scope="read", language="nl")
    assert key
    page = client.get("/ui/").text
    assert '<h2 id="rules">Regels (0)</h2>' in page and "Nog geen regels." in page
    assert "/ui/rules/" not in page


def test_a_rule_made_on_the_page_is_off_until_switched_on_and_a_bad_one_is_said_plainly(client):
    key = sign_in(client, language="en")
    charges(client, key, "KOSTEN REKENING")
    page = client.get("/ui/").text
    made = client.post(
        "/ui/rules",
        data={
            "csrf": csrf(page),
            "name": "Charges",
            "words": "kosten",
            "counterparty_iban": "BE68 5390 0754 7034",
            "action": "keep",
            "reason": "bank_fee",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert notice(client.get("/ui/").text) == "Rule made, off: try it, then switch it on."
    [rule] = client.get(f"/v1/companies/{VAT}/rules", headers=key).json()
    assert (rule["name"], rule["state"], rule["words"], rule["counterparty_iban"]) == (
        "Charges",
        "off",
        ["kosten"],
        BANK,
    )
    assert rule["created_by"].startswith("ui:")
    page = client.get("/ui/").text
    client.post("/ui/rules", data={"csrf": csrf(page), "name": "Nothing", "action": "keep"}, follow_redirects=False)
    assert "a rule needs words, an account or a name" in notice(client.get("/ui/").text)
    assert len(client.get(f"/v1/companies/{VAT}/rules", headers=key).json()) == 1
