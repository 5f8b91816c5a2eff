"""Companies, API keys, scopes and tenant isolation."""

from __future__ import annotations

import pytest

from tests.helpers import ADMIN, IBAN, OTHER_VAT, VAT, invoice_body, make_company, make_key


def test_company_is_created_with_normalised_vat_and_accounts(client):
    response = client.post(
        "/v1/companies",
        json={"vat": "BE 0403.200.393", "name": "Demo BV", "bank_accounts": ["be80 0010 0000 0177"]},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["vat"] == VAT
    assert body["bank_accounts"] == [IBAN]


def test_same_vat_twice_is_409_problem(client):
    make_company(client)
    response = client.post("/v1/companies", json={"vat": VAT, "name": "Again"}, headers=ADMIN)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 409


def test_invalid_vat_and_iban_are_422_with_locations(client):
    response = client.post(
        "/v1/companies",
        json={"vat": "BE0403200394", "name": "X", "bank_accounts": ["BE00123"]},
        headers=ADMIN,
    )
    assert response.status_code == 422
    locs = {e["loc"] for e in response.json()["errors"]}
    assert locs == {"body.vat", "body.bank_accounts"}


def test_missing_and_unknown_keys_are_401(client):
    make_company(client)
    assert client.get(f"/v1/companies/{VAT}/invoices").status_code == 401
    bad = {"Authorization": "Bearer key_doesnotexist.secret"}
    assert client.get(f"/v1/companies/{VAT}/invoices", headers=bad).status_code == 401
    assert client.get(f"/v1/companies/{VAT}/invoices", headers={"Authorization": "Basic x"}).status_code == 401


def test_wrong_secret_for_a_real_key_id_is_401(client):
    make_company(client)
    key = make_key(client)["Authorization"]
    tampered = key[:-3] + ("aaa" if not key.endswith("aaa") else "bbb")
    assert client.get(f"/v1/companies/{VAT}/invoices", headers={"Authorization": tampered}).status_code == 401


def test_read_key_reads_but_cannot_write(client):
    make_company(client)
    read = make_key(client, scope="read")
    assert client.get(f"/v1/companies/{VAT}/invoices", headers=read).status_code == 200
    response = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(), headers=read)
    assert response.status_code == 403
    assert client.get(f"/v1/companies/{VAT}/invoices", headers=read).json()["items"] == []


def test_company_key_cannot_reach_another_company(client):
    make_company(client)
    make_company(client, vat=OTHER_VAT, name="Other NV")
    mine = make_key(client)
    theirs = make_key(client, vat=OTHER_VAT)
    created = client.post(f"/v1/companies/{OTHER_VAT}/invoices", json=invoice_body(), headers=theirs).json()
    assert client.get(f"/v1/companies/{OTHER_VAT}/invoices", headers=mine).status_code == 404
    assert client.get(f"/v1/companies/{OTHER_VAT}/invoices/{created['id']}", headers=mine).status_code == 404
    # Reaching the other company's invoice id through one's own company path: also not found.
    assert client.get(f"/v1/companies/{VAT}/invoices/{created['id']}", headers=mine).status_code == 404
    # A non-existent company looks the same as someone else's.
    assert client.get("/v1/companies/BE0202239951/invoices", headers=mine).status_code == 404


def test_company_keys_cannot_use_admin_routes(client):
    make_company(client)
    key = make_key(client)
    assert client.post("/v1/companies", json={"vat": OTHER_VAT, "name": "x"}, headers=key).status_code == 403
    assert client.post(f"/v1/companies/{VAT}/api-keys", json={"scope": "write"}, headers=key).status_code == 403


def test_revoked_key_stops_working(client):
    make_company(client)
    created = client.post(f"/v1/companies/{VAT}/api-keys", json={"scope": "read"}, headers=ADMIN).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert client.get(f"/v1/companies/{VAT}", headers=headers).status_code == 200
    assert client.delete(f"/v1/companies/{VAT}/api-keys/{created['id']}", headers=ADMIN).status_code == 204
    assert client.get(f"/v1/companies/{VAT}", headers=headers).status_code == 401


def test_keys_are_stored_hashed(client):
    from sqlmodel import select

    from app.core.auth import ApiKey
    from app.core.db import unit_of_work

    make_company(client)
    created = client.post(f"/v1/companies/{VAT}/api-keys", json={"scope": "write"}, headers=ADMIN).json()
    secret = created["key"].split(".", 1)[1]
    with unit_of_work() as session:
        stored = session.exec(select(ApiKey)).one()
    assert secret not in stored.secret_hash
    assert len(stored.secret_hash) == 64


@pytest.mark.slow
def test_a_key_revoked_by_another_process_stops_working_here_within_a_second(client):
    """Each process caches checked keys for KEY_CACHE_SECONDS; a revocation elsewhere reaches this one after it."""
    import time

    from app.core.auth import KEY_CACHE_SECONDS, ApiKey
    from app.core.db import unit_of_work
    from app.core.timeutil import utcnow

    assert KEY_CACHE_SECONDS <= 1.0
    make_company(client)
    created = client.post(f"/v1/companies/{VAT}/api-keys", json={"scope": "read"}, headers=ADMIN).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert client.get(f"/v1/companies/{VAT}", headers=headers).status_code == 200  # now cached here
    with unit_of_work() as session:  # what another API process's DELETE writes; this cache is not told
        key = session.get(ApiKey, created["id"])
        key.revoked_at = utcnow()
        session.add(key)
    time.sleep(KEY_CACHE_SECONDS + 0.1)
    assert client.get(f"/v1/companies/{VAT}", headers=headers).status_code == 401


def test_an_admin_moves_an_account_claimed_by_the_wrong_company_with_its_statements(client):
    """Company A uploaded a file of B's account (attached to A, with a warning); B is refused. The admin moves
    the account to B: its movements meet B's invoices there, and B's own upload is then a duplicate."""
    from tests.coda_builders import payment_file
    from tests.helpers import OTHER_VAT, invoice_body, make_key

    iban = "BE68539007547034"
    make_company(client)
    make_company(client, vat=OTHER_VAT, name="Real Owner")
    a, b = make_key(client), make_key(client, vat=OTHER_VAT)
    invoice = client.post(
        f"/v1/companies/{OTHER_VAT}/invoices",
        json=invoice_body(structured_reference="+++090/9337/55493+++"),
        headers=b,
    ).json()
    data = payment_file(("121.00", "090933755493"), account=iban)
    claimed = client.post(f"/v1/companies/{VAT}/statements", content=data, headers=a)
    assert claimed.status_code == 201
    assert claimed.json()["statements"][0]["warnings"][0]["code"] == "account_added"
    assert client.post(f"/v1/companies/{OTHER_VAT}/statements", content=data, headers=b).status_code == 409

    path = f"/v1/companies/{VAT}/bank-accounts/{iban}/move"
    assert client.post(path, json={"to": OTHER_VAT}, headers=a).status_code == 403  # admins only
    moved = client.post(path, json={"to": OTHER_VAT}, headers=ADMIN)
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"iban": iban, "company_vat": OTHER_VAT, "transactions": 1}
    paid = client.get(f"/v1/companies/{OTHER_VAT}/invoices/{invoice['id']}", headers=b).json()
    assert paid["status"] == "paid"
    again = client.post(f"/v1/companies/{OTHER_VAT}/statements", content=data, headers=b)
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert client.get(f"/v1/companies/{VAT}/transactions", headers=a).json()["items"] == []
    assert client.post(path, json={"to": OTHER_VAT}, headers=ADMIN).status_code == 404  # A has it no more


def test_an_account_whose_money_is_reconciled_is_not_moved(client):
    from tests.coda_builders import payment_file
    from tests.helpers import OTHER_VAT, invoice_body, make_key

    iban = "BE68539007547034"
    make_company(client, accounts=[iban])
    make_company(client, vat=OTHER_VAT, name="Other")
    a = make_key(client)
    client.post(
        f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference="+++090/9337/55493+++"), headers=a
    )
    client.post(
        f"/v1/companies/{VAT}/statements", content=payment_file(("121.00", "090933755493"), account=iban), headers=a
    )
    refused = client.post(f"/v1/companies/{VAT}/bank-accounts/{iban}/move", json={"to": OTHER_VAT}, headers=ADMIN)
    assert refused.status_code == 409
    assert "1 allocations or write-offs" in refused.json()["detail"]
