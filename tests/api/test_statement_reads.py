"""Statements as a resource (issue 41): listed by account and date, paged, and one with its transactions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.helpers import IBAN, OTHER_VAT, VAT, make_company, make_key

OTHER_IBAN = "BE71096123456769"


def test_statements_are_listed_by_account_and_date_and_read_with_their_transactions(client):
    make_company(client, accounts=[IBAN, OTHER_IBAN])
    key = make_key(client)
    statements = [
        StatementSpec(IBAN, date(2026, 11, 2), D("0"), [MovementSpec(D("10.00"), communication="a")], sequence=1),
        StatementSpec(
            IBAN,
            date(2026, 11, 3),
            D("10.00"),
            [MovementSpec(D("-2.50"), communication="b"), MovementSpec(D("4.00"), communication="c")],
            sequence=2,
        ),
        StatementSpec(OTHER_IBAN, date(2026, 11, 3), D("0"), [MovementSpec(D("1.00"), communication="d")], sequence=1),
    ]
    assert (
        client.post(f"/v1/companies/{VAT}/statements", content=write_coda(statements), headers=key).status_code == 201
    )

    listed = client.get(f"/v1/companies/{VAT}/statements", headers=key).json()["items"]
    assert sorted((s["account_iban"], s["sequence"], s["closing_balance"]) for s in listed) == sorted(
        [(IBAN, 1, "10.00"), (IBAN, 2, "11.50"), (OTHER_IBAN, 1, "1.00")]
    )
    mine = client.get(f"/v1/companies/{VAT}/statements", params={"account_iban": IBAN, "date_from": "2026-11-03"},
                      headers=key).json()["items"]  # fmt: skip
    assert [(s["sequence"], s["transaction_count"]) for s in mine] == [(2, 2)]
    one = client.get(f"/v1/companies/{VAT}/statements/{mine[0]['id']}", headers=key).json()
    assert [t["amount"] for t in one["transactions"]] == ["-2.50", "4.00"]
    assert one["opening_balance"] == "10.00" and one["file_id"].startswith("cf")
    # Paged, and another company sees none of it.
    page = client.get(f"/v1/companies/{VAT}/statements", params={"limit": 2}, headers=key).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    make_company(client, vat=OTHER_VAT, name="Other")
    other = make_key(client, vat=OTHER_VAT)
    assert client.get(f"/v1/companies/{OTHER_VAT}/statements/{mine[0]['id']}", headers=other).status_code == 404


def test_a_statement_that_does_not_open_where_the_last_one_closed_says_movements_are_missing(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    first = StatementSpec(IBAN, date(2026, 11, 2), D("0"), [MovementSpec(D("10.00"), communication="a")], sequence=1)
    gap = StatementSpec(IBAN, date(2026, 11, 5), D("25.00"), [MovementSpec(D("1.00"), communication="b")], sequence=3)
    assert client.post(f"/v1/companies/{VAT}/statements", content=write_coda([first]), headers=key).status_code == 201
    answer = client.post(f"/v1/companies/{VAT}/statements", content=write_coda([gap]), headers=key).json()
    codes = [w["code"] for w in answer["statements"][0]["warnings"]]
    assert codes == ["sequence_gap", "balance_gap"], answer["statements"][0]["warnings"]
    message = answer["statements"][0]["warnings"][1]["message"]
    assert "opens at 25.00" in message and "closed at 10.00" in message
    # The account's statements show where its gaps are.
    listed = client.get(f"/v1/companies/{VAT}/statements", params={"account_iban": IBAN}, headers=key).json()["items"]
    assert {s["sequence"]: [w["code"] for w in s["warnings"]] for s in listed} == {
        1: [],
        3: ["sequence_gap", "balance_gap"],
    }
