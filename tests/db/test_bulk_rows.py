"""Bulk writes at the driver (`insert_rows`, `update_rows`) store exactly what the ORM would: each column through
its own type (money in mills, dates, JSON, NULL), Python-side defaults for the columns a row leaves out, and a
clear refusal of rows whose keys are wrong. On SQLite and on PostgreSQL (their paths differ)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from app.core.db import insert_rows, unit_of_work, update_rows
from app.invoices.models import Invoice
from app.reconciliation.models import AuditEvent
from tests.helpers import ADMIN, VAT, invoice_body, make_company


def _two_invoices(client) -> tuple[str, str, str]:
    company = make_company(client)
    ids = []
    for n in (1, 2):
        response = client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(f"B-{n}"), headers=ADMIN)
        response.raise_for_status()
        ids.append(response.json()["id"])
    return company["id"], ids[0], ids[1]


def test_update_rows_stores_each_value_through_its_column_type(client):
    _, first, second = _two_invoices(client)
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    with unit_of_work() as session:
        update_rows(
            session,
            Invoice,
            [
                {"id": first, "amount_paid": Decimal("12.345"), "paid_at": date(2026, 3, 1), "updated_at": at},
                {"id": second, "amount_paid": Decimal("-0.50"), "paid_at": None, "updated_at": at},
            ],
        )
    with unit_of_work() as session:
        stored = {i.id: i for i in session.exec(select(Invoice)).all()}
    assert (stored[first].amount_paid, stored[first].paid_at) == (Decimal("12.345"), date(2026, 3, 1))
    assert (stored[second].amount_paid, stored[second].paid_at) == (Decimal("-0.50"), None)
    assert stored[first].updated_at == stored[second].updated_at == at
    assert stored[first].total_amount == Decimal("121.00")  # columns not named are left alone


def test_update_rows_touches_only_the_rows_named(client):
    _, first, second = _two_invoices(client)
    with unit_of_work() as session:
        update_rows(session, Invoice, [{"id": first, "status": "paid"}])
    with unit_of_work() as session:
        stored = dict(session.exec(select(Invoice.id, Invoice.status)).all())
    assert stored == {first: "paid", second: "open"}


def test_insert_rows_fills_python_defaults_and_keeps_json_whole(client):
    company_id, first, _ = _two_invoices(client)
    details = {"amount": "1.00", "note": "één € «quoted»", "nested": [1, None, {"a": True}]}
    with unit_of_work() as session:
        insert_rows(
            session,
            AuditEvent,
            [
                {
                    "id": "aud-1",
                    "company_id": company_id,
                    "actor": "t",
                    "action": "x",
                    "subject_id": first,
                    "details": details,
                },
                {
                    "id": "aud-2",
                    "company_id": company_id,
                    "actor": "t",
                    "action": "y",
                    "subject_id": first,
                    "details": {},
                },
            ],
        )
    with unit_of_work() as session:
        rows = {a.id: a for a in session.exec(select(AuditEvent).where(AuditEvent.actor == "t")).all()}
    assert rows["aud-1"].details == details
    assert rows["aud-2"].details == {}
    assert all(abs((datetime.now(UTC) - row.at).total_seconds()) < 60 for row in rows.values())  # `at` defaulted


def test_rows_with_unknown_or_differing_keys_are_refused(client):
    company_id, first, _ = _two_invoices(client)
    row = {"id": "aud-3", "company_id": company_id, "actor": "t", "action": "x", "subject_id": first}
    with unit_of_work() as session, pytest.raises(KeyError, match="no column detials"):
        insert_rows(session, AuditEvent, [{**row, "detials": {}}])
    with unit_of_work() as session, pytest.raises(KeyError, match="differ"):
        insert_rows(session, AuditEvent, [row, {**row, "id": "aud-4", "details": {}}])
    with unit_of_work() as session, pytest.raises(KeyError, match="differ"):
        update_rows(session, Invoice, [{"id": first, "status": "paid"}, {"id": first, "amount_paid": Decimal(1)}])
    with unit_of_work() as session, pytest.raises(KeyError, match="need an id"):
        update_rows(session, Invoice, [{"status": "paid"}])
