"""camt.053 choices pinned through the upload API: a document cut right after a complete statement stores
nothing, and a camt.053 statement whose electronic sequence differs from its legal one is still the duplicate
of its CODA twin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.statements.camt_writer import CamtStatementSpec, write_camt
from app.statements.coda_writer import MovementSpec, write_coda
from tests.helpers import IBAN, VAT, make_company, make_key
from tests.unit.test_camt_pinned import cut_after_a_statement, two_statements

XML = {"Content-Type": "application/xml"}


def stored_rows() -> tuple[int, int, int]:
    """(files, statements, transactions) in the database."""
    from app.core.db import unit_of_work
    from app.statements.models import BankTransaction, Statement, StatementFile

    with unit_of_work(read_only=True) as session:
        return tuple(  # type: ignore[return-value]
            session.exec(select(func.count()).select_from(model)).one()
            for model in (StatementFile, Statement, BankTransaction)
        )


@pytest.fixture
def key(client):
    make_company(client, accounts=[IBAN])
    return make_key(client)


@pytest.mark.parametrize("which", [0, 1], ids=["after-the-first", "after-the-last"])
def test_a_document_cut_right_after_a_complete_statement_is_refused_as_incomplete_and_nothing_is_stored(
    client, key, which
):
    cut = cut_after_a_statement(two_statements(), which)
    response = client.post(f"/v1/companies/{VAT}/statements", content=cut, headers={**key, **XML})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem.get("incomplete") is True
    assert problem["detail"].startswith("incomplete camt.053 file (line ")
    assert stored_rows() == (0, 0, 0)  # not even the statement(s) read whole before the cut
    # The whole document, when it comes, is stored as new.
    whole = client.post(f"/v1/companies/{VAT}/statements", content=two_statements(), headers={**key, **XML})
    assert whole.status_code == 201, whole.text
    assert (whole.json()["duplicates"], whole.json()["transactions_created"]) == (0, 2)


def test_a_camt_statement_with_its_own_electronic_sequence_is_the_duplicate_of_its_coda_twin(client, key):
    # Identity is (account, currency, sequence, date) and camt.053's sequence is LglSeqNb, CODA's sequence
    # number's twin: an ElctrncSeqNb of its own (312 here) must not make the same statement a new one.
    spec = CamtStatementSpec(IBAN, date(2026, 11, 20), Decimal("100.00"), [MovementSpec(Decimal("10.00"))],
                             sequence=7, electronic_sequence="312")  # fmt: skip
    coda = client.post(f"/v1/companies/{VAT}/statements", content=write_coda([spec]), headers=key)
    assert coda.status_code == 201, coda.text
    camt = client.post(f"/v1/companies/{VAT}/statements", content=write_camt([spec]), headers={**key, **XML})
    assert camt.status_code == 200, camt.text
    assert (camt.json()["duplicates"], camt.json()["transactions_created"]) == (1, 0)
    assert stored_rows() == (1, 1, 1)
