"""Rules a bookkeeper names, and proposals from people's decisions (issue 42): a rule tried on past payments
reports what it would do, and switched on it does exactly that; it never outranks a reference match; a
proposal appears after two equal decisions and not after one, and never switches itself on."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key

BANK = "BE68539007547034"
PAYER = "BE71096123456769"
OGM = "+++090/9337/55493+++"
TODAY = date.today()


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


class Statements:
    def __init__(self, client, key) -> None:
        self.client, self.key, self.sequence = client, key, 0

    def book(self, *movements: MovementSpec, day: date = TODAY - timedelta(days=3)) -> dict:
        self.sequence += 1
        body = write_coda([StatementSpec(IBAN, day, Decimal("0"), list(movements), sequence=self.sequence)])
        answer = self.client.post(f"/v1/companies/{VAT}/statements", content=body, headers=self.key)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def transactions(self) -> dict[str, dict]:
        items = self.client.get(f"/v1/companies/{VAT}/transactions?limit=200", headers=self.key).json()["items"]
        return {t["communication"] or t["structured_reference"] or t["amount"]: t for t in items}


def fee(amount: str, text: str) -> MovementSpec:
    return MovementSpec(Decimal(amount), communication=text, counterparty_name="KBC BANK", counterparty_iban=BANK)


def transfer(
    amount: str, text: str = "", ogm: str | None = None, iban: str = PAYER, name: str = "J. JANSSENS"
) -> MovementSpec:
    return MovementSpec(Decimal(amount), communication=text, ogm=ogm, counterparty_name=name, counterparty_iban=iban)


def rules(client, key, **params) -> list[dict]:
    return client.get(f"/v1/companies/{VAT}/rules", params=params, headers=key).json()


def test_a_rule_tried_on_past_payments_does_exactly_that_when_switched_on(client, key):
    bank = Statements(client, key)
    bank.book(fee("-2.50", "KOSTEN BETALINGSVERKEER 11/2026"), fee("-1.20", "KOSTEN KAART"), fee("-80.00", "HUUR"))
    created = client.post(
        f"/v1/companies/{VAT}/rules",
        json={
            "name": "KBC charges",
            "words": ["kosten"],
            "counterparty_iban": BANK,
            "direction": "out",
            "amount_max": "10.00",
            "action": "keep",
            "reason": "bank_fee",
        },
        headers=key,
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["state"], rule["reason"]) == ("off", "bank_fee")
    before = bank.transactions()
    assert all(t["status"] == "unmatched" for t in before.values())  # off: it did nothing

    trial = client.get(f"/v1/companies/{VAT}/rules/{rule['id']}/trial", headers=key).json()
    assert (trial["fitting"], trial["acting"]) == (2, 2)  # the rent is over the amount and has no "kosten"
    said = {p["transaction_id"]: (p["would"], p["detail"]) for p in trial["payments"]}
    assert set(said.values()) == {("keep", "kept as bank_fee")}

    switched = client.patch(f"/v1/companies/{VAT}/rules/{rule['id']}", json={"state": "on"}, headers=key).json()
    assert (switched["state"], switched["applied"]) == ("on", 2)
    after = bank.transactions()
    done = {t["id"] for t in after.values() if t["status"] == "matched"}
    assert done == set(said)  # exactly the payments the trial named, and nothing else
    assert after["HUUR"]["status"] == "unmatched"
    kept = after["KOSTEN KAART"]["write_offs"]
    assert [(w["amount"], w["reason"], w["note"]) for w in kept] == [("1.20", "bank_fee", "rule: KBC charges")]

    # On: it acts on new payments as they arrive, audited under its name.
    bank.book(fee("-3.10", "KOSTEN BETALINGSVERKEER 12/2026"))
    assert bank.transactions()["KOSTEN BETALINGSVERKEER 12/2026"]["status"] == "matched"
    audit = client.get(f"/v1/companies/{VAT}/audit-events", params={"action": "rule.applied"}, headers=key).json()
    assert len(audit["items"]) == 3 and {e["details"]["rule"] for e in audit["items"]} == {"KBC charges"}


def test_a_rule_never_outranks_a_reference_and_a_payer_rule_pays_the_customers_invoice(client, key):
    bank = Statements(client, key)
    by_ogm = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body("A", structured_reference=OGM), headers=key
    ).json()
    other = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("B", total="75.00"), headers=key).json()
    rule = client.post(
        f"/v1/companies/{VAT}/rules",
        json={
            "name": "Janssens pays Klant NV",
            "counterparty_iban": PAYER,
            "direction": "in",
            "action": "payer",
            "customer": {"name": "Klant NV", "vat": "BE0417497106"},
            "state": "on",
        },
        headers=key,
    ).json()
    bank.book(transfer("121.00", ogm=OGM), transfer("75.00", "voor de levering"))
    txs = bank.transactions()
    paid_by_reference = txs[OGM]
    assert [a["method"] for a in paid_by_reference["allocations"]] == ["structured_reference"]
    assert paid_by_reference["allocations"][0]["invoice_id"] == by_ogm["id"]
    ruled = txs["voor de levering"]
    assert [(a["invoice_id"], a["method"]) for a in ruled["allocations"]] == [(other["id"], "rule")]
    trial = client.get(f"/v1/companies/{VAT}/rules/{rule['id']}/trial", headers=key).json()
    details = {p["transaction_id"]: p["detail"] for p in trial["payments"]}
    assert details[paid_by_reference["id"]] == "a reference settled it: no rule outranks a reference match"


def test_never_auto_turns_an_automatic_match_by_weaker_evidence_into_a_suggestion(client, key):
    bank = Statements(client, key)
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("N-1", total="64.00"), headers=key)
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("N-2", total="58.00"), headers=key)
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("N-3", total="42.00"), headers=key)
    client.post(
        f"/v1/companies/{VAT}/rules",
        json={"name": "Factoring: a person decides", "counterparty_iban": PAYER, "action": "never_auto", "state": "on"},
        headers=key,
    ).raise_for_status()
    bank.book(transfer("64.00", "2026/N-1"))  # an invoice number: a reference, which still books
    bank.book(transfer("100.00", "betaling", name="KLANT NV"), day=TODAY - timedelta(days=2))
    txs = bank.transactions()
    assert txs["2026/N-1"]["status"] == "matched"
    # Without the rule the engine books this one (the payer's two open invoices add up to it, and the payer's
    # account is known from the first payment); with it, a person decides.
    assert (txs["betaling"]["status"], txs["betaling"]["allocations"]) == ("suggested", [])
    [proposed] = txs["betaling"]["suggestions"]
    assert sorted(a["amount"] for a in proposed["allocations"]) == ["42.00", "58.00"]


def test_two_equal_decisions_make_a_proposal_and_one_does_not(client, key):
    bank = Statements(client, key)
    first = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("P-1", total="10.00"), headers=key).json()
    second = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("P-2", total="20.00"), headers=key).json()
    payer = "BE43068999999501"
    bank.book(transfer("10.00", "eerste", iban=payer), transfer("20.00", "tweede", iban=payer))
    txs = bank.transactions()

    def allocate(tx: dict, invoice: dict, amount: str) -> None:
        path = f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations"
        client.post(path, json={"invoice_id": invoice["id"], "amount": amount}, headers=key).raise_for_status()

    allocate(txs["eerste"], first, "10.00")
    assert rules(client, key, state="proposed") == []  # one decision is not a habit
    allocate(txs["tweede"], second, "20.00")
    [proposal] = rules(client, key, state="proposed")
    assert (proposal["action"], proposal["counterparty_iban"], proposal["customer_name"]) == (
        "payer",
        payer,
        "Klant NV",
    )
    assert set(proposal["proposed_from"]) == {txs["tweede"]["id"]}

    # Two bank charges kept by hand with the same words: a keep proposal with the words they share.
    bank.book(
        fee("-2.00", "KOSTEN DOMICILIERING"), fee("-4.00", "KOSTEN OVERSCHRIJVING"), day=TODAY - timedelta(days=1)
    )
    charges = bank.transactions()
    for text in ("KOSTEN DOMICILIERING", "KOSTEN OVERSCHRIJVING"):
        path = f"/v1/companies/{VAT}/transactions/{charges[text]['id']}/write-offs"
        amount = charges[text]["amount"].lstrip("-")
        client.post(path, json={"amount": amount, "reason": "bank_fee"}, headers=key).raise_for_status()
    keep = [p for p in rules(client, key, state="proposed") if p["action"] == "keep"]
    assert [(p["words"], p["reason"]) for p in keep] == [(["kosten"], "bank_fee")]

    # Proposals never act by themselves; dismissed, one is not proposed again.
    assert all(r["state"] == "proposed" for r in rules(client, key))
    client.patch(
        f"/v1/companies/{VAT}/rules/{keep[0]['id']}", json={"state": "dismissed"}, headers=key
    ).raise_for_status()
    bank.book(fee("-2.00", "KOSTEN KAART"), day=TODAY)
    third = bank.transactions()["KOSTEN KAART"]
    path = f"/v1/companies/{VAT}/transactions/{third['id']}/write-offs"
    client.post(path, json={"amount": "2.00", "reason": "bank_fee"}, headers=key).raise_for_status()
    assert [p["action"] for p in rules(client, key, state="proposed")] == ["payer"]
    # Accepting a proposal switches it on: a person's decision.
    accepted = client.patch(f"/v1/companies/{VAT}/rules/{proposal['id']}", json={"state": "on"}, headers=key).json()
    assert accepted["state"] == "on"


def test_bad_rules_are_refused_by_name(client, key):
    post = lambda body: client.post(f"/v1/companies/{VAT}/rules", json=body, headers=key)  # noqa: E731
    assert post({"name": "x", "action": "keep"}).status_code == 422  # no condition but the action
    assert post({"name": "x", "words": ["a"], "action": "payer"}).status_code == 422  # whose invoices?
    assert post({"name": "x", "words": ["a"], "action": "keep", "counterparty_iban": "BE00"}).status_code == 422
    assert post({"name": "x", "words": ["a"], "action": "keep"}).status_code == 201
    assert post({"name": "x", "words": ["b"], "action": "keep"}).status_code == 409  # the name is taken
    assert client.get(f"/v1/companies/{VAT}/rules/rul_nope", headers=key).status_code == 404


def test_a_payer_rule_never_pays_one_invoice_twice_in_one_upload(client, key):
    bank = Statements(client, key)
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("D-1", total="75.00"), headers=key).json()
    client.post(
        f"/v1/companies/{VAT}/rules",
        json={
            "name": "Janssens",
            "counterparty_iban": PAYER,
            "action": "payer",
            "customer": {"name": "Klant NV", "vat": "BE0417497106"},
            "state": "on",
        },
        headers=key,
    ).raise_for_status()
    bank.book(transfer("75.00", "eerste"), transfer("75.00", "tweede"))
    txs = bank.transactions()
    assert [a["invoice_id"] for a in txs["eerste"]["allocations"]] == [invoice["id"]]
    assert txs["tweede"]["allocations"] == [] and txs["tweede"]["status"] != "matched"
    paid = client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()
    assert (paid["status"], paid["amount_paid"]) == ("paid", "75.00")


def test_a_trial_and_its_switching_on_pay_one_invoice_once(client, key):
    bank = Statements(client, key)
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("T-1", total="75.00"), headers=key).json()
    rule = client.post(
        f"/v1/companies/{VAT}/rules",
        json={
            "name": "Janssens",
            "counterparty_iban": PAYER,
            "action": "payer",
            "customer": {"name": "Klant NV", "vat": "BE0417497106"},
        },
        headers=key,
    ).json()
    bank.book(transfer("75.00", "eerste"), day=TODAY - timedelta(days=5))
    bank.book(transfer("75.00", "tweede"), day=TODAY - timedelta(days=4))
    trial = client.get(f"/v1/companies/{VAT}/rules/{rule['id']}/trial", headers=key).json()
    said = {p["communication"]: (p["would"], p["invoice_ids"]) for p in trial["payments"]}
    assert said == {"eerste": ("pay", [invoice["id"]]), "tweede": ("nothing", [])}
    switched = client.patch(f"/v1/companies/{VAT}/rules/{rule['id']}", json={"state": "on"}, headers=key).json()
    assert switched["applied"] == 1
    txs = bank.transactions()
    assert ([a["invoice_id"] for a in txs["eerste"]["allocations"]], txs["tweede"]["allocations"]) == (
        [invoice["id"]],
        [],
    )
    paid = client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()
    assert (paid["status"], paid["amount_paid"]) == ("paid", "75.00")
