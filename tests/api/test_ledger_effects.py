"""What the ledger's settle writes and announces, step by step: each invoice event's change, the day an invoice
was paid (the last payment or write-off that settled it), the amount still outstanding that matching looks up,
each payment's events as it is split and undone, and write-offs on money out and on payments under one euro."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from app.core.db import unit_of_work
from app.core.outbox_models import Event
from app.core.timeutil import utcnow
from app.invoices.models import Invoice
from app.statements.models import BankTransaction
from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key

BOOKED = "2026-11-20"  # the booking day of tests.coda_builders.payment_file


def setup(client) -> dict[str, str]:
    make_company(client, accounts=[IBAN])
    return make_key(client)


def invoice(client, key, external_id: str, total: str) -> dict:
    created = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(external_id, total=total), headers=key)
    assert created.status_code == 201, created.text
    return created.json()


def upload(client, key, *payments, sequence: int = 1) -> None:
    answer = client.post(
        f"/v1/companies/{VAT}/statements", content=payment_file(*payments, sequence=sequence), headers=key
    )
    assert answer.status_code == 201, answer.text


def get(client, key, invoice_id: str) -> dict:
    return client.get(f"/v1/companies/{VAT}/invoices/{invoice_id}", headers=key).json()


def events(subject_id: str) -> list[Event]:
    with unit_of_work() as session:
        return list(
            session.exec(select(Event).where(Event.subject_id == subject_id).order_by(Event.created_at, Event.id))
        )


def transaction(amount: str) -> str:
    with unit_of_work() as session:
        return session.exec(select(BankTransaction.id).where(BankTransaction.amount == Decimal(amount))).one()


def test_invoice_events_say_what_changed_and_paid_at_is_the_day_of_the_last_settling_step(client):
    key = setup(client)
    inv = invoice(client, key, "E1", "100.00")
    upload(client, key, ("60.00", inv["structured_reference"]))
    [partly] = [e for e in events(inv["id"]) if e.type == "invoice.partially_paid"]
    assert partly.id.startswith("evt_")
    assert partly.payload["change"] == {
        "status": "partially_paid",
        "previous_status": "open",
        "amount_paid": "60.00",
        "write_off_amount": "0.00",
        "amount_due": "40.00",
    }
    discount = client.post(
        f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs",
        json={"amount": "15.00", "reason": "discount"},
        headers=key,
    )
    assert discount.status_code == 201, discount.text
    with unit_of_work() as session:
        assert session.get(Invoice, inv["id"]).outstanding == Decimal("25.00")  # what matching looks amounts up by
    assert events(inv["id"])[-1].payload["change"] == {
        "status": "partially_paid",
        "previous_status": "partially_paid",
        "amount_paid": "60.00",
        "write_off_amount": "15.00",
        "amount_due": "25.00",
    }
    client.post(
        f"/v1/companies/{VAT}/invoices/{inv['id']}/write-offs",
        json={"amount": "25.00", "reason": "manual"},
        headers=key,
    ).raise_for_status()
    paid = get(client, key, inv["id"])
    assert (paid["status"], paid["write_off_amount"], paid["amount_due"]) == ("paid", "40.00", "0.00")
    assert paid["paid_at"] == utcnow().date().isoformat()  # the last write-off, made today, settled it
    assert events(inv["id"])[-1].type == "invoice.paid"


def test_paid_at_of_a_payment_with_its_tolerated_difference_is_the_booking_day(client):
    key = setup(client)
    client.patch(f"/v1/companies/{VAT}", json={"payment_tolerance": {"amount": "1.00"}}, headers=key).raise_for_status()
    short = invoice(client, key, "T1", "30.00")
    over = invoice(client, key, "O1", "50.00")
    small = invoice(client, key, "S1", "10.00")
    upload(
        client,
        key,
        ("29.50", short["structured_reference"]),
        ("70.00", None),
        ("0.50", small["structured_reference"]),
    )
    settled = get(client, key, short["id"])
    assert (settled["status"], settled["write_off_amount"], settled["paid_at"]) == ("paid", "0.50", BOOKED)
    client.post(
        f"/v1/companies/{VAT}/transactions/{transaction('70.00')}/allocations",
        json={"invoice_id": over["id"], "amount": "70.00", "allow_overpayment": True},
        headers=key,
    ).raise_for_status()
    overpaid = get(client, key, over["id"])
    assert (overpaid["status"], overpaid["paid_at"]) == ("overpaid", BOOKED)
    partly = get(client, key, small["id"])  # fifty cents is a payment too
    assert (partly["status"], partly["amount_paid"], partly["paid_at"]) == ("partially_paid", "0.50", None)
    assert [e.type for e in events(transaction("0.50"))] == []  # allocated whole: the invoice's event tells


def test_a_cancelled_invoice_has_nothing_due(client):
    key = setup(client)
    inv = invoice(client, key, "C1", "80.00")
    client.post(f"/v1/companies/{VAT}/invoices/{inv['id']}/cancel", headers=key).raise_for_status()
    assert get(client, key, inv["id"])["amount_due"] == "0.00"


def test_a_payment_split_by_hand_is_announced_at_each_step_and_its_undo_too(client):
    key = setup(client)
    first = invoice(client, key, "P1", "30.00")
    second = invoice(client, key, "P2", "20.00")
    upload(client, key, ("100.00", None))
    tx = transaction("100.00")
    base = f"/v1/companies/{VAT}/transactions/{tx}"
    for inv, amount in ((first, "30.00"), (second, "20.00")):
        client.post(
            f"{base}/allocations", json={"invoice_id": inv["id"], "amount": amount}, headers=key
        ).raise_for_status()
    kept = client.post(f"{base}/write-offs", json={"amount": "50.00", "reason": "manual"}, headers=key).json()
    client.delete(f"{base}/write-offs/{kept['write_offs'][-1]['id']}", headers=key).raise_for_status()
    # Undoing an allocation settles in two steps (dues first, then what it reopens): one event, the net change.
    client.delete(f"{base}/allocations/{kept['allocations'][-1]['id']}", headers=key).raise_for_status()
    told = [(e.type, e.payload["change"]) for e in events(tx) if e.type.startswith("transaction.")]
    assert told == [
        ("transaction.unmatched", {"status": "unmatched", "previous_status": None, "unallocated_amount": "100.00"}),
        (
            "transaction.partially_matched",
            {"status": "partially_matched", "previous_status": "unmatched", "unallocated_amount": "70.00"},
        ),
        (
            "transaction.partially_matched",
            {"status": "partially_matched", "previous_status": "partially_matched", "unallocated_amount": "50.00"},
        ),
        (
            "transaction.partially_matched",
            {"status": "partially_matched", "previous_status": "matched", "unallocated_amount": "50.00"},
        ),
        (
            "transaction.partially_matched",
            {"status": "partially_matched", "previous_status": "partially_matched", "unallocated_amount": "70.00"},
        ),
    ]


def test_money_out_and_a_payment_under_one_euro_are_kept_whole(client):
    key = setup(client)
    upload(client, key, ("-7.50", None), ("0.80", None))
    # Money in is announced, under one euro too; money out is not (nothing to match it to).
    assert [e.type for e in events(transaction("0.80"))] == ["transaction.unmatched"]
    assert events(transaction("-7.50")) == []
    for amount, written in (("-7.50", "-7.50"), ("0.80", "0.80")):
        tx = transaction(amount)
        kept = client.post(
            f"/v1/companies/{VAT}/transactions/{tx}/write-offs",
            json={"amount": amount.lstrip("-"), "reason": "bank_fee"},
            headers=key,
        )
        assert kept.status_code == 201, kept.text
        shown = kept.json()
        assert (shown["status"], shown["written_off_amount"], shown["unallocated_amount"]) == (
            "matched",
            written,
            "0.00",
        )
