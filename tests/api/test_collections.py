"""SEPA collections the company issued pay the invoice they name (issue 40): by the end-to-end id the company
put in the collection, by the mandate and the amount, or by the customer the mandate's earlier collections
taught; from CODA (type 127) and camt.053 alike."""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLES_DIR
from tests.direct_debits import debit, read, register
from tests.helpers import VAT, invoice_body, make_company, make_key


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


def test_a_kbc_file_of_two_b2b_collections_pays_the_invoices_under_their_mandates(client):
    """A real KBC CODA file (coda-samples, php-coda-parser sample10): a batch whose two details are paid B2B
    collections (type 127) of 250.00 and 750.00 under mandates SEPA-000000001 and SEPA-00000002."""
    path = SAMPLES_DIR / "php-coda-parser__sample10_kbc_type1_total_type5_sepa_dd_details.cod"
    if not path.is_file():
        pytest.skip(f"{path} is not there (../shared beside the repository)")
    data = path.read_bytes()
    make_company(client)  # its account (a test BBAN) is attached by the statement
    key = make_key(client)
    invoices = [
        client.post(
            f"/v1/companies/{VAT}/invoices",
            json=invoice_body(f"SUB-{n}", total=total, customer={"name": name}, mandate_reference=mandate),
            headers=key,
        ).json()
        for n, (total, name, mandate) in enumerate(
            [("750.00", "Klant2 met naam2", "SEPA-00000002"), ("250.00", "Klant1 met naam1", "SEPA-000000001")]
        )
    ]
    assert client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key).status_code == 201
    for invoice in invoices:
        paid = client.get(f"/v1/companies/{VAT}/invoices/{invoice['id']}", headers=key).json()
        assert (paid["status"], paid["allocations"][0]["method"]) == ("paid", "collection")
