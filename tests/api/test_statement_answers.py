"""What an upload answers: the statement a duplicate is a copy of, and refusals that give the line read."""

from __future__ import annotations

import pytest

from tests.coda_builders import payment_file
from tests.helpers import IBAN, VAT, make_company, make_key


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


def upload(client, key, data: bytes):
    return client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key)


def test_a_file_sent_again_names_the_statements_it_repeats(client, key):
    data = payment_file(("12.00", None), ("3.00", None))
    first = upload(client, key, data)
    assert first.status_code == 201
    again = upload(client, key, data)
    assert again.status_code == 200
    body = again.json()
    assert (body["duplicates"], body["transactions_created"]) == (1, 0)
    assert [s["id"] for s in body["statements"]] == [s["id"] for s in first.json()["statements"]]


def test_a_statement_repeated_inside_one_file_is_stored_once_and_named_twice(client, key):
    single = payment_file(("12.00", None))
    response = upload(client, key, single + single)  # one file, the same statement (0 to 9) twice
    assert response.status_code == 201, response.text
    [one, two] = response.json()["statements"]
    assert response.json()["duplicates"] == 1
    assert one["id"] == two["id"] and one["id"].startswith("st_")
    assert len(client.get(f"/v1/companies/{VAT}/transactions", headers=key).json()["items"]) == 1


def test_a_cut_off_file_is_refused_with_the_last_line_read(client, key):
    lines = payment_file(("12.00", None)).splitlines(keepends=True)
    response = upload(client, key, b"".join(lines[:-2]))  # no new balance (8), no trailer (9)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    [error] = problem["errors"]
    assert error["line"] == len(lines) - 2
    assert problem["detail"] == f"incomplete CODA file (line {error['line']}): {error['message']}"
    assert problem["incomplete"] is True


def test_an_unreadable_file_is_refused_with_its_line(client, key):
    lines = payment_file(("12.00", None)).splitlines(keepends=True)
    lines[2] = b"2" + b"x" * 127 + b"\n"
    response = upload(client, key, b"".join(lines))
    assert response.status_code == 422
    problem = response.json()
    [error] = problem["errors"]
    assert error["line"] == 3
    assert problem["detail"] == f"not a readable CODA file (line 3): {error['message']}"
    assert "incomplete" not in problem
