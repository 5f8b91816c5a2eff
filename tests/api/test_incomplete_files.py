"""A CODA download cut off anywhere is refused whole (422 naming the last line read) and stores nothing;
the complete file sent afterwards stores each movement exactly once. A cut that falls exactly after a
statement's trailer leaves complete statements, which are stored, and the rest follows with the full file."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.statements.coda_writer import MovementSpec, StatementSpec, write_coda
from tests.conftest import _empty_all_tables, sample_path
from tests.helpers import IBAN, VAT, invoice_body, make_company, make_key

# Seven seconds for the whole file: run per mutant of statement ingestion too (cut-off files are money bugs).

OGM = "+++090/9337/55493+++"


def three_statements() -> bytes:
    statements, balance = [], Decimal(0)
    for n in range(3):
        movements = [
            MovementSpec(Decimal(f"{10 + n * 3 + i}.00"), ogm=OGM if (n, i) == (0, 1) else None,
                         communication="" if (n, i) == (0, 1) else f"betaling {n}-{i}",
                         counterparty_name="KLANT NV", counterparty_iban="BE71096123456769")
            for i in range(3)
        ]  # fmt: skip
        st = StatementSpec(IBAN, date(2026, 11, 20) + timedelta(days=n), balance, movements, sequence=n + 1)
        balance = st.closing_balance
        statements.append(st)
    return write_coda(statements)


def stored():
    """(statement identity, movement sequence, detail) of every stored leaf movement."""
    from app.core.db import unit_of_work
    from app.statements.models import BankTransaction, Statement

    with unit_of_work(read_only=True) as session:
        rows = session.exec(
            select(Statement.account_iban, Statement.sequence, BankTransaction.sequence, BankTransaction.detail)
            .join(Statement, Statement.id == BankTransaction.statement_id)
            .where(BankTransaction.kind != "total")
        ).all()
        statements = session.exec(select(func.count()).select_from(Statement)).one()
    return sorted(rows), statements


def cut_points(data: bytes) -> list[int]:
    """Every end of a line, and the middle of every line."""
    ends = [i + 1 for i, byte in enumerate(data) if byte == 0x0A]
    starts = [0, *ends]
    middles = [(a + b) // 2 for a, b in zip(starts, ends, strict=False)]
    return sorted({p for p in ends + middles if 0 < p < len(data.rstrip())})


def check_every_cut(client, data: bytes, account: str) -> tuple[int, int]:
    refused = partial = 0
    for cut in cut_points(data):
        _empty_all_tables()
        make_company(client, accounts=[account])
        key = make_key(client)
        client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(structured_reference=OGM), headers=key)
        response = client.post(f"/v1/companies/{VAT}/statements", content=data[:cut], headers=key)
        assert response.status_code in (201, 422), (cut, response.text)
        if response.status_code == 422:
            refused += 1
            problem = response.json()
            assert problem["type"].endswith("/validation")
            [error] = problem["errors"]
            assert isinstance(error["line"], int) and error["line"] >= 1
            assert stored() == ([], 0), cut  # nothing of the file
        else:
            # The cut fell after a trailer (or inside the last one, whose count is then only a warning):
            # the statements in it were complete.
            partial += 1
        whole = client.post(f"/v1/companies/{VAT}/statements", content=data, headers=key)
        assert whole.status_code in (200, 201), (cut, whole.text)
        movements, _ = stored()
        assert len(movements) == len(set(movements)) == expected_leaves(data), cut  # each exactly once
        paid = client.get(f"/v1/companies/{VAT}/invoices", headers=key).json()["items"]
        assert all(i["status"] != "overpaid" for i in paid)
    return refused, partial


def expected_leaves(data: bytes) -> int:
    from app.statements.coda import parse_coda

    return sum(len(st.leaves) for st in parse_coda(data).statements)


def test_a_cut_off_file_is_refused_whole_and_the_complete_one_stored_once(client):
    data = three_statements()
    refused, partial = check_every_cut(client, data, IBAN)
    # Right after the first and the second trailer, and inside each of the three trailers.
    assert partial == 5
    assert refused == len(cut_points(data)) - 5


def test_the_last_line_read_is_named(client):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    lines = three_statements().split(b"\n")
    for keep in (3, len(lines) - 3):  # inside the first statement's movements; before the last trailer
        response = client.post(f"/v1/companies/{VAT}/statements", content=b"\n".join(lines[:keep]), headers=key)
        assert response.status_code == 422
        assert response.json()["errors"][0]["line"] == keep
        assert "incomplete" in response.json()["detail"]


@pytest.mark.parametrize(
    ("name", "account"),
    [
        ("oca-l10n-belgium__bnp_iban_two_statements_same_account.txt", "BE13001676096039"),
        ("odoo8-l10n_be_coda__kbc_noviat_ogm_type3_details_crlf.txt", "BE33737018595246"),
    ],
)
def test_real_bank_files_cut_anywhere(client, name, account):
    refused, _ = check_every_cut(client, sample_path(name).read_bytes(), account)
    assert refused > 0


@pytest.mark.parametrize("end", [b"\n", b""])
def test_a_file_that_ends_in_a_cut_trailer_is_refused_whole(client, end):
    make_company(client, accounts=[IBAN])
    key = make_key(client)
    lines = three_statements().rstrip(b"\n").split(b"\n")
    lines[-1] = lines[-1][:40]  # the last trailer, cut inside its debit total
    response = client.post(f"/v1/companies/{VAT}/statements", content=b"\n".join(lines) + end, headers=key)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["incomplete"] is True
    assert problem["errors"][0]["line"] == len(lines)
    assert f"incomplete CODA file (line {len(lines)})" in problem["detail"]
    assert stored() == ([], 0)  # not even the two complete statements before it
