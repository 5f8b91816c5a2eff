"""Prepared selects on kept driver connections (app/prepared.py): the same rows, converted the same way, as
SQLAlchemy's own execution, on both databases; a kept connection the server closed costs a retry, not an error."""

from __future__ import annotations

from sqlalchemy import bindparam

from app.db import get_engine, unit_of_work
from app.invoices.models import Invoice
from app.prepared import KeptReadConnections, PreparedSelect
from tests.helpers import ADMIN, VAT, invoice_body, make_company

_INVOICES = Invoice.__table__  # type: ignore[attr-defined]
_BY_COMPANY = _INVOICES.select().where(_INVOICES.c.company_id == bindparam("company_id")).order_by(_INVOICES.c.id)


def _two_invoices(client) -> str:
    company = make_company(client)
    for n, total in enumerate(("10.00", "1234.56")):
        client.post(f"/v1/companies/{VAT}/invoices", json=invoice_body(f"P{n}", total=total), headers=ADMIN)
    return company["id"]


def test_a_prepared_select_gives_the_rows_sqlalchemy_gives(client):
    company_id = _two_invoices(client)
    with unit_of_work(read_only=True) as session:
        expected = [tuple(r) for r in session.execute(_BY_COMPANY, {"company_id": company_id})]
    got = KeptReadConnections().read(
        get_engine(), lambda conn: PreparedSelect(_BY_COMPANY).all(conn, {"company_id": company_id})
    )
    assert len(expected) == 2
    assert [tuple(r) for r in got] == expected  # Money as Decimal, dates as dates, JSON as lists and dicts
    assert got[1].total_amount == expected[1][_INVOICES.c.keys().index("total_amount")]


def test_a_kept_connection_the_server_closed_is_replaced_and_the_read_retried(client):
    company_id = _two_invoices(client)
    kept = KeptReadConnections()
    select = PreparedSelect(_BY_COMPANY)
    engine = get_engine()

    def read(conn):
        return len(select.all(conn, {"company_id": company_id}))

    assert kept.read(engine, read) == 2
    (lost,) = kept._idle
    lost.dbapi_connection.close()  # as a server restart or an idle timeout would
    assert kept.read(engine, read) == 2
    (fresh,) = kept._idle
    assert fresh is not lost
    kept.forget()
    assert not kept._idle


def test_a_read_of_several_selects_sees_one_snapshot_while_another_connection_writes(client):
    """The invoice and its allocations must agree: a read of several selects runs in one snapshot (REPEATABLE
    READ on PostgreSQL, where READ COMMITTED would take one per select)."""
    from sqlalchemy import text

    company_id = _two_invoices(client)
    select = PreparedSelect(_BY_COMPANY)

    def two_looks(conn):
        before = [r.total_amount for r in select.all(conn, {"company_id": company_id})]
        with unit_of_work() as session:  # another connection changes an invoice and commits
            session.execute(text("UPDATE invoices SET total_amount = 99999 WHERE company_id = :c"), {"c": company_id})
        after = [r.total_amount for r in select.all(conn, {"company_id": company_id})]
        return before, after

    before, after = KeptReadConnections().read(get_engine(), two_looks)
    assert before == after
    changed = KeptReadConnections().read(get_engine(), lambda conn: select.all(conn, {"company_id": company_id}))
    assert changed[0].total_amount != before[0]  # the change was committed: a new read sees it


def test_a_single_select_leaves_no_transaction_open_and_the_pool_gets_its_connection_back_as_it_gave_it(client):
    company_id = _two_invoices(client)
    engine = get_engine()
    kept = KeptReadConnections(keep=1)
    select = PreparedSelect(_BY_COMPANY)
    assert len(kept.read(engine, lambda conn: select.all(conn, {"company_id": company_id}), snapshot=False)) == 2
    (connection,) = kept._idle
    driver = connection.dbapi_connection
    if engine.dialect.name == "postgresql":
        from psycopg.pq import TransactionStatus

        assert driver.pgconn.transaction_status == TransactionStatus.IDLE  # one round trip, no BEGIN/ROLLBACK
        kept.forget()
        assert driver.autocommit is False  # the sessions that get it next run their own transactions
    else:
        assert not driver.in_transaction
        kept.forget()
    with unit_of_work() as session:  # the pool's connections still work as sessions expect
        assert session.get(Invoice, "inv_none") is None
