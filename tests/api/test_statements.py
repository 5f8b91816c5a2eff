"""CODA uploads: stored whole or not at all, never twice, refused with a line number when unreadable."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from app.core.db import unit_of_work
from app.statements.models import BankTransaction, Statement, StatementFile
from tests.coda_builders import payment_file
from tests.conftest import sample_path
from tests.helpers import ADMIN, IBAN, OTHER_VAT, VAT, make_company, make_key

OGM = "+++090/9337/55493+++"


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def upload(client, key, data: bytes, content_type: str = "application/octet-stream"):
    return client.post(f"/v1/companies/{VAT}/statements", content=data, headers={**key, "Content-Type": content_type})


def counts() -> tuple[int, int, int]:
    with unit_of_work() as session:
        return (
            session.exec(select(func.count()).select_from(StatementFile)).one(),
            session.exec(select(func.count()).select_from(Statement)).one(),
            session.exec(select(func.count()).select_from(BankTransaction)).one(),
        )


def test_upload_stores_statement_and_transactions(client, key):
    response = upload(client, key, payment_file(("121.00", OGM), ("-20.00", None)))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["transactions_created"] == 2
    assert body["duplicates"] == 0
    [statement] = body["statements"]
    assert statement["account_iban"] == IBAN
    assert statement["opening_balance"] == "0.00"
    assert statement["closing_balance"] == "101.00"
    assert statement["transactions"] == 2
    assert statement["warnings"] == []
    assert counts() == (1, 1, 2)
    items = client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]
    amounts = sorted(t["amount"] for t in items)
    assert amounts == ["-20.00", "121.00"]
    credit = next(t for t in items if t["amount"] == "121.00")
    assert credit["structured_reference"] == OGM
    assert credit["counterparty"] == {"name": "KLANT NV", "iban": "BE71096123456769", "bic": None}
    assert credit["booking_date"] == "2026-11-20"


def test_same_file_twice_stores_nothing_new(client, key):
    data = payment_file(("121.00", OGM))
    assert upload(client, key, data).status_code == 201
    again = upload(client, key, data)
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1
    assert again.json()["transactions_created"] == 0
    assert again.json()["statements"][0]["duplicate"] is True
    assert counts() == (1, 1, 1)


def test_a_resent_statement_inside_a_larger_file_is_skipped(client, key):
    from app.statements.coda_writer import write_coda  # noqa: F401  (documents what builds the file)

    first = payment_file(("10.00", None), sequence=1, day=date(2026, 11, 20))
    second = payment_file(("20.00", None), sequence=2, day=date(2026, 11, 21), opening="10")
    assert upload(client, key, first).status_code == 201
    response = upload(client, key, first + second)
    assert response.status_code == 201
    assert response.json()["duplicates"] == 1
    assert response.json()["transactions_created"] == 1
    assert counts() == (2, 2, 2)


def test_multipart_upload(client, key):
    response = client.post(
        f"/v1/companies/{VAT}/statements",
        files={"file": ("statement.cod", payment_file(("5.00", None)), "application/octet-stream")},
        headers=key,
    )
    assert response.status_code == 201, response.text


def test_unreadable_file_is_422_with_line_and_nothing_stored(client, key):
    good = payment_file(("121.00", OGM)).decode("latin-1").splitlines()
    good[2] = good[2][:40] + "X" * 10 + good[2][50:]  # letters in the amount of the movement on line 3
    response = upload(client, key, "\n".join(good).encode("latin-1"))
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["line"] == 3
    assert "line 3" in problem["detail"]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize("data", [b"hello world", b"\x00\x01\x02" * 50, b"", b"   \n\n"])
def test_not_coda_is_422(client, key, data):
    response = upload(client, key, data)
    assert response.status_code == 422
    assert counts() == (0, 0, 0)


def test_wrong_content_type_is_415(client, key):
    assert upload(client, key, b"{}", "application/json").status_code == 415


def test_too_large_is_413(client, key, monkeypatch):
    from app.core.config import get_settings

    monkeypatch.setattr(get_settings(), "max_upload_bytes", 100)
    assert upload(client, key, payment_file(("1.00", None))).status_code == 413
    assert counts() == (0, 0, 0)


def test_account_of_another_company_is_refused_and_nothing_stored(client, key):
    make_company(client, vat=OTHER_VAT, name="Other", accounts=["BE67735000000287"])
    response = upload(client, key, payment_file(("1.00", None), account="BE67735000000287"))
    assert response.status_code == 409
    assert counts() == (0, 0, 0)


def test_unregistered_account_is_attached_to_the_company(client, key):
    assert upload(client, key, payment_file(("1.00", None), account="BE03068200000384")).status_code == 201
    accounts = client.get(f"/v1/companies/{VAT}", headers=ADMIN).json()["bank_accounts"]
    assert "BE03068200000384" in accounts


def test_real_bank_file_with_globalisation_exposes_details_not_totals(client, key):
    path = sample_path("coda-demo-spring__bban_type2_total_type6_ogm_details_utf8.txt")
    response = upload(client, key, path.read_bytes())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["transactions_created"] == 6  # the six details, not the 244.12 total
    items = client.get(f"/v1/companies/{VAT}/transactions", params={"limit": 50}, headers=key).json()["items"]
    assert len(items) == 6
    assert all(t["kind"] == "detail" for t in items)
    assert all(t["structured_reference"] for t in items)
