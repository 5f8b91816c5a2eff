"""Invoices with EN 16931 lines: totals and VAT computed per category and rate, each rounded to the cent (half
up), a given total checked against them, the VAT categories' own rules, and the buyer's Peppol id."""

from __future__ import annotations

import pytest

from tests.helpers import VAT, invoice_body, make_company, make_key


@pytest.fixture
def key(client):
    make_company(client)
    return make_key(client)


def post(client, key, body):
    return client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)


def line(description="Werk", quantity="1", unit_price="100.00", **extra):
    return {"description": description, "quantity": quantity, "unit_price": unit_price, **extra}


def with_lines(*lines, total_amount=None, **overrides):
    body = invoice_body(**overrides)
    body.pop("total_amount")
    if total_amount is not None:
        body["total_amount"] = total_amount
    body["lines"] = list(lines)
    return body


def test_totals_and_vat_follow_from_the_lines(client, key):
    body = with_lines(
        line("Consultancy", "7.5", "80.00", unit_code="HUR", vat_rate="21"),
        line("Licence", "1", "199.99", vat_rate="21"),
        line("Boek", "3", "0.335", vat_rate="6"),  # 1.005: half up to 1.01
    )
    created = post(client, key, body)
    assert created.status_code == 201, created.text
    inv = created.json()
    assert [x["net_amount"] for x in inv["lines"]] == ["600.00", "199.99", "1.01"]
    assert inv["vat_breakdown"] == [
        {"category": "S", "rate": "21", "taxable_amount": "799.99", "tax_amount": "168.00"},  # 167.9979
        {"category": "S", "rate": "6", "taxable_amount": "1.01", "tax_amount": "0.06"},  # 0.0606
    ]
    assert (inv["tax_exclusive_amount"], inv["tax_amount"], inv["total_amount"]) == ("801.00", "168.06", "969.06")
    assert (inv["amount_due"], inv["lines"][0]["unit_code"], inv["lines"][0]["vat_category"]) == ("969.06", "HUR", "S")


def test_vat_is_rounded_half_up_on_the_summed_net_not_per_line(client, key):
    # Two lines of 0.25 at 21 %: per line 0.0525 -> 0.05 each (0.10); on the sum 0.105 -> 0.11 (half up).
    inv = post(client, key, with_lines(line("a", "1", "0.25", vat_rate="21"), line("b", "1", "0.25", vat_rate="21")))
    assert inv.json()["vat_breakdown"][0]["tax_amount"] == "0.11"
    assert inv.json()["total_amount"] == "0.61"


def test_a_given_total_must_equal_the_lines(client, key):
    body = with_lines(line(vat_rate="21"), total_amount="121.00")
    assert post(client, key, body).status_code == 201
    wrong = post(client, key, with_lines(line(vat_rate="21"), external_id="W", total_amount="100.00"))
    assert wrong.status_code == 422
    assert "total_amount 100.00 does not equal the lines' total 121.00" in wrong.json()["detail"]


@pytest.mark.parametrize(
    ("bad_line", "says"),
    [
        (line(), "needs its vat_rate"),
        (line(vat_category="Z", vat_rate="21"), "vat_rate must be 0 or omitted"),
        (line(vat_category="E", vat_rate="0"), "needs its vat_exemption_reason"),
        (line(quantity="0", vat_rate="21"), "quantity must not be zero"),
        (line(unit_price="1.00001", vat_rate="21"), "at most 4 decimals"),
        (line(vat_category="X", vat_rate="21"), "vat_category"),
    ],
)
def test_each_category_keeps_its_rules(client, key, bad_line, says):
    refused = post(client, key, with_lines(bad_line))
    assert refused.status_code == 422
    assert says in refused.text


def test_zero_rated_categories_carry_rate_zero_and_their_reason(client, key):
    body = with_lines(
        line("Levering EU", "1", "500.00", vat_category="AE"),
        line("Vrijgesteld", "1", "100.00", vat_category="E", vat_exemption_reason="Artikel 44 WBTW"),
        customer={"name": "Kunde GmbH", "vat": "DE136695976"},
    )
    inv = post(client, key, body).json()
    assert [(b["category"], b["rate"], b["tax_amount"]) for b in inv["vat_breakdown"]] == [
        ("AE", "0", "0.00"),
        ("E", "0", "0.00"),
    ]
    assert inv["total_amount"] == "600.00"
    assert inv["lines"][1]["vat_exemption_reason"] == "Artikel 44 WBTW"


def test_an_invoice_needs_lines_or_a_total(client, key):
    body = invoice_body()
    body.pop("total_amount")
    refused = post(client, key, body)
    assert refused.status_code == 422
    assert "total_amount is required for an invoice without lines" in refused.text


def test_the_buyers_peppol_id_comes_from_a_belgian_vat_or_is_given(client, key):
    derived = post(client, key, invoice_body("A")).json()["customer"]
    assert derived["peppol_id"] == "0208:0417497106"
    given = post(
        client,
        key,
        invoice_body(
            "B",
            customer={
                "name": "Klant NV",
                "peppol_id": "9925:BE0417497106",
                "address": {"street": "Kerkstraat 1", "city": "Gent", "postal_code": "9000", "country": "be"},
            },
            buyer_reference="PO-778",
        ),
    ).json()
    assert given["customer"]["peppol_id"] == "9925:BE0417497106"
    assert given["customer"]["address"] == {
        "street": "Kerkstraat 1",
        "city": "Gent",
        "postal_code": "9000",
        "country": "BE",
    }
    assert given["buyer_reference"] == "PO-778"
    assert post(client, key, invoice_body("C", customer={"name": "X", "peppol_id": "BE0417"})).status_code == 422


def test_a_credit_note_names_the_invoice_it_corrects(client, key):
    note = post(
        client,
        key,
        with_lines(line(vat_rate="21"), kind="credit_note", billing_reference="2026/INV-1", external_id="CN"),
    )
    assert note.status_code == 201, note.text
    assert (note.json()["kind"], note.json()["billing_reference"], note.json()["total_amount"]) == (
        "credit_note",
        "2026/INV-1",
        "121.00",
    )


def test_the_company_carries_its_address_and_email_and_patch_changes_them(client, key):
    from tests.helpers import ADMIN

    address = {"street": "Markt 1", "city": "Brugge", "postal_code": "8000", "country": "BE"}
    patched = client.patch(
        f"/v1/companies/{VAT}", json={"address": address, "email": "boekhouding@demo.be"}, headers=ADMIN
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["address"], patched.json()["email"]) == (address, "boekhouding@demo.be")
    renamed = client.patch(f"/v1/companies/{VAT}", json={"name": "Demo NV"}, headers=ADMIN).json()
    assert (renamed["name"], renamed["address"]) == ("Demo NV", address)  # what was not sent stays
    bad = client.patch(f"/v1/companies/{VAT}", json={"email": "nope"}, headers=ADMIN)
    assert bad.status_code == 422


def test_categories_that_need_more_than_a_line_say_so(client, key):
    mixed = post(client, key, with_lines(line(vat_category="O"), line(vat_rate="21")))
    assert mixed.status_code == 422 and "BR-O-11" in mixed.text
    no_vat = post(client, key, with_lines(line(vat_category="AE"), customer={"name": "Kunde GmbH"}))
    assert no_vat.status_code == 422 and "need the customer's VAT number" in no_vat.text
