"""Prepared selects on kept driver connections (app/core/prepared.py): the same rows, converted the same way, as
SQLAlchemy's own execution, on both databases; a kept connection the server closed costs a retry, not an error;
PostgreSQL's async connections stay within their number and their event loop, and a cancelled read gives its
place back."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import bindparam

from app.core.db import get_engine, unit_of_work
from app.core.prepared import KeptReadConnections, PreparedSelect
from app.invoices.models import Invoice
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
    got = asyncio.run(
        KeptReadConnections().read(
            get_engine(), lambda conn: PreparedSelect(_BY_COMPANY).all(conn, {"company_id": company_id})
        )
    )
    assert len(expected) == 2
    assert [tuple(r) for r in got] == expected  # Money as Decimal, dates as dates, JSON as lists and dicts
    assert got[1].total_amount == expected[1][_INVOICES.c.keys().index("total_amount")]


def test_a_kept_connection_the_server_closed_is_replaced_and_the_read_retried(client):
    company_id = _two_invoices(client)
    kept = KeptReadConnections()
    select = PreparedSelect(_BY_COMPANY)
    engine = get_engine()

    async def read(conn):
        return len(await select.all(conn, {"company_id": company_id}))

    async def scenario():
        assert await kept.read(engine, read) == 2
        (lost,) = kept._idle
        _lose(lost)
        assert await kept.read(engine, read) == 2
        (fresh,) = kept._idle
        assert fresh is not lost
        kept.forget()
        assert not kept._idle

    asyncio.run(scenario())


def _lose(connection) -> None:
    """What a server restart or an idle timeout does to a kept connection."""
    if _on_postgresql():  # psycopg's own async connection: its server process ends
        from sqlalchemy import text

        with unit_of_work() as session:
            session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": connection.info.backend_pid})
    else:  # SQLite's, from the engine's pool
        connection.dbapi_connection.close()


def _on_postgresql() -> bool:
    return get_engine().dialect.name == "postgresql"


def test_a_read_of_several_selects_sees_one_snapshot_while_another_connection_writes(client):
    """The invoice and its allocations must agree: a read of several selects runs in one snapshot (REPEATABLE
    READ on PostgreSQL, where READ COMMITTED would take one per select)."""
    from sqlalchemy import text

    company_id = _two_invoices(client)
    select = PreparedSelect(_BY_COMPANY)

    async def two_looks(conn):
        before = [r.total_amount for r in await select.all(conn, {"company_id": company_id})]
        with unit_of_work() as session:  # another connection changes an invoice and commits
            session.execute(text("UPDATE invoices SET total_amount = 99999 WHERE company_id = :c"), {"c": company_id})
        after = [r.total_amount for r in await select.all(conn, {"company_id": company_id})]
        return before, after

    before, after = asyncio.run(KeptReadConnections().read(get_engine(), two_looks))
    assert before == after
    changed = asyncio.run(
        KeptReadConnections().read(get_engine(), lambda conn: select.all(conn, {"company_id": company_id}))
    )
    assert changed[0].total_amount != before[0]  # the change was committed: a new read sees it


def test_a_single_select_leaves_no_transaction_open_and_the_pool_keeps_its_connections_as_it_gave_them(client):
    company_id = _two_invoices(client)
    engine = get_engine()
    kept = KeptReadConnections(keep=1)
    select = PreparedSelect(_BY_COMPANY)

    async def one_select():
        return await kept.read(engine, lambda conn: select.all(conn, {"company_id": company_id}), snapshot=False)

    assert len(asyncio.run(one_select())) == 2
    (connection,) = kept._idle
    if _on_postgresql():
        from psycopg.pq import TransactionStatus

        assert connection.pgconn.transaction_status == TransactionStatus.IDLE  # one round trip, no BEGIN/ROLLBACK
        assert connection.autocommit
        kept.forget()
        assert connection.closed  # its own connection, not the pool's: closed, not given back
    else:
        assert not connection.dbapi_connection.in_transaction
        kept.forget()
    with unit_of_work() as session:  # the pool's connections work as sessions expect
        assert session.get(Invoice, "inv_none") is None


@pytest.fixture
def postgresql_only():
    if not _on_postgresql():
        pytest.skip("PostgreSQL's reads are awaited; SQLite's return at once and never wait for each other")


def test_postgresql_reads_beyond_the_kept_number_wait_for_a_connection_instead_of_opening_more(client, postgresql_only):
    company_id = _two_invoices(client)
    kept = KeptReadConnections(keep=2)
    select = PreparedSelect(_BY_COMPANY)

    async def twelve_at_once():
        reads = [
            kept.read(get_engine(), lambda conn: select.all(conn, {"company_id": company_id}), snapshot=False)
            for _ in range(12)
        ]
        return await asyncio.gather(*reads)

    assert [len(rows) for rows in asyncio.run(twelve_at_once())] == [2] * 12
    assert len(kept._idle) == 2 and len(kept._open) == 2
    kept.forget()


def test_postgresql_connections_belong_to_their_event_loop(client, postgresql_only):
    company_id = _two_invoices(client)
    kept = KeptReadConnections()
    select = PreparedSelect(_BY_COMPANY)

    async def read():
        return await kept.read(get_engine(), lambda conn: select.all(conn, {"company_id": company_id}))

    assert len(asyncio.run(read())) == 2
    (first,) = kept._idle
    assert len(asyncio.run(read())) == 2  # a new loop (as a new test client's): the old one's connection is closed
    (second,) = kept._idle
    assert first.closed and second is not first and not second.closed
    kept.forget()


def test_a_cancelled_postgresql_read_drops_its_connection_and_gives_its_place_to_a_waiting_read(
    client, postgresql_only
):
    """Cancelled while the server works (a client gone, a timeout), a connection's state is unknown: it is closed,
    and the read waiting for a connection opens a new one instead of waiting for ever."""
    company_id = _two_invoices(client)
    kept = KeptReadConnections(keep=1)
    select = PreparedSelect(_BY_COMPANY)
    taken = []

    async def slow(conn):
        taken.append(conn)
        await conn.fetchall("SELECT pg_sleep(5)", ())

    async def scenario():
        first = asyncio.create_task(kept.read(get_engine(), slow, snapshot=False))
        while not taken:
            await asyncio.sleep(0.01)
        second = asyncio.create_task(
            kept.read(get_engine(), lambda conn: select.all(conn, {"company_id": company_id}), snapshot=False)
        )
        await asyncio.sleep(0.05)
        assert not second.done()  # waiting: the one connection is busy
        first.cancel()
        rows = await asyncio.wait_for(second, timeout=3)
        with pytest.raises(asyncio.CancelledError):
            await first
        return rows

    assert len(asyncio.run(scenario())) == 2
    (connection,) = kept._idle
    assert connection is not taken[0].cursor.connection and taken[0].cursor.connection.closed
    kept.forget()


def test_a_forked_child_lets_go_of_its_parents_connections_without_closing_them(client):
    """A child that starts its own loop (and so forgets the connections it holds) must not close the parent's:
    closing a copied connection ends the parent's session on the server."""
    import os

    from app.core.prepared import kept_read_connections

    company_id = _two_invoices(client)
    select = PreparedSelect(_BY_COMPANY)

    async def read():
        return len(await kept_read_connections.read(get_engine(), lambda c: select.all(c, {"company_id": company_id})))

    async def scenario():
        assert await read() == 2
        (before,) = kept_read_connections._idle
        pid = os.fork()
        if pid == 0:
            held = len(kept_read_connections._idle)
            kept_read_connections.forget()
            os._exit(held)
        assert os.waitpid(pid, 0)[1] == 0  # the child held nothing
        assert await read() == 2
        (after,) = kept_read_connections._idle
        return before, after

    before, after = asyncio.run(scenario())
    assert after is before  # still the parent's own connection: not lost, not replaced
    kept_read_connections.forget()
