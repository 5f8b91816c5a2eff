"""Payments that arrive before their invoices: matched when the invoices come, what was proposed before is
replaced (and says by whom), and batches larger than one database round trip's chunk lose nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def ogm(n: int) -> str:
    base = 100_000_000 + n
    check = base % 97 or 97
    digits = f"{base:010d}{check:02d}"
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


def test_a_late_invoice_takes_its_payment_and_the_earlier_suggestion_is_superseded_by_the_matcher(client, key):
    from app.core.db import unit_of_work
    from app.reconciliation.models import Suggestion

    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("GUESS", total="75.00"), headers=key)
    data = write_coda(
        [StatementSpec(IBAN, date(2026, 11, 20), Decimal(0), [MovementSpec(Decimal("75.00"), ogm=ogm(1)[3:-3])])]
    )
    client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key).raise_for_status()
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    [guess] = tx["suggestions"]  # same amount, another invoice: only a suggestion

    late = invoice_body("LATE", total="75.00", structured_reference=ogm(1))
    created = client.post(f"/v1/companies/{VAT}/invoices", json=late, headers=key).json()

    # The answer is the invoice as it is once its payment was matched, not as it was inserted.
    assert created["status"] == "paid"
    assert created == client.get(f"/v1/companies/{VAT}/invoices/{created['id']}", headers=key).json()
    after = client.get(f"/v1/companies/{VAT}/transactions/{tx['id']}", headers=key).json()
    assert (after["status"], after["suggestions"]) == ("matched", [])
    with unit_of_work(read_only=True) as session:
        old = session.get(Suggestion, guess["id"])
        assert (old.status, old.decided_by) == ("superseded", "matcher")
        assert old.decided_at is not None


def test_more_late_invoices_than_one_chunk_all_find_their_payments(client, key):
    count = 501  # one more than a chunk of ids per query
    movements = [MovementSpec(Decimal(f"{10 + n}.00"), ogm=ogm(n)[3:-3]) for n in range(count)]
    data = write_coda([StatementSpec(IBAN, date(2026, 11, 20), Decimal(0), movements)])
    assert client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key).json()["matching"]["matched"] == 0
    invoices = [invoice_body(f"B{n}", total=f"{10 + n}.00", structured_reference=ogm(n)) for n in range(count)]
    response = client.post(f"/v1/companies/{VAT}/invoices/batch", json={"invoices": invoices}, headers=key)
    assert response.status_code in (200, 201), response.text
    paid = client.get(f"/v1/companies/{VAT}/invoices", params={"status": "paid", "limit": 500}, headers=key).json()
    rest = client.get(
        f"/v1/companies/{VAT}/invoices",
        params={"status": "paid", "limit": 500, "cursor": paid["next_cursor"]},
        headers=key,
    ).json()
    assert len(paid["items"]) + len(rest["items"]) == count
    by_id = {item["id"]: item for item in paid["items"] + rest["items"]}
    answered = [result["invoice"] for result in response.json()["results"]]
    assert [invoice["status"] for invoice in answered] == ["paid"] * count
    assert all(invoice == by_id[invoice["id"]] for invoice in answered)


def _pay(client, key, *movements, sequence=1, vat=VAT, account=IBAN):
    data = write_coda([StatementSpec(account, date(2026, 11, 20), Decimal(0), list(movements), sequence=sequence)])
    client.post(f"/v1/companies/{vat}/statements", content=data, headers=key).raise_for_status()


def _status_of_new_invoice(client, key, external_id, reference):
    """Register an invoice of 75.00 with this reference; its status once the waiting payments were matched."""
    body = invoice_body(external_id, total="75.00", structured_reference=reference)
    created = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key).json()
    return client.get(f"/v1/companies/{VAT}/invoices/{created['id']}", headers=key).json()["status"]


def _suggestions(client, key):
    items = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    return {tx["id"]: [s["id"] for s in tx["suggestions"]] for tx in items}


def test_a_late_invoice_leaves_the_other_payments_and_their_proposals_alone(client, key):
    from app.core.db import unit_of_work
    from app.reconciliation.models import Suggestion

    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("GUESS", total="75.00"), headers=key)
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("OTHER", total="80.00"), headers=key)
    _pay(client, key, MovementSpec(Decimal("75.00"), ogm=ogm(1)[3:-3]), MovementSpec(Decimal("80.00")))
    before = _suggestions(client, key)
    assert all(len(ids) == 1 for ids in before.values())  # each payment: one proposal, of the same amount
    items = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    [waiting] = [tx["id"] for tx in items if tx["amount"] == "75.00"]
    [other] = [tx["id"] for tx in items if tx["amount"] == "80.00"]

    # A person rejects the proposal for the payment that names a reference nobody has yet.
    client.post(
        f"/v1/companies/{VAT}/transactions/{waiting}/suggestions/{before[waiting][0]}/reject", headers=key
    ).raise_for_status()
    # An invoice unrelated to any payment: nothing waiting is matched again.
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("UNRELATED", total="12.00"), headers=key)
    assert _suggestions(client, key) == {waiting: [], other: before[other]}
    # The invoice the reference belongs to: its payment is matched, the other payment keeps its proposal.
    assert _status_of_new_invoice(client, key, "LATE", ogm(1)) == "paid"
    assert _suggestions(client, key) == {waiting: [], other: before[other]}
    with unit_of_work(read_only=True) as session:
        rejected = session.get(Suggestion, before[waiting][0])
        kept = session.get(Suggestion, before[other][0])
        assert rejected.status == "rejected"  # the person's decision stands in the history
        assert (kept.status, kept.decided_by) == ("open", None)


def test_a_late_invoice_never_takes_another_companys_payment(client, key):
    from tests.helpers import make_company, make_key

    other_vat, other_account = "BE0202239951", "BE68539007547034"
    make_company(client, vat=other_vat, name="Ander BV", accounts=[other_account])
    other_key = make_key(client, vat=other_vat)
    # The other company received a payment naming a reference that this company's next invoice happens to use.
    _pay(client, other_key, MovementSpec(Decimal("75.00"), ogm=ogm(3)[3:-3]), vat=other_vat, account=other_account)
    assert _status_of_new_invoice(client, key, "MINE", ogm(3)) == "open"
    [theirs] = client.get(f"/v1/companies/{other_vat}/transactions", headers=other_key).json()["items"]
    assert (theirs["status"], theirs["allocations"]) == ("unmatched", [])


def test_a_payment_known_before_its_invoice_says_what_it_was_in_its_event(client, key):
    from sqlmodel import select

    from app.core.db import unit_of_work
    from app.core.outbox_models import Event

    _pay(client, key, MovementSpec(Decimal("120.00"), ogm=ogm(5)[3:-3]))
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    late = invoice_body("LATE", total="100.00", structured_reference=ogm(5))
    client.post(f"/v1/companies/{VAT}/invoices", json=late, headers=key).raise_for_status()
    with unit_of_work(read_only=True) as session:
        [event] = session.exec(
            select(Event).where(Event.type == "transaction.partially_matched", Event.subject_id == tx["id"])
        ).all()
    # 20.00 is left on it; it was unmatched (only a payment new to the ledger has no previous status)
    assert event.payload["change"] == {
        "status": "partially_matched",
        "previous_status": "unmatched",
        "unallocated_amount": "20.00",
    }
