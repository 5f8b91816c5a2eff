"""Input meant to break things gets a 422 that says why, never a 5xx: amounts in one strict grammar, no
control characters in any string, null where a list belongs (issue 11). Run on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


@pytest.mark.parametrize(
    "amount",
    ["1E+1000000", "1e2", "1_000.00", "١٢٣", "12.", ".5", "+5", "1,50", "12.345", "0x10", "NaN", "Infinity", " ", ""],
)
def test_amounts_outside_the_grammar_are_422(client, key, amount):
    response = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(total=amount), headers=key)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["loc"] == "body.total_amount"


def test_huge_exponents_are_refused_before_any_arithmetic(client, key):
    response = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(total="1E+1000000"), headers=key)
    assert response.status_code == 422
    raw = b'{"invoice_id": "inv_x", "amount": 1e400}'  # a JSON number no float can hold
    allocation = client.post(
        f"/v1/companies/{VAT}/transactions/tx_nothing/allocations",
        content=raw,
        headers={**key, "content-type": "application/json"},
    )
    assert allocation.status_code == 422, allocation.text


@pytest.mark.parametrize(
    ("amount", "stored"), [("121", "121.00"), (121, "121.00"), (121.5, "121.50"), ("0.1", "0.10"), (" 7.10 ", "7.10")]
)
def test_amounts_in_the_grammar_are_read_exactly(client, key, amount, stored):
    response = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(total=amount), headers=key)
    assert response.status_code == 201, response.text
    assert response.json()["total_amount"] == stored


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("number", "INV\x00-1"),
        ("external_id", "ext\x1b[31m"),
        ("customer", {"name": "Klant\x00 NV"}),
        ("customer", {"name": "Klant NV", "email": "a@b.be\r\nBcc: x@y.z\x07"}),
        ("documents", [{"filename": "a\x00.pdf", "content_type": "application/pdf", "content_base64": "JVBERg=="}]),
    ],
)
def test_control_characters_in_any_string_are_422(client, key, field, value):
    body = invoice_body()
    body[field] = value
    response = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)
    assert response.status_code == 422, response.text
    assert "control characters" in response.json()["detail"]


def test_control_characters_in_company_and_webhook_bodies_are_422(client, key):
    from tests.helpers import ADMIN

    assert (
        client.post("/v1/companies", json={"vat": "BE0417497106", "name": "A\x00B"}, headers=ADMIN).status_code == 422
    )
    hook = client.post("/v1/webhook-endpoints", json={"url": "https://app.example/h\x00"}, headers=key)
    assert hook.status_code == 422
    assert client.patch(f"/v1/companies/{VAT}", json={"name": "Demo\x00"}, headers=key).status_code == 422


def test_newlines_and_tabs_in_free_text_are_kept(client, key):
    body = invoice_body(customer={"name": "Klant\tNV"})
    response = client.post(f"/v1/companies/{VAT}/invoices", json=body, headers=key)
    assert response.status_code == 201, response.text
