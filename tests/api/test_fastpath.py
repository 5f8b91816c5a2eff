"""The GET-invoice fast path answers exactly as the regular route, and leaves every error to it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from tests.helpers import OTHER_VAT, VAT, invoice_body, make_company, make_key


def test_fast_path_body_equals_the_regular_route(client):
    make_company(client)
    key = make_key(client)
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=key).json()
    url = f"/v1/companies/{VAT}/invoices/{invoice['id']}"
    fast = client.get(url, headers=key)
    with TestClient(create_app(read_fast_path=False)) as regular_client:
        regular = regular_client.get(url, headers=key)
    assert fast.status_code == regular.status_code == 200
    assert fast.content == regular.content
    assert fast.headers["content-type"] == "application/json"


def test_errors_fall_through_to_the_regular_route(client):
    make_company(client)
    make_company(client, vat=OTHER_VAT, name="Other")
    key = make_key(client)
    other_key = make_key(client, vat=OTHER_VAT)
    invoice = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=key).json()
    url = f"/v1/companies/{VAT}/invoices/{invoice['id']}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=other_key).status_code == 404
    missing = client.get(f"/v1/companies/{VAT}/invoices/inv_{'0' * 28}", headers=key)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
