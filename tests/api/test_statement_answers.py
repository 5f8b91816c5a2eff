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


def warnings_of(response) -> list[dict]:
    return [w for s in response.json()["statements"] for w in s["warnings"] if w["code"] == "sequence_gap"]


def test_a_gap_in_the_statement_sequence_is_a_warning_that_counts_what_is_missing(client, key):
    from datetime import date

    first = upload(client, key, payment_file(("1.00", None), sequence=1, day=date(2026, 3, 1)))
    assert warnings_of(first) == []
    gap = upload(client, key, payment_file(("2.00", None), sequence=4, day=date(2026, 3, 10), opening="1"))
    [warning] = warnings_of(gap)
    assert warning["message"] == "statement 4 follows stored statement 1: 2 missing"
    assert warning["line"] == 2  # the old-balance record (1), which carries the sequence number
    # The next one in order, an earlier one sent late, another account, and a new year: no gap.
    assert warnings_of(upload(client, key, payment_file(("3.00", None), sequence=5, day=date(2026, 3, 11)))) == []
    assert warnings_of(upload(client, key, payment_file(("4.00", None), sequence=2, day=date(2026, 3, 5)))) == []
    other_account = "BE68539007547034"
    client.patch(f"/v1/companies/{VAT}", json={"bank_accounts": [IBAN, other_account]}, headers=key)
    theirs = payment_file(("5.00", None), sequence=7, day=date(2026, 3, 12), account=other_account)
    assert warnings_of(upload(client, key, theirs)) == []
    assert warnings_of(upload(client, key, payment_file(("6.00", None), sequence=3, day=date(2027, 1, 2)))) == []


def test_every_repeated_statement_is_counted_and_nothing_is_matched_again(client, key):
    from datetime import date

    two = payment_file(("7.00", None), sequence=1) + payment_file(("8.00", None), sequence=2, day=date(2026, 11, 21))
    first = upload(client, key, two)
    assert first.json()["file_id"].startswith("cf_")
    again = upload(client, key, two).json()
    assert (again["duplicates"], again["transactions_created"]) == (2, 0)
    assert again["matching"] == {"matched": 0, "suggested": 0, "unmatched": 0}


def test_an_account_of_another_company_is_refused_by_name(client, key):
    make_company(client, vat="BE0417497106", name="Other", accounts=["BE68539007547034"])
    response = upload(client, key, payment_file(("9.00", None), account="BE68539007547034"))
    assert response.status_code == 409
    assert (
        response.json()["detail"]
        == "bank account BE68539007547034 is registered to another company; nothing was stored"
    )
    assert response.json()["errors"] == [
        {"loc": "statements.account_iban", "message": "BE68539007547034 belongs to another company"}
    ]


def test_a_new_account_in_two_statements_of_one_file_is_attached_once_with_one_exact_event(client):
    from datetime import date
    from decimal import Decimal

    from sqlmodel import select

    from app.companies.models import BankAccount
    from app.core.db import unit_of_work
    from app.core.outbox_models import Event
    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda

    make_company(client, accounts=[])
    key = make_key(client)
    data = write_coda(
        [
            StatementSpec(IBAN, date(2026, 11, 19), Decimal(0), [MovementSpec(Decimal("5.00"))], sequence=1),
            StatementSpec(IBAN, date(2026, 11, 20), Decimal("5.00"), [MovementSpec(Decimal("7.00"))], sequence=2),
        ]
    )
    response = upload(client, key, data)
    assert response.status_code == 201, response.text
    first, second = response.json()["statements"]
    assert [w["code"] for w in second["warnings"]] == []  # attached by the first statement already
    with unit_of_work(read_only=True) as session:
        [account] = session.exec(select(BankAccount).where(BankAccount.iban == IBAN)).all()
        [event] = session.exec(select(Event).where(Event.type == "account.added")).all()
    assert account.id.startswith("ba_") and event.id.startswith("evt_")
    assert (event.subject_id, event.payload) == (
        account.id,
        {"data": {"id": account.id, "iban": IBAN, "statement_id": first["id"]}, "change": {"account": "added"}},
    )


def test_a_refusal_without_a_line_says_so_without_one():
    from app.statements.parsed import StatementFileError
    from app.statements.service import refuse

    refused = refuse(StatementFileError("unreadable CODA content (KeyError: 'x')"))
    assert (refused.detail, refused.errors) == (
        "not a readable CODA file: unreadable CODA content (KeyError: 'x')",
        [{"message": "unreadable CODA content (KeyError: 'x')"}],
    )


def test_an_unregistered_account_is_attached_with_a_warning_and_an_event(client):
    from sqlmodel import select

    from app.core.db import unit_of_work
    from app.core.outbox_models import Event

    make_company(client, accounts=[])
    key = make_key(client)
    response = upload(client, key, payment_file(("12.00", None)))
    assert response.status_code == 201
    [statement] = response.json()["statements"]
    [warning] = [w for w in statement["warnings"] if w["code"] == "account_added"]
    assert IBAN in warning["message"]
    with unit_of_work(read_only=True) as session:
        [event] = session.exec(select(Event).where(Event.type == "account.added")).all()
    assert (event.payload["data"]["iban"], event.payload["data"]["statement_id"]) == (IBAN, statement["id"])
    # The account is the company's now: the next statement for it carries no such warning.
    later = upload(client, key, payment_file(("3.00", None), sequence=2, opening="12"))
    assert [w["code"] for s in later.json()["statements"] for w in s["warnings"]] == []


def test_numbering_and_currency_keep_statements_apart(client, key):
    from datetime import date
    from decimal import Decimal

    from app.statements.coda_writer import StatementSpec, write_coda

    # Numbering restarts each year: statement 1 of 2027 is no copy of statement 1 of 2026.
    assert upload(client, key, payment_file(("1.00", None), sequence=1, day=date(2026, 1, 5))).status_code == 201
    assert upload(client, key, payment_file(("1.00", None), sequence=5, day=date(2026, 6, 5))).status_code == 201
    new_year = upload(client, key, payment_file(("1.00", None), sequence=1, day=date(2027, 1, 5)))
    assert (new_year.status_code, new_year.json()["duplicates"]) == (201, 0)
    # ... and a gap is counted within the year: 3 follows 1 of 2027, whatever 2026 reached.
    [warning] = warnings_of(upload(client, key, payment_file(("1.00", None), sequence=3, day=date(2027, 1, 9))))
    assert warning["message"] == "statement 3 follows stored statement 1: 1 missing"
    # One account, two currencies: each has its own statements and its own numbering.
    usd = write_coda([StatementSpec(IBAN, date(2027, 1, 9), Decimal(0), [], sequence=3, currency="USD")])
    answer = upload(client, key, usd)
    assert (answer.status_code, answer.json()["duplicates"], warnings_of(answer)) == (201, 0, [])


def test_a_globalisation_total_is_kept_but_never_open_to_matching(client, key):
    from datetime import date
    from decimal import Decimal

    from sqlmodel import select

    from app.core.db import unit_of_work
    from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
    from app.statements.models import BankTransaction

    total = MovementSpec(Decimal("30.00"), details=[MovementSpec(Decimal("10.00")), MovementSpec(Decimal("20.00"))])
    data = write_coda([StatementSpec(IBAN, date(2026, 11, 20), Decimal(0), [total])])
    assert upload(client, key, data).status_code == 201
    items = client.get(f"/v1/companies/{VAT}/transactions", params={"limit": 10}, headers=key).json()["items"]
    assert sorted(tx["amount"] for tx in items) == ["10.00", "20.00"]  # the details; the total is not a payment
    assert all(tx["id"].startswith("tx_") and tx["status"] == "unmatched" for tx in items)
    with unit_of_work(read_only=True) as session:
        [summed] = session.exec(select(BankTransaction).where(BankTransaction.kind == "total")).all()
    # Kept (the statement's balance adds up with it), "ignored" by the ledger, the moves of a bank account and
    # `codarecon check`, with nothing allocated.
    assert (summed.amount, summed.status, summed.amount_allocated, summed.amount_written_off) == (
        Decimal("30.00"),
        "ignored",
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_a_files_warnings_answer_each_upload_and_stay_with_the_stored_file(client, key):
    from sqlmodel import select

    from app.core.db import unit_of_work
    from app.statements.models import StatementFile

    records = payment_file(("12.50", None)).split(b"\n")
    records[-2] = records[-2][:60]  # the trailer cut short: read, padded, and said
    data = b"\n".join(records)
    said = {"code": "short_record", "message": "record is 60 characters; padded with blanks to 128", "line": 7}
    first = upload(client, key, data)
    assert first.status_code == 201 and first.json()["warnings"] == [said]
    again = upload(client, key, data)  # nothing new is stored, and the answer still says it
    assert again.status_code == 200 and again.json()["warnings"] == [said]
    with unit_of_work(read_only=True) as session:
        [stored] = session.exec(select(StatementFile)).all()
    assert (stored.source, stored.warnings) == ("upload", [said])


def test_an_account_added_by_its_statement_is_said_with_the_statements_line(client, key):
    other = "BE68539007547034"  # not registered to the company
    answer = upload(client, key, payment_file(("5.00", None), account=other))
    assert answer.status_code == 201, answer.text
    [statement] = answer.json()["statements"]
    added = [w for w in statement["warnings"] if w["code"] == "account_added"]
    assert added == [
        {
            "code": "account_added",
            "message": f"account {other} was not registered to the company; it is now (check that it is yours)",
            "line": 2,
        }
    ]
