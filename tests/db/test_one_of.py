"""``one_of``: the same rows as ``IN`` on both databases; on PostgreSQL one array parameter, so the query text
does not change with the number of values."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.companies.models import Company
from app.db import unit_of_work
from app.invoices.models import Invoice
from app.one_of import one_of
from tests.helpers import ADMIN, VAT, invoice_body, make_company


def test_one_of_selects_the_same_rows_as_in_whatever_the_number_of_values(client):
    make_company(client)
    for n, total in enumerate(("10.00", "20.00", "30.00")):
        client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(f"O{n}", total=total), headers=ADMIN)
    with unit_of_work() as session:
        ids = sorted(session.execute(select(Invoice.id)).scalars())
        assert len(ids) == 3
        for wanted in ([], ids[:1], ids[1:], [*ids, *(f"inv_none_{n}" for n in range(1200))]):
            got = sorted(session.execute(select(Invoice.id).where(one_of(Invoice.id, wanted))).scalars())
            assert got == sorted(set(ids) & set(wanted))
        # Not a text column: IN, on both databases.
        amounts = select(Invoice.total_amount).where(one_of(Invoice.total_amount, [Decimal("20.00")]))
        assert session.execute(amounts).scalars().all() == [Decimal("20.00")]
        assert session.execute(select(Company.vat).where(one_of(Company.vat, [VAT]))).scalars().all() == [VAT]


def test_on_postgresql_the_query_text_does_not_grow_with_the_values():
    def text(values, dialect):
        return str(select(Invoice.id).where(one_of(Invoice.id, values)).compile(dialect=dialect))

    assert text(["a"], postgresql.dialect()) == text(["a", "b", "c"], postgresql.dialect())
    assert "ANY" in text(["a"], postgresql.dialect())
    assert "IN" in text(["a"], sqlite.dialect()) and "ANY" not in text(["a"], sqlite.dialect())
