"""Whatever a client sends, the answer is a 2xx or a 4xx problem, never a 5xx (hypothesis)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key

# Seconds per run: left out of `make mutate`'s per-mutant runs (see docs/testing.md).
pytestmark = pytest.mark.slow

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
FIELDS = [*invoice_body().keys(), "documents", "kind"]

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def post_json(client, url, body, headers):
    # Encoded here with allow_nan: a client may send NaN/Infinity literals, which Python's parser accepts.
    content = json.dumps(body, allow_nan=True)
    return client.post(url, content=content, headers={**headers, "Content-Type": "application/json"})


def assert_problem(response):
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code


@SETTINGS
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_invoice_fields_with_any_value(client, key, field, value):
    body = invoice_body(external_id="P1")
    body[field] = value
    assert_problem(post_json(client, f"/v1/companies/{VAT}/invoices", body, key))


@SETTINGS
@given(body=json_values)
def test_any_json_body(client, key, body):
    assert_problem(post_json(client, f"/v1/companies/{VAT}/invoices", body, key))
    assert_problem(post_json(client, f"/v1/companies/{VAT}/invoices/batch", body, key))
    assert_problem(
        post_json(client, "/v1/companies", body, {"Authorization": "Bearer test-admin-token-0123456789abcdef01"})
    )


@SETTINGS
@given(data=st.data())
def test_mutated_coda_uploads(client, key, data):
    original = bytearray(payment_file(("121.00", "+++090/9337/55493+++"), ("-5.00", None)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=5))):
        position = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
        original[position] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(original)))
    assert_problem(client.post(f"/v1/companies/{VAT}/statements", content=bytes(original[:cut]), headers=key))


def _camt_file() -> bytes:
    from datetime import date
    from decimal import Decimal

    from app.statements.camt_writer import write_camt
    from app.statements.coda_writer import MovementSpec, StatementSpec

    movements = [
        MovementSpec(Decimal("121.00"), ogm="+++090/9337/55493+++", counterparty_name="KLANT NV"),
        MovementSpec(Decimal("-5.00"), communication="kosten"),
        MovementSpec(Decimal("20.00"), details=[MovementSpec(Decimal("12.00")), MovementSpec(Decimal("8.00"))]),
    ]
    return write_camt([StatementSpec(IBAN, date(2026, 11, 20), Decimal("1.00"), movements, sequence=3)])


CAMT = _camt_file()
CAMT_PIECES = [
    b"<",
    b">",
    b"</Stmt>",
    b"<Ntry>",
    b"CRDT",
    b"DBIT",
    b"-",
    b"&amp;",
    b"&x;",
    b"<!DOCTYPE d>",
    b"\x00",
    b"\xff",
]


@SETTINGS
@given(data=st.data())
def test_mutated_camt_uploads_never_answer_5xx_nor_store_half(client, key, data):
    from tests.api.test_camt import stored_transactions

    document = bytearray(CAMT)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        position = data.draw(st.integers(min_value=0, max_value=len(document) - 1))
        if data.draw(st.booleans()):
            document[position : position + data.draw(st.integers(0, 30))] = data.draw(st.sampled_from(CAMT_PIECES))
        else:
            document[position] = data.draw(st.integers(min_value=0, max_value=255))
    before = len(stored_transactions(client, key))
    response = client.post(
        f"/v1/companies/{VAT}/statements", content=bytes(document), headers={**key, "Content-Type": "application/xml"}
    )
    assert_problem(response)
    if response.status_code == 422:
        assert len(stored_transactions(client, key)) == before  # a file is stored whole or not at all
