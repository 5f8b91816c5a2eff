"""``one_of``: the same rows as ``IN`` on both databases; on PostgreSQL one array parameter, so the query text
does not change with the number of values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.companies.models import Company
from app.core.db import unit_of_work
from app.core.one_of import one_of
from app.invoices.models import Invoice
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
        # Strings JSON must escape (and, on SQLite, values of mixed types) select what IN selects.
        odd = ['a"b', "c\\d", "é\u2028", "tab\there", ids[0]]
        assert session.execute(select(Invoice.id).where(one_of(Invoice.id, odd))).scalars().all() == [ids[0]]
        if session.get_bind().dialect.name == "sqlite":  # PostgreSQL's array takes one type (as before)
            mixed = select(Invoice.id).where(one_of(Invoice.id, [ids[1], 12]))
            assert session.execute(mixed).scalars().all() == [ids[1]]


def test_the_query_text_does_not_grow_with_the_values():
    def text(values, dialect):
        return str(select(Invoice.id).where(one_of(Invoice.id, values)).compile(dialect=dialect))

    assert text(["a"], postgresql.dialect()) == text(["a", "b", "c"], postgresql.dialect())
    assert "unnest" in text(["a"], postgresql.dialect())
    assert text(["a"], sqlite.dialect()) == text(["a", "b", "c"], sqlite.dialect())
    assert "json_each" in text(["a"], sqlite.dialect())
    # Values that are not all strings keep an expanded IN (SQLite's comparison rules, not JSON's types).
    assert "json_each" not in text(["a", 1], sqlite.dialect())


def _sqlite_plan(session, statement) -> str:
    compiled = statement.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    ordered = tuple(params[name] for name in compiled.positiontup)
    rows = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", ordered).all()
    return " / ".join(row[3] for row in rows)


def test_on_sqlite_a_lookup_by_one_of_is_answered_by_an_index(client):
    """``id IN (...)`` inside AND was rendered ``id IN (...) = 1`` (SQLite has no boolean type), which no index
    answers: every lookup by id or key walked the whole table, whatever the number of ids."""
    with unit_of_work() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("PostgreSQL plans from statistics; the same queries are timed by make bench")
        by_id = select(Invoice.id).where(Invoice.kind == "invoice", one_of(Invoice.id, ["inv_a", "inv_b"]))
        plan = _sqlite_plan(session, by_id)
        # The ids are read from their JSON array (a scan of the parameter), each looked up by the index.
        assert "SCAN invoices" not in plan and "(id=?)" in plan, plan


def test_on_sqlite_a_candidate_lookup_uses_its_key_not_the_status_index(client):
    """Without statistics SQLite weighs (company, status) like (company, number_key): the open status must not
    pick the index, or a lookup walks every open invoice of the company."""
    from app.reconciliation.candidates import _INVOICES, SqlCandidates

    with unit_of_work() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("PostgreSQL plans from statistics")
        source = SqlCandidates(session, "co_x")
        for column, index in (
            (_INVOICES.c.number_key, "ix_invoices_company_number_key"),
            (_INVOICES.c.outstanding, "ix_invoices_company_outstanding"),
            (_INVOICES.c.customer_key, "ix_invoices_company_customer"),
            (_INVOICES.c.number_tail, "ix_invoices_company_number_tail"),
            (_INVOICES.c.number_digits_key, "ix_invoices_company_number_digits_key"),  # partial
        ):
            plan = _sqlite_plan(session, source.lookup(column, ["k1", "k2"]))
            # Each value looked up by equality: a partial index's "IS NOT NULL" once made SQLite read the key's
            # whole range instead (every invoice with a number without letters: 9 ms against 0.4 ms).
            assert index in plan and f"{column.name}=?" in plan, plan
        plan = _sqlite_plan(session, source.iban_lookup(["BE1", "BE2"]))
        assert "ix_invoices_company_customer_iban" in plan and "customer_iban=?" in plan, plan


def test_on_postgresql_a_candidate_lookup_uses_its_key_even_before_statistics(client):
    """A table filled and queried before autovacuum analysed it (a company's first import, then its first
    statement) has no statistics; the planner then took (company_id, status) for the most selective index and
    walked every open invoice per lookup (130 ms each at 100,000)."""

    from app.reconciliation.candidates import _INVOICES, SqlCandidates

    with unit_of_work() as session:
        company_id = _a_large_company_without_statistics(client, session)
        source = SqlCandidates(session, company_id)
        for column, value, index in (
            (_INVOICES.c.structured_reference, "+++000000000606+++", "uq_invoices_company_reference"),
            (_INVOICES.c.number_key, "2026P17", "ix_invoices_company_number_key"),
            (_INVOICES.c.customer_key, "name:KLANT 30", "ix_invoices_company_customer"),
            (_INVOICES.c.number_tail, "17", "ix_invoices_company_number_tail"),
            (_INVOICES.c.number_digits_key, "2026P170", "ix_invoices_company_number_digits_key"),  # partial
            (_INVOICES.c.outstanding, Decimal("17.00"), "ix_invoices_company_outstanding"),
        ):
            # One key, and a chunk of 500: with many, the planner once read the company's every invoice and
            # compared each with every key (2 to 3 s a lookup in a 24,000-movement upload at 100,000 invoices).
            for values in ([value], [value] * 500):
                plan = _postgresql_plan(session, source.lookup(column, values))
                assert index in plan and "ix_invoices_company_status_due" not in plan, plan
        for ibans in (["BE00000000000170"], [f"BE{n:014d}" for n in range(500)]):
            plan = _postgresql_plan(session, source.iban_lookup(ibans))
            assert "ix_invoices_company_customer_iban" in plan and "ix_invoices_company_status_due" not in plan, plan
        session.rollback()


def test_on_postgresql_name_words_are_looked_up_word_first_even_before_statistics(client):
    """The customers sharing a word of the payer's name, joined to their open invoices: without statistics
    PostgreSQL drove that join from the company's open invoices and probed the words by customer, not a prefix
    of their key (100 s for 50 words at 100,000 invoices, 0.5 ms word first)."""
    from sqlalchemy import text

    from app.reconciliation.candidates import NAME_BUCKET, SqlCandidates

    with unit_of_work() as session:
        company_id = _a_large_company_without_statistics(client, session)
        # Every customer has "klant" in its name, and its own number.
        session.execute(
            text(
                "INSERT INTO customer_name_tokens (company_id, token, customer_key, customer_name) "
                "SELECT DISTINCT company_id, word, customer_key, customer_name FROM invoices, "
                "LATERAL (VALUES ('klant'), (split_part(customer_key, ' ', 2))) AS w(word)"
            )
        )
        session.execute(
            text("UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE relname LIKE 'customer_name_tok%'")
        )
        source = SqlCandidates(session, company_id)
        plan = _postgresql_plan(session, source.members_lookup(["klant", "17", "30"]))
        assert "customer_name_tokens_pkey" in plan and "SubPlan" in plan, plan
        assert "Hash" not in plan and "Seq Scan on invoices" not in plan, plan
        members = source.token_members(["klant", "17", "30", "nobody"])
        assert sorted(members["17"]) == ["name:KLANT 17"] and sorted(members["30"]) == ["name:KLANT 30"]
        assert len(members["klant"]) == NAME_BUCKET and sorted(members["klant"]) == list(members["klant"])
        assert "nobody" not in members
        session.rollback()


def _a_large_company_without_statistics(client, session) -> str:
    """100,000 open invoices of one company (in the session's transaction, for the caller to roll back),
    copies of one with their own keys, and no statistics on the table, as right after an import (an index's
    depth is part of the planner's sum: a few thousand rows do not show it)."""
    from sqlalchemy import text

    from app.reconciliation.candidates import _INVOICES

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite plans without statistics: test_on_sqlite_a_candidate_lookup_uses_its_key...")
    make_company(client)
    template = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body("P0"), headers=ADMIN).json()["id"]
    columns = [c.name for c in _INVOICES.c]
    own = {
        "id": "'inv_p' || g",
        "external_id": "'P' || g",
        "structured_reference": "'+++' || lpad(g::text, 12, '0') || '+++'",
        "number_key": "'2026P' || g",
        "number_digits_key": "CASE WHEN g % 10 = 0 THEN '2026P' || g END",  # mostly absent, as in life
        "customer_iban": "CASE WHEN g % 10 = 0 THEN 'BE' || lpad(g::text, 14, '0') END",
        "number_tail": "g::text",
        "outstanding": "1000 * (g % 5000)",
        "customer_key": "'name:KLANT ' || (g / 20)",
        "customer_name": "'Klant ' || (g / 20)",
    }
    session.execute(
        text(
            f"INSERT INTO invoices ({', '.join(columns)}) SELECT "
            + ", ".join(own.get(c, c) for c in columns)
            + " FROM invoices, generate_series(1, 100000) AS g WHERE invoices.id = :template"
        ),
        {"template": template},
    )
    session.execute(text("DELETE FROM invoices WHERE id = :template"), {"template": template})
    try:  # the statistics a fresh table lacks, removed inside this transaction (rolled back by the caller)
        session.execute(text("DELETE FROM pg_statistic WHERE starelid = 'invoices'::regclass"))
        session.execute(
            text(
                "UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = 'invoices'::regclass "
                "OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'invoices'::regclass)"
            )
        )
    except Exception:
        pytest.skip("needs a superuser to remove the table's statistics (scripts/with-postgres is one)")
    return session.execute(select(Company.id)).scalar_one()


def _postgresql_plan(session, statement) -> str:
    compiled = statement.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    plan = session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.construct_params()).all()
    return " ".join(row[0] for row in plan)
