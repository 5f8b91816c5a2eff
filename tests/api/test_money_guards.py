"""What keeps the paid status right: remainders stay visible, allocations are guarded, write-offs and
tolerance settle only what they should, undo restores the state before, and events carry their moment."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from tests.coda_builders import payment_file
from tests.helpers import ADMIN, IBAN, OTHER_VAT, VAT, invoice_body, make_company, make_key

OGM_A = "+++090/9337/55493+++"
OGM_B = "+++000/0000/00101+++"


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def create(client, key, ext, total, ref=None, **kw):
    body = invoice_body(ext, total=total, **kw)
    if ref:
        body["structured_reference"] = ref
    response = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)
    assert response.status_code == 201, response.text
    return response.json()


def upload(client, key, *payments, sequence=1):
    response = client.post(
        f"/v1/companies/{VAT}/statements", content=payment_file(*payments, sequence=sequence), headers=key
    )
    assert response.status_code == 201, response.text
    return response.json()


def only_transaction(client, key):
    [tx] = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    return tx


def invoice(client, key, inv):
    return client.get(f"/v1/companies/{VAT}/invoices/{inv['id']}", headers=key).json()


def allocate(client, key, tx, inv, amount, **extra):
    return client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations",
        json={"invoice_id": inv["id"], "amount": amount, **extra},
        headers=key,
    )


def events(kind=None):
    from app.core.db import unit_of_work
    from app.core.outbox_models import Event

    with unit_of_work(read_only=True) as session:
        rows = session.exec(select(Event).order_by(Event.created_at, Event.id)).all()
        return [e for e in rows if kind is None or e.type == kind]


def test_a_remainder_stays_visible_and_one_payment_is_split_over_several_invoices(client, key):
    a = create(client, key, "A", "20.00")
    b = create(client, key, "B", "15.00")
    upload(client, key, ("42.00", None))
    tx = only_transaction(client, key)
    first = allocate(client, key, tx, a, "20.00")
    assert first.status_code == 201, first.text
    body = first.json()
    # 20.00 of 42.00 allocated: not "matched", and still in the review queue with what is left.
    assert (body["status"], body["allocated_amount"], body["unallocated_amount"]) == (
        "partially_matched",
        "20.00",
        "22.00",
    )
    queue = client.get(f"/v1/companies/{VAT}/transactions", params={"status": "partially_matched"}, headers=key)
    assert [t["id"] for t in queue.json()["items"]] == [tx["id"]]
    summary = client.get(f"/v1/companies/{VAT}/summary", headers=key).json()["matching"]
    assert (summary["match_rate"], summary["unallocated_amount"], summary["review_queue"]) == (
        round(20 / 42, 4),
        "22.00",
        1,
    )
    second = allocate(client, key, tx, b, "15.00").json()
    assert (second["status"], second["unallocated_amount"]) == ("partially_matched", "7.00")
    assert [invoice(client, key, i)["status"] for i in (a, b)] == ["paid", "paid"]
    # The last 7.00 is money nobody invoiced: kept with a reason, the transaction is then accounted for.
    kept = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/write-offs",
        json={"amount": "7.00", "reason": "manual", "note": "customer's advance"},
        headers=key,
    )
    assert kept.status_code == 201, kept.text
    assert (kept.json()["status"], kept.json()["written_off_amount"], kept.json()["unallocated_amount"]) == (
        "matched",
        "7.00",
        "0.00",
    )
    [write_off] = kept.json()["write_offs"]
    undone = client.delete(f"/v1/companies/{VAT}/transactions/{tx['id']}/write-offs/{write_off['id']}", headers=key)
    assert undone.status_code == 204
    assert only_transaction(client, key)["unallocated_amount"] == "7.00"


def test_two_allocations_can_never_take_more_than_the_transfer(client, key):
    a = create(client, key, "A", "30.00")
    b = create(client, key, "B", "30.00")
    upload(client, key, ("50.00", None))
    tx = only_transaction(client, key)
    assert allocate(client, key, tx, a, "30.00").status_code == 201
    second = allocate(client, key, tx, b, "30.00")
    assert second.status_code == 422
    assert second.json()["errors"] == [
        {"loc": "body.amount", "message": "at most 20.00 of this transaction is unallocated"}
    ]
    assert invoice(client, key, b)["amount_paid"] == "0.00"
    assert allocate(client, key, tx, b, "20.00").status_code == 201
    assert allocate(client, key, tx, b, "0.01").status_code == 422


def test_more_than_the_invoice_has_due_needs_allow_overpayment(client, key):
    small = create(client, key, "S", "10.00")
    upload(client, key, ("30.00", None))
    tx = only_transaction(client, key)
    refused = allocate(client, key, tx, small, "30.00")
    assert refused.status_code == 422
    assert "allow_overpayment" in refused.json()["detail"]
    assert invoice(client, key, small)["status"] == "open"
    forced = allocate(client, key, tx, small, "30.00", allow_overpayment=True)
    assert forced.status_code == 201
    assert invoice(client, key, small)["status"] == "overpaid"
    assert [e.payload["change"]["status"] for e in events("invoice.overpaid")] == ["overpaid"]


def test_another_companys_invoice_is_never_paid(client, key):
    make_company(client, vat=OTHER_VAT, name="Other")
    other = client.post(
        f"/v1/companies/{OTHER_VAT}/invoices", json=invoice_body("X", total="10.00"), headers=ADMIN
    ).json()
    upload(client, key, ("10.00", None))
    tx = only_transaction(client, key)
    response = allocate(client, key, tx, other, "10.00")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "body.invoice_id"
    assert (
        client.get(f"/v1/companies/{OTHER_VAT}/invoices/{other['id']}", headers=ADMIN).json()["amount_paid"] == "0.00"
    )


def test_a_cancelled_invoice_is_never_paid(client, key):
    inv = create(client, key, "C", "121.00", ref=OGM_A)
    assert client.post(f"/v1/companies/{VAT}/invoices/{inv['id']}/cancel", headers=key).status_code == 200
    result = upload(client, key, ("121.00", OGM_A))
    assert result["matching"]["matched"] == 0
    after = invoice(client, key, inv)
    assert (after["status"], after["amount_paid"], after["allocations"]) == ("cancelled", "0.00", [])
    tx = only_transaction(client, key)
    assert all(a["invoice_id"] != inv["id"] for s in tx["suggestions"] for a in s["allocations"])
    assert allocate(client, key, tx, inv, "121.00").status_code == 409


def test_cancelling_withdraws_the_suggestions_that_would_pay_it(client, key):
    inv = create(client, key, "C", "121.00")
    upload(client, key, ("121.00", None))
    tx = only_transaction(client, key)
    [suggestion] = tx["suggestions"]
    client.post(f"/v1/companies/{VAT}/invoices/{inv['id']}/cancel", headers=key)
    after = only_transaction(client, key)
    assert (after["status"], after["suggestions"]) == ("unmatched", [])
    accept = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/suggestions/{suggestion['id']}/accept", headers=key
    )
    assert accept.status_code == 409


def test_tolerance_on_a_manual_allocation_and_undo_restores_status_and_events(client, key):
    assert (
        client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "1.00"}}, headers=key).status_code
        == 200
    )
    inv = create(client, key, "T", "100.00")
    upload(client, key, ("99.20", None))
    tx = only_transaction(client, key)
    before_events = len(events())
    response = allocate(client, key, tx, inv, "99.20")
    assert response.status_code == 201
    paid = invoice(client, key, inv)
    assert (paid["status"], paid["amount_paid"], paid["write_off_amount"], paid["amount_due"]) == (
        "paid",
        "99.20",
        "0.80",
        "0.00",
    )
    [write_off] = paid["write_offs"]
    assert (write_off["reason"], write_off["transaction_id"]) == ("payment_difference", tx["id"])
    [paid_event] = events("invoice.paid")
    assert paid_event.payload["data"]["write_off_amount"] == "0.80"
    undo = client.delete(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations/{paid['allocations'][0]['id']}", headers=key
    )
    assert undo.status_code == 204
    back = invoice(client, key, inv)
    assert (back["status"], back["amount_paid"], back["write_off_amount"], back["write_offs"]) == (
        "open",
        "0.00",
        "0.00",
        [],
    )
    assert only_transaction(client, key)["status"] == "suggested"  # its suggestion is open again
    # Two changes, two events: paid, then reopened, each with the invoice as it was then.
    new = [e for e in events() if e.type.startswith("invoice.")][-2:]
    assert [e.type for e in new] == ["invoice.paid", "invoice.reopened"]
    assert [e.payload["data"]["status"] for e in new] == ["paid", "open"]
    assert len(events()) > before_events


def test_tolerance_percent_and_amount_both_hold(client, key):
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "5.00", "percent": "2"}}, headers=key)
    inv = create(client, key, "P", "100.00", ref=OGM_A)
    upload(client, key, ("97.00", OGM_A))  # 3.00 short: within 5.00, but more than 2 % of 100.00
    short = invoice(client, key, inv)
    assert (short["status"], short["amount_due"], short["write_offs"]) == ("partially_paid", "3.00", [])
    other = create(client, key, "Q", "100.00", ref=OGM_B)
    upload(client, key, ("98.50", OGM_B), sequence=2)  # 1.50 short: within both
    assert (invoice(client, key, other)["status"], invoice(client, key, other)["write_off_amount"]) == ("paid", "1.50")


def test_a_write_off_on_an_invoice_settles_it_and_can_be_undone(client, key):
    inv = create(client, key, "W", "50.00")
    response = client.post(
        f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs",
        json={"amount": "5.00", "reason": "discount"},
        headers=key,
    )
    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["amount_due"]) == ("partially_paid", "45.00")
    too_much = client.post(
        f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs",
        json={"amount": "45.01", "reason": "discount"},
        headers=key,
    )
    assert too_much.status_code == 422
    bad_reason = client.post(
        f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs", json={"amount": "1.00", "reason": "gift"}, headers=key
    )
    assert bad_reason.status_code == 422
    [write_off] = response.json()["write_offs"]
    assert (
        client.delete(f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs/{write_off['id']}", headers=key).status_code
        == 204
    )
    assert invoice(client, key, inv)["status"] == "open"
    assert [e.type for e in events() if e.type.startswith("invoice.")] == ["invoice.partially_paid", "invoice.reopened"]


def test_several_references_are_split_by_what_each_has_due(client, key):
    a = create(client, key, "A", "100.00", ref=OGM_A)
    b = create(client, key, "B", "50.00", ref=OGM_B)
    from decimal import Decimal

    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

    data = write_coda(
        [
            StatementSpec(
                IBAN,
                date(2026, 11, 20),
                Decimal(0),
                [MovementSpec(Decimal("150.00"), communication="facturen 090/9337/55493 + 000/0000/00101")],
            )
        ]
    )
    assert client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key).json()["matching"]["matched"] == 1
    assert [(invoice(client, key, i)["status"], invoice(client, key, i)["amount_paid"]) for i in (a, b)] == [
        ("paid", "100.00"),
        ("paid", "50.00"),
    ]


def test_a_stale_suggestion_cannot_be_accepted(client, key):
    inv = create(client, key, "S", "121.00")
    upload(client, key, ("121.00", None))
    tx = only_transaction(client, key)
    [suggestion] = tx["suggestions"]
    client.post(f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs", json={"amount": "21.00"}, headers=key)
    accept = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/suggestions/{suggestion['id']}/accept", headers=key
    )
    assert accept.status_code == 409
    assert "out of date" in accept.json()["detail"]


def test_a_suggestion_the_transaction_no_longer_has_the_money_for_is_out_of_date(client, key):
    """Part of the payment written off after the suggestion was made: accepting it is a conflict with what the
    transaction holds now (409, as when the invoice changed), not an invalid request (found by the ledger's
    state machine)."""
    inv = create(client, key, "T", "121.00")
    upload(client, key, ("121.00", None))
    tx = only_transaction(client, key)
    [suggestion] = tx["suggestions"]
    fee = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/write-offs",
        json={"amount": "1.00", "reason": "bank_fee"},
        headers=key,
    )
    assert fee.status_code == 201
    accept = client.post(
        f"/v1/companies/{VAT}/transactions/{tx['id']}/suggestions/{suggestion['id']}/accept", headers=key
    )
    assert accept.status_code == 409
    assert accept.json()["detail"] == "the transaction has 120.00 unallocated now; the suggestion is out of date"
    assert invoice(client, key, inv)["amount_paid"] == "0.00"


def test_a_rejected_suggestion_can_be_reopened(client, key):
    create(client, key, "R", "121.00")
    upload(client, key, ("121.00", None))
    tx = only_transaction(client, key)
    [suggestion] = tx["suggestions"]
    path = f"/v1/companies/{VAT}/transactions/{tx['id']}/suggestions/{suggestion['id']}"
    assert client.post(f"{path}/reject", headers=key).json()["status"] == "unmatched"
    reopened = client.post(f"{path}/reopen", headers=key)
    assert reopened.status_code == 200
    assert (reopened.json()["status"], [s["id"] for s in reopened.json()["suggestions"]]) == (
        "suggested",
        [suggestion["id"]],
    )
    assert client.post(f"{path}/reopen", headers=key).status_code == 409


@pytest.mark.parametrize(
    ("vat", "ok"),
    [
        ("BE0123", False),
        ("BE0417497107", False),  # mod 97 fails
        ("NL12345", False),
        ("US123456789", False),
        ("BE0417.497.106", True),
        ("NL004495445B01", True),
        ("FR40303265045", True),
        ("DE136695976", True),
    ],
)
def test_customer_vat_numbers_are_checked_by_country(client, key, vat, ok):
    body = invoice_body("V", customer={"name": "Klant", "vat": vat})
    response = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)
    if ok:
        assert response.status_code == 201, response.text
    else:
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == "body.customer.vat"


def test_payment_tolerance_is_validated_and_shown(client, key):
    for bad in ({"amount": "-1"}, {"percent": "101"}, {}, {"amount": "1.001"}):
        assert client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": bad}, headers=key).status_code == 422
    response = client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"percent": "0.5"}}, headers=key)
    assert response.json()["payment_tolerance"] == {"amount": None, "percent": "0.5"}
    cleared = client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": None}, headers=key)
    assert cleared.json()["payment_tolerance"] is None
    read = make_key(client, scope="read")
    assert client.patch(f"/v1/companies/{VAT}", json={"name": "X"}, headers=read).status_code == 403


def test_an_event_carries_the_invoice_as_it_was_when_it_happened(client, key):
    inv = create(client, key, "E", "100.00", ref=OGM_A)
    upload(client, key, ("100.00", OGM_A))
    tx = only_transaction(client, key)
    client.delete(f"/v1/companies/{VAT}/transactions/{tx['id']}/allocations/{tx['allocations'][0]['id']}", headers=key)
    from app.core.db import unit_of_work
    from app.core.outbox_models import Event
    from app.webhooks.dispatch import message_body

    with unit_of_work(read_only=True) as session:
        paid_event = session.exec(select(Event).where(Event.type == "invoice.paid")).one()
        import json

        body = json.loads(message_body(session, paid_event))
    # Delivered after the undo, the paid event still shows the invoice paid, with its allocation.
    assert invoice(client, key, inv)["status"] == "open"
    assert (body["data"]["status"], body["data"]["amount_paid"], len(body["data"]["allocations"])) == (
        "paid",
        "100.00",
        1,
    )
    assert body["change"]["previous_status"] == "open"
