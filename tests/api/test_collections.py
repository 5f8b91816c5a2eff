"""SEPA collections the company issued pay the invoice they name (issue 40): by the end-to-end id the company
put in the collection, by the mandate and the amount, or by the customer the mandate's earlier collections
taught; from CODA (type 127) and camt.053 alike."""

from __future__ import annotations

from tests.direct_debits import debit, read, register


def _allocation(bank, amount: str, day: str) -> dict:
    [allocation] = bank.transactions()[(amount, day)]["allocations"]
    return allocation


def test_the_end_to_end_id_of_the_collection_names_its_invoice(bank):
    """No OGM in the collection: the end-to-end id the company gave it is the invoice's collection_reference."""
    register(bank, "DD-1", "121.00", reference=None)
    invoice = register(bank, "DD-2", "121.00", reference=None, collection_reference="COLL-2026-0002")
    assert invoice["collection_reference"] == "COLL-2026-0002"
    bank.book(debit("121.00", end_to_end="COLL-2026-0002", communication="abonnement november"))
    assert read(bank, invoice)["status"] == "paid"
    allocation = _allocation(bank, "121.00", "2026-11-04")
    assert (allocation["invoice_id"], allocation["method"]) == (invoice["id"], "collection")
    assert allocation["reasons"][0]["code"] == "collection_reference"


def test_the_mandate_and_the_amount_name_the_invoice(bank):
    small = register(bank, "DD-1", "50.00", reference=None, mandate_reference="MANDAAT-0042")
    large = register(bank, "DD-2", "70.00", reference=None, mandate_reference="MANDAAT-0042")
    bank.book(debit("70.00", communication="abonnement"))
    assert (read(bank, small)["status"], read(bank, large)["status"]) == ("open", "paid")
    assert _allocation(bank, "70.00", "2026-11-04")["reasons"][0]["code"] == "mandate"


def test_two_invoices_of_the_same_amount_under_one_mandate_are_left_to_the_evidence(bank):
    """The mandate alone cannot tell two equal invoices apart: nothing is paid on a guess."""
    one = register(bank, "DD-1", "70.00", reference=None, mandate_reference="MANDAAT-0042")
    two = register(bank, "DD-2", "70.00", reference=None, mandate_reference="MANDAAT-0042")
    bank.book(debit("70.00", communication="abonnement"))
    assert {read(bank, one)["status"], read(bank, two)["status"]} == {"open"}


def test_the_mandate_learns_its_customer_from_an_earlier_collection(bank):
    """The first collection pays by its OGM; the next one under the same mandate, with no reference and an
    invoice that names no mandate, pays that customer's invoice of that amount."""
    first = register(bank, "DD-1", "121.00")  # the OGM the collection carries
    bank.book(debit("121.00", day=4))
    assert read(bank, first)["status"] == "paid"
    second = register(bank, "DD-2", "99.00", reference=None)
    register(bank, "OTHER-1", "99.00", reference=None, customer={"name": "Someone Else NV"})
    bank.book(debit("99.00", communication="abonnement december", day=30))
    assert read(bank, second)["status"] == "paid"
    assert _allocation(bank, "99.00", "2026-11-30")["reasons"][0]["code"] == "mandate"


def test_a_collection_booked_before_its_invoice_pays_it_once_the_invoice_arrives(bank):
    bank.book(debit("80.00", end_to_end="COLL-9", communication="abonnement"))
    assert bank.transactions()[("80.00", "2026-11-04")]["status"] == "unmatched"
    invoice = register(bank, "DD-9", "80.00", reference=None, collection_reference="COLL-9")
    assert invoice["status"] == "paid"
