"""The client's own UBL is the invoice: validated by the official rules when the invoice is created, what the
JSON omits read from it, what the JSON gives checked against it, and its seller must be the company."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal

import pytest

from app.codabox.ubl import Address, Party, UblInvoice, build_ubl
from app.peppol.lines import Line
from tests.conftest import peppol_examples
from tests.helpers import VAT, make_company, make_key

OGM = "+++090/9337/55493+++"


@pytest.fixture
def key(client):
    make_company(client)
    return make_key(client)


def ubl(seller_vat: str = VAT, total: str = "100.00") -> bytes:
    return build_ubl(
        UblInvoice(
            number="2026/UBL-1",
            kind="invoice",
            issue_date=date(2026, 11, 2),
            due_date=date(2026, 12, 2),
            currency="EUR",
            seller=Party("Demo BV", vat=seller_vat, endpoint=f"0208:{seller_vat[2:]}", address=Address("BE")),
            buyer=Party("Klant NV", vat="BE0417497106", endpoint="0208:0417497106"),
            payment_reference="090/9337/55493",
            lines=(Line("Werk", Decimal(1), Decimal(total), "C62", "S", Decimal(21)),),
            seller_iban="BE68539007547034",
        )
    )


def body(document: bytes, **fields) -> dict:
    encoded = base64.b64encode(document).decode()
    return {
        "external_id": fields.pop("external_id", "U1"),
        "documents": [{"filename": "invoice.xml", "content_type": "application/xml", "content_base64": encoded}],
        **fields,
    }


def post(client, key, data):
    return client.post(f"/v1/companies/{VAT}/invoices", json=data, headers=key)


def test_the_documents_fields_fill_what_the_json_omits(client, key):
    created = post(client, key, body(ubl()))
    assert created.status_code == 201, created.text
    inv = created.json()
    assert (inv["number"], inv["issue_date"], inv["due_date"], inv["total_amount"]) == (
        "2026/UBL-1",
        "2026-11-02",
        "2026-12-02",
        "121.00",
    )
    assert inv["structured_reference"] == OGM  # the PaymentID, normalised
    assert (inv["customer"]["name"], inv["customer"]["vat"], inv["customer"]["peppol_id"]) == (
        "Klant NV",
        "BE0417497106",
        "0208:0417497106",
    )
    assert inv["vat_breakdown"] == [{"category": "S", "rate": "21", "taxable_amount": "100.00", "tax_amount": "21.00"}]
    assert [(x["description"], x["net_amount"]) for x in inv["lines"]] == [("Werk", "100.00")]


def test_what_the_json_gives_must_agree_with_the_document(client, key):
    assert post(client, key, body(ubl(), total_amount="121.00", number="2026/UBL-1")).status_code == 201
    wrong = post(client, key, body(ubl(), external_id="U2", total_amount="100.00"))
    assert wrong.status_code == 422
    assert "total_amount is 100.00 in the JSON, 121.00 in the document" in wrong.json()["detail"]


def test_a_document_that_fails_the_rules_is_refused_by_rule(client, key):
    broken = ubl().replace(b'<cbc:PayableAmount currencyID="EUR">121.00', b'<cbc:PayableAmount currencyID="EUR">120.00')
    refused = post(client, key, body(broken, total_amount="120.00"))
    assert refused.status_code == 422
    assert "BR-CO-16" in refused.json()["detail"]
    assert any(e["rule"] == "BR-CO-16" and e["location"] for e in refused.json()["errors"])


def test_the_seller_must_be_the_company(client, key):
    [example] = [p for p in peppol_examples() if p.name == "base-example.xml"]
    refused = post(client, key, body(example.read_bytes()))
    assert refused.status_code == 422
    assert [e["rule"] for e in refused.json()["errors"]] == ["SELLER"]
    other = post(client, key, body(ubl(seller_vat="BE0417497106"), external_id="U3"))
    assert other.status_code == 422 and "not this company" in other.json()["detail"]


def test_unreadable_xml_and_lines_beside_a_document_are_refused(client, key):
    unreadable = post(client, key, body(b"<Invoice"))
    assert unreadable.status_code == 422
    assert unreadable.json()["errors"][0]["rule"] == "XML"
    both = body(ubl(), lines=[{"description": "x", "quantity": "1", "unit_price": "1", "vat_rate": "21"}])
    assert post(client, key, both).status_code == 422
