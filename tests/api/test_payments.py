"""First matching rule end to end: a credit with an open invoice's OGM pays it; status follows allocations."""

from __future__ import annotations

import pytest

from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key

OGM = "+++090/9337/55493+++"


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def new_invoice(client, key, total="121.00", **kw):
    response = client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(total=total, structured_reference=OGM, **kw), headers=key
    )
    assert response.status_code == 201
    return response.json()


def get_invoice(client, key, invoice_id):
    return client.get(f"/v1/companies/{VAT}/invoices/{invoice_id}", headers=key).json()


def upload(client, key, data):
    response = client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_exact_payment_marks_invoice_paid(client, key):
    invoice = new_invoice(client, key)
    result = upload(client, key, payment_file(("121.00", OGM)))
    assert result["matching"] == {"matched": 1, "suggested": 0, "unmatched": 0}
    paid = get_invoice(client, key, invoice["id"])
    assert paid["status"] == "paid"
    assert paid["amount_paid"] == "121.00"
    assert paid["amount_due"] == "0.00"
    assert paid["paid_at"] == "2026-11-20"
    [allocation] = paid["allocations"]
    assert allocation["amount"] == "121.00"
    assert allocation["method"] == "structured_reference"
    assert allocation["reasons"][0]["code"] == "structured_reference"
    tx = client.get(f"/v1/companies/{VAT}/transactions", params={"status": "matched"}, headers=key).json()["items"]
    assert [t["allocations"][0]["invoice_id"] for t in tx] == [invoice["id"]]


def test_two_transfers_partial_then_paid(client, key):
    from datetime import date

    invoice = new_invoice(client, key)
    upload(client, key, payment_file(("100.00", OGM), day=date(2026, 11, 20)))
    partial = get_invoice(client, key, invoice["id"])
    assert (partial["status"], partial["amount_paid"], partial["amount_due"]) == ("partially_paid", "100.00", "21.00")
    assert partial["paid_at"] is None
    upload(client, key, payment_file(("21.00", OGM), sequence=2, day=date(2026, 11, 22), opening="100"))
    paid = get_invoice(client, key, invoice["id"])
    assert (paid["status"], paid["amount_due"], paid["paid_at"]) == ("paid", "0.00", "2026-11-22")
    assert len(paid["allocations"]) == 2


def test_overpayment_pays_the_invoice_and_leaves_the_excess_visible(client, key):
    invoice = new_invoice(client, key)
    upload(client, key, payment_file(("150.00", OGM)))
    paid = get_invoice(client, key, invoice["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", "121.00", "0.00")
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    assert (tx["status"], tx["allocated_amount"], tx["unallocated_amount"]) == ("partially_matched", "121.00", "29.00")
    queue = client.get(f"/v1/companies/{VAT}/transactions", params={"status": "partially_matched"}, headers=key)
    assert [t["id"] for t in queue.json()["items"]] == [tx["id"]]
    # Only a person, on purpose, makes an invoice overpaid.
    refused = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations",
        json={"invoice_id": invoice["id"], "amount": "29.00"},
        headers=key,
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    forced = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations",
        json={"invoice_id": invoice["id"], "amount": "29.00", "allow_overpayment": True},
        headers=key,
    )
    assert forced.status_code == 201, forced.text
    assert (forced.json()["status"], forced.json()["unallocated_amount"]) == ("matched", "0.00")
    over = get_invoice(client, key, invoice["id"])
    assert (over["status"], over["amount_paid"], over["amount_due"]) == ("overpaid", "150.00", "0.00")


def test_debits_and_unknown_references_stay_unmatched(client, key):
    invoice = new_invoice(client, key)
    result = upload(client, key, payment_file(("-121.00", OGM), ("50.00", "+++000/0000/00101+++"), ("9.00", None)))
    assert result["matching"]["matched"] == 0
    assert result["matching"]["unmatched"] == 3
    assert get_invoice(client, key, invoice["id"])["status"] == "open"


def test_cancelled_invoice_is_not_paid_and_paid_invoice_cannot_be_cancelled(client, key):
    cancelled = new_invoice(client, key)
    client.post(f"/v1/companies/{VAT}/invoices/{cancelled['id']}/cancel", headers=key)
    upload(client, key, payment_file(("121.00", OGM)))
    assert get_invoice(client, key, cancelled["id"])["status"] == "cancelled"

    other = client.post(
        f"/v1/companies/{VAT}/invoices",
        json=invoice_body("INV-2", structured_reference="+++000/0000/00101+++"),
        headers=key,
    ).json()
    upload(client, key, payment_file(("121.00", "+++000/0000/00101+++"), sequence=2))
    assert client.post(f"/v1/companies/{VAT}/invoices/{other['id']}/cancel", headers=key).status_code == 409


def test_manual_allocation_and_undo(client, key):
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=key).json()
    upload(client, key, payment_file(("121.00", None)))
    # Same amount, no reference: only a suggestion.
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", params={"status": "suggested"}, headers=key).json()["items"]
    assert get_invoice(client, key, invoice["id"])["status"] == "open"
    too_much = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations",
        json={"invoice_id": invoice["id"], "amount": "200.00"},
        headers=key,
    )
    assert too_much.status_code == 422
    response = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations",
        json={"invoice_id": invoice["id"], "amount": "121.00"},
        headers=key,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "matched"
    assert get_invoice(client, key, invoice["id"])["status"] == "paid"
    allocation_id = response.json()["allocations"][0]["id"]
    undo = client.delete(f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations/{allocation_id}", headers=key)
    assert undo.status_code == 204
    assert get_invoice(client, key, invoice["id"])["status"] == "open"
    # Undo restores the state before: the suggestion the allocation had closed is open again.
    after = client.get(f"/v1/companies/{VAT}/transactions/{tx['id']}", headers=key).json()
    assert after["status"] == "suggested"
    assert [s["id"] for s in after["suggestions"]] == [s["id"] for s in tx["suggestions"]]
    assert (after["allocated_amount"], after["unallocated_amount"]) == ("0.00", "121.00")


def test_events_record_status_changes(client, key):
    from sqlmodel import select

    from app.core.db import unit_of_work
    from app.core.outbox_models import Event

    invoice = new_invoice(client, key)
    upload(client, key, payment_file(("100.00", OGM), ("5.00", None)))
    with unit_of_work() as session:
        events = session.exec(select(Event).order_by(Event.created_at)).all()
    kinds = sorted(e.type for e in events)
    assert kinds == ["invoice.partially_paid", "transaction.unmatched"]
    partially = next(e for e in events if e.type == "invoice.partially_paid")
    assert partially.subject_id == invoice["id"]
    assert partially.payload["change"]["amount_paid"] == "100.00"
    assert partially.payload["data"]["id"] == invoice["id"]
    assert partially.payload["data"]["amount_due"] == "21.00"


def test_amount_only_is_a_suggestion_a_person_accepts(client, key):
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=key).json()
    result = upload(client, key, payment_file(("121.00", None)))
    assert result["matching"] == {"matched": 0, "suggested": 1, "unmatched": 0}
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", params={"status": "suggested"}, headers=key).json()["items"]
    [suggestion] = tx["suggestions"]
    assert suggestion["allocations"] == [
        {"invoice_id": invoice["id"], "amount": "121.00", "write_off": "0.00", "returns": None}
    ]
    # The payer pays from the customer's known account and the amount fits: likely, but no reference.
    assert {r["code"] for r in suggestion["reasons"]} == {"payer_iban", "amount"}
    from sqlmodel import select

    from app.core.db import unit_of_work
    from app.core.outbox_models import Event

    with unit_of_work() as session:
        [created] = session.exec(select(Event).where(Event.type == "suggestion.created")).all()
        assert session.exec(select(Event).where(Event.type == "transaction.unmatched")).all() == []
    assert (created.subject_id, created.payload["change"]["suggestion_id"]) == (tx["id"], suggestion["id"])
    assert [s["id"] for s in created.payload["data"]["suggestions"]] == [suggestion["id"]]
    assert get_invoice(client, key, invoice["id"])["status"] == "open"
    accepted = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/suggestions/{suggestion['id']}/accept", headers=key
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "matched"
    paid = get_invoice(client, key, invoice["id"])
    assert paid["status"] == "paid"
    assert paid["allocations"][0]["method"] == "suggestion"
    again = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/suggestions/{suggestion['id']}/accept", headers=key
    )
    assert again.status_code == 409


def test_two_invoices_with_the_same_amount_are_never_settled_automatically(client, key):
    first = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("A"), headers=key).json()
    second = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("B"), headers=key).json()
    result = upload(client, key, payment_file(("121.00", None)))
    assert result["matching"]["matched"] == 0
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", params={"status": "suggested"}, headers=key).json()["items"]
    proposed = {s["allocations"][0]["invoice_id"] for s in tx["suggestions"]}
    assert proposed == {first["id"], second["id"]}
    assert all(any(r["code"] == "ambiguous" for r in s["reasons"]) for s in tx["suggestions"])


def test_rejected_suggestion_leaves_the_payment_unmatched(client, key):
    client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=key)
    upload(client, key, payment_file(("121.00", None)))
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", params={"status": "suggested"}, headers=key).json()["items"]
    rejected = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/suggestions/{tx['suggestions'][0]['id']}/reject", headers=key
    )
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["suggestions"]) == ("unmatched", [])
